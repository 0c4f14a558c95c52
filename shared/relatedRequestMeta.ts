import { CALLER_META_KEY } from './callerContext.js';

/**
 * Correlating server→client requests with the call that caused them.
 *
 * The gateway shares one connection to a child among many client sessions. When a child sends
 * a request back during a call (sampling/createMessage, elicitation/create, roots/list), the
 * stdio transport carries no link to the call, so the gateway could not tell which client
 * session should answer. The gateway therefore puts two keys in the `_meta` of every request
 * it forwards:
 *
 *   "io.manifold/caller": { "user": …, "scopes": […], "session": "<gateway session id>" }
 *   "io.manifold/call":   "<opaque id of this forwarded call>"
 *
 * A server echoes them in the `_meta` of each request it sends during that call:
 *
 *   await extra.sendRequest(
 *     { method: 'sampling/createMessage', params: { ...params, _meta: relatedRequestMeta(extra._meta) } },
 *     CreateMessageResultSchema,
 *   );
 *
 * and the gateway delivers the request to exactly that call's session and stream. Echoing is
 * harmless without a gateway (the keys are simply absent).
 */
export const CALL_META_KEY = 'io.manifold/call';

/** The correlation keys to echo, taken from the `_meta` of the request being handled. */
export function relatedRequestMeta(incoming: Record<string, unknown> | undefined): Record<string, unknown> {
  const meta: Record<string, unknown> = {};
  if (!incoming) return meta;
  if (typeof incoming[CALL_META_KEY] === 'string') meta[CALL_META_KEY] = incoming[CALL_META_KEY];
  if (typeof incoming[CALLER_META_KEY] === 'object' && incoming[CALLER_META_KEY] !== null) {
    meta[CALLER_META_KEY] = incoming[CALLER_META_KEY];
  }
  return meta;
}

/** `params` with the correlation keys merged into its `_meta`. */
export function withRelatedRequestMeta<P extends { _meta?: Record<string, unknown> | undefined }>(params: P, incoming: Record<string, unknown> | undefined): P {
  return { ...params, _meta: { ...params._meta, ...relatedRequestMeta(incoming) } };
}
