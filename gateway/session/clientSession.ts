import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { ClientCapabilities, LoggingLevel, RequestId, ServerCapabilities, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { jsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/index.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { CallerContext } from '../../shared/callerContext.js';
import { PassThroughResult } from '../../shared/jsonRpcDispatch.js';
import type { CallerIdentity } from '../auth/authenticate.js';
import type { CatalogView } from '../catalog/upstreamCatalog.js';
import type { SessionTransport } from '../session/sessionTransport.js';
import type { ClientSessionLink } from '../upstreams/types.js';
import type { ResourceSubscriber } from './resourceSubscriptions.js';

/** One validator for every session: the SDK would otherwise build an Ajv instance per Server. */
let sharedValidator: jsonSchemaValidator | undefined;
export function sessionSchemaValidator(): jsonSchemaValidator {
  sharedValidator ??= new AjvJsonSchemaValidator();
  return sharedValidator;
}

/** Who a client's calls are made for, as children are told (shared/callerContext.ts). */
export function callerOf(identity: CallerIdentity, session: string | undefined): CallerContext {
  return { user: identity.user, ...(identity.email ? { email: identity.email } : {}), scopes: identity.scopes, ...(session === undefined ? {} : { session }) };
}

export const LOG_LEVEL_ORDER: readonly LoggingLevel[] = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

/**
 * One client session: the SDK `Server` (protocol), its transport (HTTP), the catalog view it
 * sees, and the identity it was opened with.
 */
export class ClientSession implements ClientSessionLink, ResourceSubscriber {
  readonly era = 'legacy' as const;
  readonly server: Server;
  /** Set by logging/setLevel; upstream log messages below it are not forwarded. */
  logLevel: LoggingLevel | undefined;
  /** Subscription keys (see ResourceSubscriptions). */
  readonly subscriptions = new Set<string>();
  /** Subscribed resource URIs as the client named them (shared session state). */
  readonly subscribedUris = new Set<string>();
  /** The client's initialize parameters, kept when sessions are shared between instances. */
  handshake: { protocolVersion: string; capabilities: Record<string, unknown>; clientInfo: { name: string; version: string } } | undefined;
  caller: CallerContext;
  /** The scopes of the caller's latest token; lists and calls are filtered by them. */
  grantedScopes: ReadonlySet<string>;

  constructor(
    readonly id: string,
    readonly view: CatalogView,
    public identity: CallerIdentity,
    readonly transport: SessionTransport,
    readonly capabilities: ServerCapabilities,
    instructions: string | undefined,
  ) {
    this.caller = callerOf(identity, id);
    this.grantedScopes = new Set(identity.scopes);
    this.server = new Server(
      { name: view.namespace ? `manifold-gateway/${view.namespace}` : 'manifold-gateway', title: 'Manifold', version: '0.1.0' },
      { capabilities, ...(instructions ? { instructions } : {}), jsonSchemaValidator: sessionSchemaValidator() },
    );
  }

  /** A later request of the same user with a new token (refresh, step-up). */
  updateIdentity(identity: CallerIdentity): void {
    if (identity === this.identity) return;
    this.identity = identity;
    this.caller = callerOf(identity, this.id);
    this.grantedScopes = new Set(identity.scopes);
  }

  clientCapabilities(): ClientCapabilities | undefined {
    return this.server.getClientCapabilities();
  }

  requestClient(
    request: { method: string; params?: Record<string, unknown> | undefined },
    relatedRequestId: RequestId | undefined,
    options: { signal: AbortSignal; timeoutMs: number; upstream: string },
  ): Promise<Record<string, unknown>> {
    return this.server.request(request as ServerRequest, PassThroughResult, {
      relatedRequestId,
      signal: options.signal,
      timeout: options.timeoutMs,
    });
  }

  resourceUpdated(exposedUri: string): void {
    void this.server.sendResourceUpdated({ uri: exposedUri }).catch(() => undefined);
  }

  wantsLog(level: LoggingLevel): boolean {
    return this.logLevel !== undefined && LOG_LEVEL_ORDER.indexOf(level) >= LOG_LEVEL_ORDER.indexOf(this.logLevel);
  }
}
