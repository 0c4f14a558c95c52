import type { CallerContext } from '../../shared/callerContext.js';
import type { CatalogView } from '../catalog/upstreamCatalog.js';
import type { ClientSessionLink } from '../upstreams/types.js';

/**
 * The client behind a request, as the gateway's MCP methods need it: what it sees (its view),
 * who it acts for and with which scopes, and how an upstream reaches it during a call. A
 * 2025-era session is one (ClientSession, for all its requests); on protocol revision
 * 2026-07-28 each request brings its own (ModernRequestClient).
 */
export interface RequestingClient extends ClientSessionLink {
  /** The protocol era of the client: how it can be asked for input during a call. */
  readonly era: 'legacy' | 'modern';
  readonly view: CatalogView;
  readonly caller: CallerContext;
  /** The scopes of the caller's token: lists and calls are filtered by them. */
  readonly grantedScopes: ReadonlySet<string>;
}
