import type { Progress, RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { CallerContext } from '../../shared/callerContext.js';
import type { NameTarget } from '../catalog/upstreamCatalog.js';
import type { Cancellation } from '../upstreams/cancellation.js';
import type { ClientSessionLink } from '../upstreams/types.js';
import type { CallFacts } from './callFacts.js';

/**
 * One tools/call on its way to an upstream. Policy stages (per-scope authorization, rate
 * limits, caching, audit, metrics) are middlewares around the forwarding
 * step, composed once at start; with none configured the call goes straight through.
 */
export interface ToolCallContext {
  session: ClientSessionLink;
  /** The client's JSON-RPC request id within its session. */
  requestId: RequestId;
  caller: CallerContext;
  /** The name the client used (`pm__create_task`). */
  exposedName: string;
  target: NameTarget;
  arguments: Record<string, unknown> | undefined;
  /** The client's request `_meta` (progress token and `io.manifold/*` keys removed upstream). */
  meta: Record<string, unknown> | undefined;
  cancellation: Cancellation;
  onprogress: ((progress: Progress) => void) | undefined;
  /** The answers and upstream state of a multi round-trip call's next round (MCP 2026-07-28). */
  inputRound?: { inputResponses: Record<string, unknown>; requestState?: string };
  /** Set when a composite tool makes this call as one of its steps: the composite's exposed name and the step. */
  via?: { tool: string; step: string };
  /**
   * The caller needs the upstream's current answer, not a cached one: a composite step whose
   * read decides a write. The cache is not consulted; the fresh answer is stored for others.
   */
  freshRead?: boolean;
  /** `Mcp-Param-*` headers the client sent that the tool does not declare, passed on to a 2026 HTTP upstream as they came. */
  paramHeaders?: Readonly<Record<string, string>>;
  /** What the stages learn about this call (callFacts.ts); set by the recording stage. */
  facts?: CallFacts;
}

export type ToolCallHandler = (call: ToolCallContext) => Promise<Record<string, unknown>>;
export type ToolCallMiddleware = (call: ToolCallContext, next: ToolCallHandler) => Promise<Record<string, unknown>>;

export function composeToolCall(middlewares: readonly ToolCallMiddleware[], terminal: ToolCallHandler): ToolCallHandler {
  return middlewares.reduceRight<ToolCallHandler>((next, middleware) => (call) => middleware(call, next), terminal);
}
