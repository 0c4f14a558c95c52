import type { RefusalLog } from '../observability/refusalLog.js';
import { sentErrorOf } from './jsonRpcMessages.js';
import type { GatewayMiddleware } from './middlewares.js';

/** Stable reasons for the per-user caps, which answer 429 with a message rather than a named limit. */
const CAP_REASONS: ReadonlyArray<[RegExp, string]> = [
  [/^Too many open sessions/, 'sessions_per_user'],
  [/^Too many open listen streams/, 'listen_streams_per_user'],
];

/** Why a 401, 403 or 429 was sent, as a bounded label. */
export function refusalReason(status: 401 | 403 | 429, challenge: string, error: { message: string; data?: unknown } | undefined): string {
  const message = error?.message ?? '';
  if (status === 401) {
    if (challenge.includes('error="invalid_token"')) return 'invalid_token';
    if (challenge.includes('error="invalid_request"')) return 'malformed_token';
    return 'missing_token';
  }
  if (status === 403) {
    if (challenge.includes('insufficient_scope')) return 'insufficient_scope';
    if (message.startsWith('Origin ')) return 'origin_not_allowed';
    if (message.startsWith('Host ')) return 'host_not_allowed';
    if (message.includes('is for operators')) return 'not_an_operator';
    if (message.includes('CSRF token')) return 'csrf_token';
    return 'forbidden';
  }
  const limit = (error?.data as { limit?: unknown } | undefined)?.limit;
  if (typeof limit === 'string' && /^[a-z0-9_]{1,64}$/.test(limit)) return limit;
  return CAP_REASONS.find(([pattern]) => pattern.test(message))?.[1] ?? 'rate_limited';
}

/**
 * Record every request answered 401, 403 or 429 (the refusal log and its metric). The namespace
 * is the one the path names (/servers/{namespace}/…), else the one the called tool belongs to.
 */
export function observeRefusals(
  refusals: RefusalLog,
  namespaces: { isKnown: (namespace: string) => boolean; ofTool: (exposedName: string) => string | undefined },
): GatewayMiddleware {
  return async (ctx, next) => {
    await next();
    const status = ctx.res.statusCode;
    if (status !== 401 && status !== 403 && status !== 429) return;
    const error = sentErrorOf(ctx.res);
    const challenge = String(ctx.res.getHeader('WWW-Authenticate') ?? '');
    const body = ctx.state.body as { method?: unknown; params?: { name?: unknown } } | undefined;
    const tool = body?.method === 'tools/call' && typeof body.params?.name === 'string' ? body.params.name : undefined;
    // Only a namespace the gateway has: a label from an unchecked path would let anyone grow the metrics.
    const named = /^\/servers\/([^/]+)\//.exec(ctx.path)?.[1];
    const namespace = named !== undefined && namespaces.isKnown(named) ? named : tool ? namespaces.ofTool(tool) : undefined;
    refusals.record({
      status,
      reason: refusalReason(status, challenge, error),
      ...(namespace ? { namespace } : {}),
      ...(ctx.state.identity ? { user: ctx.state.identity.user } : {}),
      request: `${ctx.method} ${ctx.path}${tool ? ` tools/call ${tool}` : typeof body?.method === 'string' ? ` ${body.method}` : ''}`,
      detail: error?.message ?? `HTTP ${status}`,
    });
  };
}
