import { McpServer, type CacheHint } from '@modelcontextprotocol/server';
import { deliverResourceChanges } from '../../shared/serving/resourceChanges.js';
import { ServerSurface } from '../../shared/serving/serverSurface.js';
import { LEGACY_CONNECTION, type ServingInstance } from '../../shared/serving/servingInstance.js';
import { serverContext, type ProjectServerDeps } from './context.js';
import { registerPrompts } from './prompts.js';
import { registerResources, subscribableResources } from './resources.js';
import { registerBreakdownTool } from './tools/breakdown.js';
import { registerProjectTools } from './tools/projects.js';
import { registerTaskTools } from './tools/tasks.js';

export type { ProjectServerDeps } from './context.js';

export const SERVER_INFO = { name: 'manifold-project-management', version: '0.1.0' } as const;

const INSTRUCTIONS =
  'Tracks projects and tasks for a team. Tasks have ids like "T-101", a status (open, in_progress, done), a priority, an optional assignee email and an optional external reference URL (e.g. the GitHub issue a task tracks). ' +
  'Use list_projects to find project keys, list_tasks (filters, pagination) to find tasks, get_task_details before changing one. Deleting takes two calls (confirm token). ' +
  'Resources project://status, project://team-workload, project://recent-activity and project://{project}/status summarise the data.';

/** The server's surface does not change while it runs: anyone may cache it for ten minutes. */
const STATIC_SURFACE: CacheHint = { ttlMs: 600_000, cacheScope: 'public' };
/** Task and project data change with every write and reach users through their own scopes. */
const TEAM_DATA: CacheHint = { ttlMs: 5_000, cacheScope: 'private' };

/** Each process's surface, built on first use from its dependencies. */
const surfaces = new WeakMap<ProjectServerDeps, ServerSurface>();

function surfaceOf(deps: ProjectServerDeps): ServerSurface {
  let surface = surfaces.get(deps);
  if (!surface) {
    surface = new ServerSurface();
    const ctx = serverContext(surface.registrar, deps);
    registerTaskTools(ctx);
    registerProjectTools(ctx);
    registerBreakdownTool(ctx);
    registerResources(ctx);
    registerPrompts(ctx);
    surfaces.set(deps, surface);
  }
  return surface;
}

/**
 * Build one MCP server on a shared store: one per stdio connection, per 2025-era HTTP session or
 * per 2026-07-28 HTTP request (see ServingInstance). The tools, resources and prompts are built
 * once per `deps` and installed on each instance.
 */
export function createProjectManagementServer(deps: ProjectServerDeps, instance: ServingInstance = LEGACY_CONNECTION): McpServer {
  const server = new McpServer(SERVER_INFO, {
    capabilities: { logging: {} },
    instructions: INSTRUCTIONS,
    // MCP 2026-07-28 cacheable results (SEP-2549); 2025-era answers never carry these fields.
    cacheHints: {
      'server/discover': STATIC_SURFACE,
      'tools/list': STATIC_SURFACE,
      'prompts/list': STATIC_SURFACE,
      'resources/templates/list': STATIC_SURFACE,
      'resources/list': TEAM_DATA,
      'resources/read': TEAM_DATA,
    },
    requestState: { verify: deps.pendingInput.verify },
    // A 2025 client gets the sampling and confirmation of a multi round-trip call as real
    // server→client requests (the SDK's legacy shim), each waiting this long for its answer.
    inputRequired: { roundTimeoutMs: deps.samplingTimeoutMs },
  });
  surfaceOf(deps).install(server);
  deliverResourceChanges(server, instance, deps.changes, subscribableResources, deps.logger);
  return server;
}
