import { createRequestStateCodec, type RequestStateCodec, type ServerEventBus } from '@modelcontextprotocol/server';
import { resolveCaller, type CallerContext } from '../../shared/callerContext.js';
import type { Logger } from '../../shared/logger.js';
import type { SurfaceRegistrar } from '../../shared/serving/serverSurface.js';
import type { ProjectStore } from './store/projectStore.js';

/**
 * What a multi round-trip call of this server carries between rounds (MCP 2026-07-28
 * `requestState`). It is signed, bound to the caller and expires; the client can read it, so it
 * holds nothing the client may not see.
 */
export type PendingInput =
  /** generate_task_breakdown asked the client's model for sub-tasks; `arguments` is a digest of the call's arguments. */
  | { tool: 'generate_task_breakdown'; arguments: string }
  /** delete_task asked the user to confirm deleting task `id`; `token` is the deletion it confirms. */
  | { tool: 'delete_task'; id: string; token: string };

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
  /** Where changes to tasks and projects are published (see `publishStoreChanges`). */
  changes: ServerEventBus;
  /** Seals and checks the state of multi round-trip calls (see `pendingInputCodec`). */
  pendingInput: RequestStateCodec<PendingInput>;
}

/** What every tool, resource and prompt module of this server receives (once per process). */
export interface ServerContext extends ProjectServerDeps {
  /** Where the modules register their tools, resources and prompts (shared/serving/serverSurface.ts). */
  server: SurfaceRegistrar;
  callerOf(meta: Record<string, unknown> | undefined): CallerContext;
}

export function serverContext(server: SurfaceRegistrar, deps: ProjectServerDeps): ServerContext {
  return {
    ...deps,
    server,
    callerOf: (meta) => resolveCaller(meta, { trustMeta: deps.trustCallerMeta, localUser: deps.localUser }),
  };
}

/** How long a user has to answer the sampling or confirmation of a multi round-trip call. */
const PENDING_INPUT_TTL_SECONDS = 600;

/**
 * The HMAC codec for `requestState`: a state minted for one user and method is refused for any
 * other, and after ten minutes (the SDK answers such a retry with -32602 before any handler runs).
 */
export function pendingInputCodec(
  key: Uint8Array,
  caller: { trustCallerMeta: boolean; localUser: string },
  ttlSeconds = PENDING_INPUT_TTL_SECONDS,
): RequestStateCodec<PendingInput> {
  return createRequestStateCodec<PendingInput>({
    key,
    ttlSeconds,
    bind: (request) =>
      `${resolveCaller(request.mcpReq._meta, { trustMeta: caller.trustCallerMeta, localUser: caller.localUser }).user}\0${request.mcpReq.method}`,
  });
}
