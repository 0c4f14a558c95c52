import Router from '@koa/router';
import Koa from 'koa';
import { isLoopbackHost } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import type { GatewayAuth } from '../auth/gatewayAuthSurface.js';
import { insufficientScopeChallenge } from '../auth/protectedResource.js';
import { INSUFFICIENT_SCOPE } from '../auth/scopeGate.js';
import { grants } from '../auth/scopePolicy.js';
import type { CatalogView } from '../catalog/upstreamCatalog.js';
import type { ManifoldGateway } from '../session/gatewayCore.js';
import { requestIdOf, sendJson, sendRpcError } from './jsonRpcMessages.js';
import { LegacySseRoutes } from './legacySseRoutes.js';
import { authenticate, catchErrors, checkOrigin, limitedJsonBody, statusOnlyAsRpcError, unpublishedMetadata, type GatewayState } from './middlewares.js';
import { ModernRoutes } from './modernRoutes.js';
import { classifyPost } from './modernRequest.js';
import { sendModernError } from './modernExchange.js';
import { scopeGateOf } from './scopeGate.js';
import { StreamableHttpRoutes } from './streamableHttpRoutes.js';
import type { OperatorRoutes } from '../http/operatorRoutes.js';

const MCP_METHODS = 'GET, POST, DELETE';

export interface HttpAppOptions {
  gateway: ManifoldGateway;
  auth: GatewayAuth;
  /** The gateway's external origin: its own pages (login, consent) post from there. */
  publicUrl?: string;
  logger: Logger;
  /** `/metrics` and the status page at `/` (http/operatorRoutes.ts). */
  operatorRoutes?: OperatorRoutes;
}

/**
 * The gateway's HTTP side. Every request passes, in this order:
 *   errors → status-only answers as JSON-RPC → origin/host check → public auth routes
 *   → well-known URLs nothing published → [public /metrics] → authenticate
 *   → [operator routes: /metrics, status page] → body limit → route
 * Rate limiting slots in after `authenticate`.
 */
