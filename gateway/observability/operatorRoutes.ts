import type { Middleware } from 'koa';
import { isLoopbackHost } from '../../shared/config.js';
import { grants } from '../auth/scopePolicy.js';
import type { ManifoldGateway } from '../gateway.js';
import { sendRpcError } from '../http/jsonRpcMessages.js';
import type { GatewayState } from '../http/middlewares.js';
import type { CallRecorder } from './callRecorder.js';
import type { GatewayMetrics } from './gatewayMetrics.js';
import type { ObservabilitySettings } from './observabilitySettings.js';
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
      if (!isMetrics(ctx) && !isPage) return next();
      const identity = ctx.state.identity;
      if (!identity || !mayOperate(identity.scopes)) {
        ctx.respond = false;
        return sendRpcError(ctx.res, 403, -32000, `Forbidden: ${ctx.path} is for operators and needs ${needed()}.`);
      }
      if (!isPage) return serveMetrics(ctx);
      ctx.respond = false;
      ctx.res
        .writeHead(200, {
          'Content-Type': 'text/html; charset=utf-8',
          'Cache-Control': 'no-store',
          'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
          'X-Content-Type-Options': 'nosniff',
          'Referrer-Policy': 'no-referrer',
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
