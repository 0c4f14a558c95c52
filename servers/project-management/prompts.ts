import { completable } from '@modelcontextprotocol/server';
import type { GetPromptResult } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { asMcpErrors, invalidInput } from '../../shared/errors.js';
import type { ServerContext } from './context.js';
import { schemas } from './domain.js';
import { RESOURCE_URIS } from './resources.js';
import { taskLine } from './views.js';

function parseProject(value: string): string {
  const parsed = schemas.projectKey.safeParse(value);
  if (!parsed.success) throw invalidInput('project', parsed.error.issues[0]?.message ?? 'not a project key');
  return parsed.data;
}

/** Prompts are templates the user picks; each embeds the current data it talks about. */
export function registerPrompts(ctx: ServerContext): void {
  const { server, store } = ctx;
  const projectArgument = (description: string) => completable(z.string().describe(description), (value) => store.projectKeys(value));

  server.registerPrompt(
    'sprint_planning',
    {
      title: 'Plan a sprint',
      description: "Plan the next sprint of a project from its unfinished tasks and the team's current workload.",
      argsSchema: {
        project: projectArgument('Project key to plan.'),
        sprint_days: z
          .string()
          .regex(/^\d{1,2}$/, 'sprint_days must be a number of days, 1-99')
          .optional()
          .describe('Sprint length in days (default 10).'),
      },
    },
    asMcpErrors(async (args): Promise<GetPromptResult> => {
      const project = parseProject(args.project);
      const [status] = await store.projectStatus(project);
      const unfinished = await store.listTasks({ project, status: ['open', 'in_progress'] }, 100);
      const workload = await store.teamWorkload();
      const days = args.sprint_days ?? '10';
      return {
        description: `Sprint planning for ${project}`,
        messages: [
          {
            role: 'user',
            content: {
              type: 'text',
              text:
                `Plan a ${days}-day sprint for project "${project}" (${status?.name ?? project}).\n` +
                'Pick the tasks that fit, in priority order, balance them across people using the workload below, ' +
                'flag anything unassigned or too large (suggest splitting it with generate_task_breakdown), and list risks. ' +
                'Propose assignments; apply them with assign_task only after the user agrees.\n\n' +
                `Unfinished tasks (${unfinished.tasks.length}):\n${unfinished.tasks.map(taskLine).join('\n') || '(none)'}`,
            },
          },
          {
            role: 'user',
            content: {
              type: 'resource',
              resource: { uri: RESOURCE_URIS.teamWorkload, mimeType: 'application/json', text: JSON.stringify({ workload }, null, 2) },
            },
          },
        ],
      };
    }),
  );

  server.registerPrompt(
    'status_report',
    {
      title: 'Write a status report',
      description: 'Write a status report for one project, or for all projects when none is given, from current counts and recent activity.',
      argsSchema: {
        project: projectArgument('Project key; omit for all projects.').optional(),
        audience: z.enum(['team', 'leadership']).optional().describe('Who reads it: team (detailed, default) or leadership (short).'),
      },
    },
    asMcpErrors(async (args): Promise<GetPromptResult> => {
      const project = args.project ? parseProject(args.project) : undefined;
      const status = await store.projectStatus(project);
      const activity = await store.recentActivity(20, project);
      const audience = args.audience ?? 'team';
      return {
        description: `Status report${project ? ` for ${project}` : ''}`,
        messages: [
          {
            role: 'user',
            content: {
              type: 'text',
              text:
                `Write a ${audience === 'leadership' ? 'five-line' : 'detailed'} status report ${project ? `for project "${project}"` : 'across all projects'} for the ${audience}. ` +
                'Cover progress (done vs unfinished), what changed recently and by whom, blockers (urgent or unassigned work), and next steps. Use only the data below.',
            },
          },
          {
            role: 'user',
            content: {
              type: 'resource',
              resource: {
                uri: project ? RESOURCE_URIS.projectStatus(project) : RESOURCE_URIS.status,
                mimeType: 'application/json',
                text: JSON.stringify({ status, activity }, null, 2),
              },
            },
          },
        ],
      };
    }),
  );

  server.registerPrompt(
    'task_breakdown',
    {
      title: 'Break down an objective',
      description: 'Break an objective into concrete sub-tasks, then create them (works with any client, no sampling needed).',
      argsSchema: {
        objective: z.string().min(1).max(2000).describe('What should be achieved.'),
        project: projectArgument(`Project key (default "${ctx.defaultProject}").`).optional(),
      },
    },
    asMcpErrors(async (args): Promise<GetPromptResult> => {
      const project = args.project ? parseProject(args.project) : ctx.defaultProject;
      return {
        description: 'Task breakdown',
        messages: [
          {
            role: 'user',
            content: {
              type: 'text',
              text:
                `Break this objective into 3-8 concrete, independently finishable sub-tasks for project "${project}":\n\n${args.objective}\n\n` +
                'For each: an imperative title under 200 characters, one or two sentences of description, and a priority (low, medium, high, urgent). ' +
                'Show the list and ask for confirmation. Then create a parent task for the objective with create_task, and each sub-task with create_task and parent set to its id.',
            },
          },
        ],
      };
    }),
  );
}