export function createHttpApp({ gateway, auth, publicUrl, logger, operatorRoutes }: HttpAppOptions): Koa<GatewayState> {
  const { config } = gateway;
  const app = new Koa<GatewayState>();
  app.silent = true;

  app.use(catchErrors(logger));
  if (operatorRoutes) app.use(operatorRoutes.observeRefusals);
  app.use(statusOnlyAsRpcError());
  app.use(
    checkOrigin({
      allowedOrigins: publicUrl ? [...config.http.allowedOrigins, new URL(publicUrl).origin] : config.http.allowedOrigins,
      allowedHosts: config.http.allowedHosts,
      loopbackListener: isLoopbackHost(config.listen.host),
    }),
  );
  // Public: protected resource metadata (RFC 9728) and the embedded authorization server.
  app.use(async (ctx, next) => {
    const answer = auth.metadataAt(ctx.method, ctx.path);
    if (!answer) return next();
    ctx.respond = false;
    sendJson(ctx.res, answer.status, answer.body);
  });
  if (auth.authorizationServerRoutes) app.use(auth.authorizationServerRoutes);
  app.use(unpublishedMetadata);
  if (operatorRoutes) app.use(operatorRoutes.public);
  app.use(authenticate(auth.authenticator));
  if (operatorRoutes) app.use(operatorRoutes.authenticated);
  app.use(limitedJsonBody(config.http.maxBodyBytes));

  const router = new Router<GatewayState>();
  const sessionScopeGate = scopeGateOf(auth.sessionScopeCheck);
  const streamable = new StreamableHttpRoutes(gateway, sessionScopeGate);
  const modern = new ModernRoutes(gateway, auth.scopeCheck, { perCaller: config.auth.mode === 'oauth' });
  const legacy = new LegacySseRoutes(gateway, sessionScopeGate);

  /**
   * One POST to an MCP endpoint: a 2026-07-28 request (the `_meta` envelope) is answered on its
   * own (modernRoutes.ts); anything else is 2025-era session traffic (streamableHttpRoutes.ts).
   */
  const post = (ctx: Koa.ParameterizedContext<GatewayState>, view: CatalogView): Promise<void> => {
    const classified = classifyPost(ctx.req.headers, ctx.state.body);
    switch (classified.kind) {
      case 'legacy':
        return streamable.post(ctx, view);
      case 'request':
        ctx.respond = false;
        return modern.handle(ctx, view, classified.request);
      case 'notification':
        // The 2026-07-28 revision defines no client notifications over HTTP (cancellation is closing the request).
        ctx.respond = false;
        ctx.res.writeHead(202).end();
        return Promise.resolve();
      case 'refused': {
        ctx.respond = false;
        const { status, id, code, message, data } = classified.refusal;
        sendModernError(ctx.res, status, id, code, message, data);
        return Promise.resolve();
      }
    }
  };

  // The aggregate of every upstream, the path of nearly every request: matched before the
  // router, which would otherwise try its patterns and build a middleware chain per request.
  app.use((ctx, next) => {
    if (ctx.path !== '/mcp') return next();
    switch (ctx.method) {
      case 'POST':
        return post(ctx, gateway.catalog);
      case 'GET':
        return streamable.get(ctx, gateway.catalog);
      case 'DELETE':
        return streamable.delete(ctx, gateway.catalog);
      default:
        // As the router's allowedMethods() answers for its own paths.
        ctx.set('Allow', MCP_METHODS);
        if (ctx.method === 'OPTIONS') {
          ctx.status = 200;
          ctx.body = '';
        } else {
          ctx.status = 405;
        }
        return undefined;
    }
  });
  router.get('/sse', (ctx) => legacy.open(ctx, gateway.catalog, '/messages'));
  router.post('/messages', (ctx) => legacy.post(ctx, gateway.catalog));

  // One upstream alone, with its own names.
  const single = (ctx: Koa.ParameterizedContext<GatewayState>, handler: (view: CatalogView) => unknown): unknown => {
    const namespace = (ctx as unknown as { params: Record<string, string> }).params.namespace ?? '';
    const view = gateway.view(namespace);
    if (!view) {
      ctx.respond = false;
      return sendRpcError(
        ctx.res,
        404,
        -32000,
        `No upstream with namespace "${namespace}". Known: ${gateway.upstreams.map((u) => u.namespace).join(', ')}.`,
        {},
        requestIdOf(ctx.state.body),
      );
    }
    return handler(view);
  };
  router.post('/servers/:namespace/mcp', (ctx) => single(ctx, (view) => post(ctx, view)));
  router.get('/servers/:namespace/mcp', (ctx) => single(ctx, (view) => streamable.get(ctx, view)));
  router.delete('/servers/:namespace/mcp', (ctx) => single(ctx, (view) => streamable.delete(ctx, view)));
  router.get('/servers/:namespace/sse', (ctx) =>
    single(ctx, (view) => legacy.open(ctx, view, `/servers/${encodeURIComponent(view.namespace ?? '')}/messages`)),
  );
  router.post('/servers/:namespace/messages', (ctx) => single(ctx, (view) => legacy.post(ctx, view)));

  // Curated views: a selection of tools, prompts and resources, with scopes of their own.
  const curated = (ctx: Koa.ParameterizedContext<GatewayState>, handler: (view: CatalogView) => unknown): unknown => {
    const name = (ctx as unknown as { params: Record<string, string> }).params.name ?? '';
    const view = gateway.curatedView(name);
    if (!view) {
      ctx.respond = false;
      return sendRpcError(
        ctx.res,
        404,
        -32000,
        `No view named "${name}". Known: ${gateway.curatedViewNames().join(', ') || '(none configured)'}.`,
        {},
        requestIdOf(ctx.state.body),
      );
    }
    const granted = new Set(ctx.state.identity?.scopes ?? []);
    const missing = view.settings.scopes.filter((scope) => !grants(granted, scope));
    if (missing.length > 0) {
      ctx.respond = false;
      const description = `the view "${name}" needs scope ${missing.join(' ')}`;
      const resource = auth.resourceFor?.(ctx.path).resource;
      return sendRpcError(
        ctx.res,
        403,
        INSUFFICIENT_SCOPE,
        `Forbidden: ${description}. Authorize again asking for ${missing.join(' ')}.`,
        resource ? { 'WWW-Authenticate': insufficientScopeChallenge(resource, [...granted], missing, description) } : {},
        requestIdOf(ctx.state.body),
      );
    }
    return handler(view);
  };
  router.post('/views/:name/mcp', (ctx) => curated(ctx, (view) => post(ctx, view)));
  router.get('/views/:name/mcp', (ctx) => curated(ctx, (view) => streamable.get(ctx, view)));
  router.delete('/views/:name/mcp', (ctx) => curated(ctx, (view) => streamable.delete(ctx, view)));

  // Probes.
  router.get('/healthz', (ctx) => {
    ctx.respond = false;
    sendJson(ctx.res, 200, { status: 'ok', accepting: gateway.isAccepting });
  });
  router.get('/readyz', (ctx) => {
    ctx.respond = false;
    const readiness = gateway.readiness();
    const status = { status: readiness.ready ? 'ready' : 'not ready', ready: readiness.ready };
    // Upstream pids, versions and the session count are for callers who authenticate.
    sendJson(ctx.res, readiness.ready ? 200 : 503, ctx.state.identity ? { ...status, ...readiness } : status);
  });

  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
