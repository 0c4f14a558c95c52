import type { Middleware } from 'koa';
import { isLoopbackHost } from '../../shared/config.js';
import { grants } from '../auth/scopePolicy.js';
import type { ManifoldGateway } from '../session/gatewayCore.js';
import { sendRpcError } from './jsonRpcMessages.js';
import type { GatewayState } from './middlewares.js';
import type { CallRecorder } from '../observability/callRecorder.js';
import type { GatewayMetrics } from '../observability/gatewayMetrics.js';
import type { ObservabilitySettings } from '../observability/observabilitySettings.js';
import { renderStatusPage } from './statusPage.js';

export interface OperatorRoutes {
  /** Before authentication: `/metrics` for loopback scrapers when configured public. */
  public: Middleware<GatewayState>;
  /** After authentication: `/metrics` and the status page at `/`. */
  authenticated: Middleware<GatewayState>;
}

export function operatorRoutes(options: {
  gateway: ManifoldGateway;
  settings: ObservabilitySettings;
  metrics: GatewayMetrics | undefined;
  recorder: CallRecorder;
  cacheEntries: () => number | undefined;
  /** Told of each approval made on the page (for the audit log). */
  onApproval?: (approval: { user: string; namespace: string; tools: string[] }) => void;
}): OperatorRoutes {
  const { gateway, settings, metrics, recorder } = options;
  const serveMetrics = async (ctx: Parameters<Middleware<GatewayState>>[0]): Promise<void> => {
    const { contentType, body } = await metrics!.exposition();
    ctx.respond = false;
    ctx.res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' }).end(body);
  };
  const isMetrics = (ctx: { method: string; path: string }): boolean => metrics !== undefined && ctx.method === 'GET' && ctx.path === '/metrics';
  const operatorScopes = settings.statusPage.scopes;
  const mayOperate = (scopes: readonly string[]): boolean => {
    const granted = new Set(scopes);
    if (granted.has('*')) return true;
    if (operatorScopes.length > 0) return operatorScopes.some((scope) => grants(granted, scope));
    return gateway.upstreams.some((u) => grants(granted, `${u.namespace}:admin`));
  };
  const needed = (): string => (operatorScopes.length > 0 ? operatorScopes.join(' or ') : 'an admin scope (<namespace>:admin)');
  return {
    public: async (ctx, next) => {
      if (isMetrics(ctx) && settings.metrics.publicOnLoopback && isLoopbackHost(ctx.req.socket.remoteAddress ?? '')) return serveMetrics(ctx);
      return next();
    },
    authenticated: async (ctx, next) => {
      const isPage = settings.statusPage.enabled && ctx.method === 'GET' && ctx.path === '/';
      const isApproval = settings.statusPage.enabled && ctx.method === 'POST' && ctx.path === '/integrity/approve';
      if (!isMetrics(ctx) && !isPage && !isApproval) {
        // Another method on a page's path: 405 with Allow (the JSON-RPC error is written by statusOnlyAsRpcError).
        const readOnlyPath = (metrics !== undefined && ctx.path === '/metrics') || (settings.statusPage.enabled && ctx.path === '/');
        if (!readOnlyPath || ctx.method === 'GET') return next();
        ctx.set('Allow', 'GET');
        ctx.status = 405;
        return;
      }
      const identity = ctx.state.identity;
      if (!identity || !mayOperate(identity.scopes)) {
        ctx.respond = false;
        return sendRpcError(ctx.res, 403, -32000, `Forbidden: ${ctx.path} is for operators and needs ${needed()}.`);
      }
      if (isApproval) return approveToolChange(ctx, gateway, identity.user, options.onApproval);
      if (!isPage) return serveMetrics(ctx);
      ctx.respond = false;
      ctx.res
        .writeHead(200, {
          'Content-Type': 'text/html; charset=utf-8',
          'Cache-Control': 'no-store',
          'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
          'X-Content-Type-Options': 'nosniff',
          // same-origin, not no-referrer: with no-referrer a browser sends "Origin: null" on the approval form post.
          'Referrer-Policy': 'same-origin',
        })
        .end(
          renderStatusPage({
            gateway,
            recentCalls: recorder.recentCalls,
            recentErrors: recorder.recentErrors,
            cacheEntries: options.cacheEntries(),
            viewer: identity.user,
          }),
        );
    },
  };
}

/**
 * POST /integrity/approve (operators): approve a withheld tool change from the status page,
 * then send the browser back to it. The page authenticates with a bearer token, never a
 * cookie, so a third-party page cannot make a browser approve anything.
 */
async function approveToolChange(
  ctx: Parameters<Middleware<GatewayState>>[0],
  gateway: ManifoldGateway,
  user: string,
  onApproval: ((approval: { user: string; namespace: string; tools: string[] }) => void) | undefined,
): Promise<void> {
  ctx.respond = false;
  if (!gateway.toolPins) return sendRpcError(ctx.res, 404, -32000, 'Tool integrity is not enabled on this gateway.');
  let body = '';
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    body += chunk.toString('utf8');
    if (body.length > 4096) return sendRpcError(ctx.res, 413, -32600, 'Approval form too large.');
  }
  const form = new URLSearchParams(body);
  const namespace = form.get('namespace') ?? '';
  const tool = form.get('tool') ?? undefined;
  const approved = gateway.toolPins.approve(namespace, tool);
  if (approved.length === 0) return sendRpcError(ctx.res, 404, -32000, `Nothing is waiting for approval for ${namespace}${tool ? `/${tool}` : ''}.`);
  onApproval?.({ user, namespace, tools: approved });
  gateway.refreshTools();
  ctx.res.writeHead(303, { Location: '/', 'Cache-Control': 'no-store' }).end();
}
