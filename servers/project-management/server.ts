import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { serverContext, type ProjectServerDeps } from './context.js';
import { registerPrompts } from './prompts.js';
import { registerResources } from './resources.js';
import { registerBreakdownTool } from './tools/breakdown.js';
import { registerProjectTools } from './tools/projects.js';
import { registerTaskTools } from './tools/tasks.js';

export type { ProjectServerDeps } from './context.js';

export const SERVER_INFO = { name: 'manifold-project-management', version: '0.1.0' } as const;

const INSTRUCTIONS =
  'Tracks projects and tasks for a team. Tasks have ids like "T-101", a status (open, in_progress, done), a priority, an optional assignee email and an optional external reference URL (e.g. the GitHub issue a task tracks). ' +
  'Use list_projects to find project keys, list_tasks (filters, pagination) to find tasks, get_task_details before changing one. Deleting takes two calls (confirm token). ' +
  'Resources project://status, project://team-workload, project://recent-activity and project://{project}/status summarise the data.';

/** Build one MCP server (one per session over HTTP) on a shared store. */
export function createProjectManagementServer(deps: ProjectServerDeps): McpServer {
  const server = new McpServer(SERVER_INFO, {
    capabilities: { logging: {} },
    instructions: INSTRUCTIONS,
  });
  const ctx = serverContext(server, deps);
  registerTaskTools(ctx);
  registerProjectTools(ctx);
  registerBreakdownTool(ctx);
  registerResources(ctx);
  registerPrompts(ctx);
  return server;
}
