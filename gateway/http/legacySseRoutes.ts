import type { ParameterizedContext } from 'koa';
import type { CatalogView } from '../catalog/upstreamCatalog.js';
import type { ScopeGate } from './scopeGate.js';
import type { ManifoldGateway } from '../session/gatewayCore.js';
import { parseMessages, requestIdOf, sendRpcError } from './jsonRpcMessages.js';
import { paramsProblemOf } from './sessionParams.js';
import type { GatewayState } from './middlewares.js';

type Ctx = ParameterizedContext<GatewayState>;

/**
 * The deprecated HTTP+SSE transport (MCP spec 2024-11-05) for older clients: GET `…/sse`
 * opens the session's only stream and names the POST endpoint in an `endpoint` event;
 * POST `…/messages?sessionId=` is answered 202 and replies travel on the stream.
 */
export class LegacySseRoutes {
  constructor(
    private readonly gateway: ManifoldGateway,
    private readonly admit: ScopeGate,
  ) {}

  open = (ctx: Ctx, view: CatalogView, postPath: string): void => {
    ctx.respond = false;
    if (!this.gateway.isAccepting) return sendRpcError(ctx.res, 503, -32000, 'The gateway is shutting down. Reconnect shortly.');
    if (this.gateway.sessions.size >= this.gateway.config.http.maxSessions) {
      return sendRpcError(ctx.res, 503, -32000, 'Too many open sessions on this gateway. Retry later.');
    }
    const session = this.gateway.openSession(view, ctx.state.identity!, 'legacy-sse');
    session.transport.attachLegacy(ctx.res, `${postPath}?sessionId=${encodeURIComponent(session.id)}`);
  };

  post = (ctx: Ctx, view: CatalogView): void => {
    ctx.respond = false;
    const rpcId = requestIdOf(ctx.state.body);
    const sessionId = typeof ctx.query.sessionId === 'string' ? ctx.query.sessionId : undefined;
    const session = sessionId ? this.gateway.sessions.get(sessionId) : undefined;
    if (!session || session.view !== view || session.transport.mode !== 'legacy-sse' || session.identity.user !== ctx.state.identity?.user) {
      return sendRpcError(ctx.res, 404, -32001, 'Session not found. Open a new stream with GET on the SSE endpoint.', {}, rpcId);
    }
    const parsed = parseMessages(ctx.state.body);
    if (!parsed.ok) return sendRpcError(ctx.res, 400, -32600, parsed.message, {}, rpcId);
    // Refused on the POST, as the SDK's own SSE transport refuses a message it cannot handle.
    const problem = paramsProblemOf(parsed.messages);
    if (problem) return sendRpcError(ctx.res, 400, -32602, problem, {}, rpcId);
    session.updateIdentity(ctx.state.identity!);
    if (!this.admit(ctx.res, ctx.path, view, ctx.state.identity!, parsed.messages)) return;
    ctx.res.writeHead(202, { 'Content-Type': 'text/plain' }).end('Accepted');
    for (const message of parsed.messages) session.transport.receiveLegacy(message);
  };
}
