import { z } from 'zod';
import { guardTool, toolSuccess } from '../../../shared/toolResult.js';
import type { ServerContext } from '../context.js';
import { schemas } from '../domain.js';
import { projectView, toProjectView } from '../views.js';

export function registerProjectTools(ctx: ServerContext): void {
  const { server, store, logger } = ctx;

  server.registerTool(
    'create_project',
    {
      title: 'Create project',
      description:
        'Create a project that tasks can be filed under. Required: key (1-40 lowercase letters, digits, dashes; used in task tools and in the resource project://{key}/status) and name (1-100 characters). ' +
        'Optional: description. Returns the project. Fails, naming the key, if it exists already.',
      inputSchema: z.strictObject({
        key: schemas.projectKey.describe('Short unique key, e.g. "payments".'),
        name: schemas.projectName.describe('Display name, e.g. "Payments platform".'),
        description: z.string().max(2000, 'description must be at most 2,000 characters').optional().describe('What the project is about.'),
      }),
      outputSchema: z.object({ project: projectView }),
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    guardTool(logger, 'create_project', async (args, extra) => {
      const caller = ctx.callerOf(extra.mcpReq._meta);
      const project = await store.createProject({ key: args.key, name: args.name, description: args.description }, caller.user);
      return toolSuccess(`Created project ${project.key} (${project.name}).`, { project: toProjectView(project) });
    }),
  );

  server.registerTool(
    'list_projects',
    {
      title: 'List projects',
      description: 'List all projects with their keys, names and number of tasks not yet done. No inputs. Use to find the project key that other tools take.',
      inputSchema: z.strictObject({}),
      outputSchema: z.object({ projects: z.array(projectView.extend({ open_tasks: z.number() })) }),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    guardTool(logger, 'list_projects', async () => {
      const projects = await store.listProjects();
      const text = projects.map((p) => `${p.key}: ${p.name} (${p.openTasks} open)`).join('\n');
      return toolSuccess(text || 'No projects yet.', { projects: projects.map((p) => ({ ...toProjectView(p), open_tasks: p.openTasks })) });
    }),
  );
}
