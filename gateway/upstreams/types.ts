import type {
  ClientCapabilities,
  Implementation,
  LoggingMessageNotification,
  Progress,
  Prompt,
  RequestId,
  ResourceTemplate,
  ServerCapabilities,
  Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { CallerContext } from '../../shared/callerContext.js';
import type { Cancellation } from './cancellation.js';
import type { UpstreamConfig } from './upstreamSettings.js';

/** What an upstream needs from a client session to deliver a server→client request to it. */
export interface ClientSessionLink {
  readonly id: string;
  /** The capabilities the client declared at initialize (sampling, elicitation, roots…). */
  clientCapabilities(): ClientCapabilities | undefined;
  /**
   * Send `request` to the client. With `relatedRequestId` it travels on the stream of that
   * client request (Streamable HTTP), otherwise on the session's standalone stream.
   */
  requestClient(
    request: { method: string; params?: Record<string, unknown> | undefined },
    relatedRequestId: RequestId | undefined,
    options: { signal: AbortSignal; timeoutMs: number; upstream: string },
  ): Promise<Record<string, unknown>>;
  /**
   * The log level a 2025-era session asked the gateway for (logging/setLevel); a call made for
   * it asks a 2026-07-28 upstream for its log messages at that level. Absent: none.
   */
  readonly logLevel?: string | undefined;
  /**
   * Extensions the client declared that the gateway relays to the upstream it calls
   * (session/relayedExtensions.ts: a 2026-07-28 client of one upstream alone); they travel in
   * the forwarded request's clientCapabilities. Absent or undefined: none.
   */
  relayedClientExtensions?(): Record<string, object> | undefined;
}

/** The client request a forwarded call belongs to. */
export interface CallOrigin {
  caller: CallerContext;
  session: ClientSessionLink;
  /** The id of the client's request in its own session. */
  requestId: RequestId;
}

export interface InFlightCall {
  /** The opaque id sent to the upstream as `_meta["io.manifold/call"]`. */
  id: string;
  origin: CallOrigin;
  method: string;
  /** Its JSON-RPC id on the upstream connection (ForwardedRequests), once sent. */
  forwardedId?: number;
  /** Its client declared something an upstream can ask of it mid-call (sampling, elicitation, roots). */
  askable?: boolean;
}

export type ListKind = 'tools' | 'prompts' | 'resources' | 'resourceTemplates';

export type UpstreamStateName = 'starting' | 'ready' | 'restarting' | 'stopped';

/** Events an upstream reports to the gateway (catalog, sessions, readiness). */
export interface UpstreamListener {
  onStateChange(namespace: string, state: UpstreamStateName): void;
  /** The lists named changed (after a refresh); resources are listed live, so only announced. */
  onListsChanged(namespace: string, kinds: ReadonlySet<ListKind>): void;
  onResourceUpdated(namespace: string, uri: string): void;
  onLogMessage(namespace: string, params: LoggingMessageNotification['params']): void;
}

/** Options of one forwarded request. */
export interface ForwardOptions {
  cancellation?: Cancellation | undefined;
  onprogress?: ((progress: Progress) => void) | undefined;
  /** Override of the configured call timeout (lists and health use shorter ones). */
  timeoutMs?: number;
  /** A tools/call's `Mcp-Param-*` headers its tool does not declare, as the client sent them (passed on to a 2026 HTTP upstream). */
  paramHeaders?: Readonly<Record<string, string>> | undefined;
}

/**
 * What the layers above the upstreams (catalog, calls, policy, views, sessions) see of one
 * upstream: its state and lists, read-only, and the requests they may send it. The supervised
 * connection (upstreamConnection.ts) is the one implementation.
 */
export interface Upstream {
  readonly namespace: string;
  readonly config: UpstreamConfig;
  readonly state: UpstreamStateName;
  /** The revision spoken with it: `modern` (2026-07-28) or `legacy` (2025 and earlier); undefined until it is up. */
  readonly era: 'modern' | 'legacy' | undefined;
  readonly capabilities: ServerCapabilities | undefined;
  readonly serverInfo: Implementation | undefined;
  readonly instructions: string | undefined;
  /** Allowed tools with their upstream names, as last listed. */
  readonly tools: readonly Tool[];
  readonly prompts: readonly Prompt[];
  readonly resourceTemplates: readonly ResourceTemplate[];
  /** Whether its `tools.allow` / `tools.deny` settings let a tool through. */
  isToolAllowed(name: string): boolean;
  forward(
    method: string,
    params: Record<string, unknown> | undefined,
    origin: CallOrigin | undefined,
    options?: ForwardOptions,
  ): Promise<Record<string, unknown>>;
  subscribeResource(uri: string): Promise<void>;
  unsubscribeResource(uri: string): Promise<void>;
}
