import type { RefusalLog } from '../observability/refusalLog.js';
import { refusalReasonOf, sentErrorOf } from './jsonRpcMessages.js';
import type { GatewayMiddleware } from './middlewares.js';

/**
 * Why a 401, 403 or 429 was sent, as a bounded label: from the challenge (RFC 6750 error codes),
 * else the reason its sender noted (noteRefusalReason), else a rate limit's name; never from the
 * message text.
 */
export function refusalReason(status: 401 | 403 | 429, challenge: string, noted: string | undefined, data: unknown): string {
  if (status === 401) {
    if (challenge.includes('error="invalid_token"')) return 'invalid_token';
    if (challenge.includes('error="invalid_request"')) return 'malformed_token';
    return noted ?? 'missing_token';
  }
  if (challenge.includes('error="insufficient_scope"')) return 'insufficient_scope';
  if (noted) return noted;
  if (status === 403) return 'forbidden';
  const limit = (data as { limit?: unknown } | undefined)?.limit;
  return typeof limit === 'string' && /^[a-z0-9_]{1,64}$/.test(limit) ? limit : 'rate_limited';
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
      reason: refusalReason(status, challenge, refusalReasonOf(ctx.res), error?.data),
      ...(namespace ? { namespace } : {}),
      ...(ctx.state.identity ? { user: ctx.state.identity.user } : {}),
      request: `${ctx.method} ${ctx.path}${tool ? ` tools/call ${tool}` : typeof body?.method === 'string' ? ` ${body.method}` : ''}`,
      detail: error?.message ?? `HTTP ${status}`,
    });
  };
}
