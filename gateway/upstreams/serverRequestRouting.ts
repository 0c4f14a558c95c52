import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/client';
import { readCallerMeta } from '../../shared/callerContext.js';
import { CALL_META_KEY } from '../../shared/relatedRequestMeta.js';
import { stripReserved } from './callMeta.js';
import type { CallOrigin, InFlightCall } from './types.js';

/** A request an upstream sends the gateway during a call: sampling, elicitation or roots. */
export interface ServerRequest {
  method: string;
  params?: Record<string, unknown>;
}

/** What routing a server→client request needs to know of the connection it arrived on. */
export interface RoutingContext {
  namespace: string;
  inFlight: ReadonlyMap<string, InFlightCall>;
  /** The forwarded call whose POST stream brought this request (remote 2025 upstreams). */
  streamOwner: number | undefined;
  /** Longest a call may wait on a person. */
  maxCallDurationMs: number;
  /** The upstream echoed the gateway's call id: its requests can be attributed exactly. */
  noteEchoesCallMeta(): void;
  /** Pause the deadline of the forwarded call with this id while its client answers. */
  holdDeadline(forwardedId: number): (() => void) | undefined;
}

/**
 * Deliver a request the upstream sends during a call (sampling, elicitation, roots) to the
 * session that made the call. Rules, in order (documented in docs/gateway-design.md):
 * 1. `_meta["io.manifold/call"]` names a call in flight to this upstream → that call.
 * 2. The POST stream it arrived on belongs to a call (remote 2025 upstreams) → that call.
 * 3. `_meta["io.manifold/caller"].session` names a session with calls in flight here → that
 *    session (on the stream of its call when it has exactly one).
 * 4. Exactly one call is in flight to this upstream → that call.
 * 5. Otherwise the request is refused: guessing could show one user's prompt to another.
 */
export async function routeServerRequest(request: ServerRequest, signal: AbortSignal, context: RoutingContext): Promise<Record<string, unknown>> {
  const meta = request.params?._meta as Record<string, unknown> | undefined;
  const target = attribute(meta, context);
  if (!target) {
    throw new ProtocolError(
      ProtocolErrorCode.InvalidRequest,
      `Manifold gateway: cannot tell which client session this ${request.method} request belongs to ` +
        `(${context.inFlight.size} calls in flight to "${context.namespace}", and no "${CALL_META_KEY}" in _meta). ` +
        `Send server→client requests only during a call, echoing the call's _meta (see shared/relatedRequestMeta.ts); ` +
        `or set "isolation": "per-user" on upstream "${context.namespace}" in the gateway configuration, so that each call runs on a connection of its own.`,
    );
  }
  const { session, relatedRequestId, call } = target;
  const echoed = meta?.[CALL_META_KEY];
  if (typeof echoed === 'string' && context.inFlight.has(echoed)) context.noteEchoesCallMeta();
  const capabilities = session.clientCapabilities() ?? {};
  const needed = request.method === 'sampling/createMessage' ? 'sampling' : request.method === 'elicitation/create' ? 'elicitation' : 'roots';
  if (capabilities[needed] === undefined) {
    throw new ProtocolError(
      ProtocolErrorCode.InvalidRequest,
      `The client session of this call did not declare the "${needed}" capability, so ${request.method} cannot be sent to it.`,
    );
  }
  const params = request.params ? { ...request.params, _meta: stripReserved(meta) } : undefined;
  // The call waits on a person now: its timeout does not run until they answer.
  const release = call?.forwardedId !== undefined ? context.holdDeadline(call.forwardedId) : undefined;
  try {
    return await session.requestClient({ method: request.method, params }, relatedRequestId, {
      signal,
      timeoutMs: context.maxCallDurationMs,
      upstream: context.namespace,
    });
  } finally {
    release?.();
  }
}

interface Attribution {
  session: CallOrigin['session'];
  relatedRequestId: CallOrigin['requestId'] | undefined;
  call: InFlightCall | undefined;
}

function attribute(meta: Record<string, unknown> | undefined, context: RoutingContext): Attribution | undefined {
  const { inFlight, streamOwner } = context;
  const callId = meta?.[CALL_META_KEY];
  if (typeof callId === 'string') {
    const call = inFlight.get(callId);
    if (call) return { session: call.origin.session, relatedRequestId: call.origin.requestId, call };
  }
  if (streamOwner !== undefined) {
    for (const call of inFlight.values()) {
      if (call.forwardedId === streamOwner) return { session: call.origin.session, relatedRequestId: call.origin.requestId, call };
    }
  }
  const sessionId = readCallerMeta(meta)?.session;
  if (sessionId) {
    const calls = [...inFlight.values()].filter((call) => call.origin.session.id === sessionId);
    const first = calls[0];
    if (first)
      return {
        session: first.origin.session,
        relatedRequestId: calls.length === 1 ? first.origin.requestId : undefined,
        call: calls.length === 1 ? first : undefined,
      };
  }
  if (inFlight.size === 1) {
    const only = inFlight.values().next().value as InFlightCall;
    return { session: only.origin.session, relatedRequestId: only.origin.requestId, call: only };
  }
  return undefined;
}
