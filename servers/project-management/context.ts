import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { resolveCaller, type CallerContext } from '../../shared/callerContext.js';
import type { Logger } from '../../shared/logger.js';
import type { ProjectStore } from './store/projectStore.js';

export interface ProjectServerDeps {
  store: ProjectStore;
  logger: Logger;
  /** Trust caller identity in request _meta (set when launched by the gateway). */
  trustCallerMeta: boolean;
  /** The acting user when no trusted caller is given. */
  localUser: string;
  /** Project used when create_task is called without one. */
  defaultProject: string;
  /** How long generate_task_breakdown waits for the client's sampling answer. */
  samplingTimeoutMs: number;
}

/** What every tool, resource and prompt module of this server receives. */
export interface ServerContext extends ProjectServerDeps {
  server: McpServer;
  callerOf(meta: Record<string, unknown> | undefined): CallerContext;
}

export function serverContext(server: McpServer, deps: ProjectServerDeps): ServerContext {
  return {
    ...deps,
    server,
    callerOf: (meta) => resolveCaller(meta, { trustMeta: deps.trustCallerMeta, localUser: deps.localUser }),
  };
}
