import type { ParameterizedContext } from 'koa';
import { SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import type { CatalogView } from '../catalog/upstreamCatalog.js';
import type { ManifoldGateway } from '../session/gatewayCore.js';
import type { ScopeGate } from './scopeGate.js';
import type { ClientSession } from '../session/clientSession.js';
import { noteRefusalReason, parseMessages, requestIdOf, sendRpcError } from './jsonRpcMessages.js';
import type { GatewayState } from './middlewares.js';
import { acceptsAll, isJsonContentType } from './mediaTypes.js';
import { paramsProblemOf } from './sessionParams.js';

type Ctx = ParameterizedContext<GatewayState>;

const SESSION_HEADER = 'mcp-session-id';
const VERSION_HEADER = 'mcp-protocol-version';

/**
 * Streamable HTTP (MCP spec 2025-11-25, basic/transports) for one view: `/mcp` (aggregate)
 * or `/servers/{namespace}/mcp` (one upstream). POST carries JSON-RPC, GET opens the
 * server→client stream (or resumes one with Last-Event-ID), DELETE ends the session.
 */
export class StreamableHttpRoutes {
  constructor(
    private readonly gateway: ManifoldGateway,
    private readonly admit: ScopeGate,
  ) {}

  post = async (ctx: Ctx, view: CatalogView): Promise<void> => {
    ctx.respond = false;
    const { req, res } = ctx;
    const rpcId = requestIdOf(ctx.state.body);
    if (!isJsonContentType(req.headers['content-type'])) {
      return sendRpcError(res, 415, -32000, 'Unsupported Media Type: send Content-Type: application/json.', {}, rpcId);
    }
    if (!acceptsAll(req.headers.accept, ['application/json', 'text/event-stream'])) {
      return sendRpcError(res, 406, -32000, 'Not Acceptable: send Accept: application/json, text/event-stream.', {}, rpcId);
    }
    const parsed = parseMessages(ctx.state.body);
    if (!parsed.ok) return sendRpcError(res, 400, -32600, parsed.message, {}, rpcId);
    const { messages, batch } = parsed;
    const hasInitialize = messages.some((m) => 'method' in m && m.method === 'initialize');
    const sessionId = header(req.headers[SESSION_HEADER]);

    if (hasInitialize) {
      if (batch || messages.length > 1) return sendRpcError(res, 400, -32600, 'initialize must be sent alone, not in a batch.');
      if (sessionId)
        return sendRpcError(res, 400, -32600, 'This session is already initialized; send initialize without Mcp-Session-Id to start a new one.', {}, rpcId);
      const handshake = initializeHandshake((messages[0] as { params?: unknown }).params);
      if (typeof handshake === 'string') return sendRpcError(res, 400, -32602, `Invalid initialize request: ${handshake}. No session was opened.`, {}, rpcId);
      if (!this.gateway.isAccepting) return sendRpcError(res, 503, -32000, 'The gateway is shutting down. Reconnect shortly.', { 'Retry-After': '5' }, rpcId);
      if (this.gateway.sessions.size >= this.gateway.config.http.maxSessions) {
        return sendRpcError(res, 503, -32000, 'Too many open sessions on this gateway. Retry later.', { 'Retry-After': '10' }, rpcId);
      }
      const user = ctx.state.identity!.user;
      const open = this.gateway.sessions.openFor(user);
      const cap = this.gateway.config.limits.perUser.sessions;
      if (open >= cap) {
        const idleMinutes = Math.round(this.gateway.config.http.sessionIdleTimeoutMs / 60_000);
        noteRefusalReason(res, 'sessions_per_user');
        return sendRpcError(
          res,
          429,
          -32000,
          `Too many open sessions: you have ${open} on this gateway instance, the most one user may have (${cap}). Close sessions you no longer use (DELETE with their Mcp-Session-Id), or retry once idle ones expire (after ${idleMinutes} min without requests).`,
          { 'Retry-After': '60' },
          rpcId,
        );
      }
      const session = this.gateway.openSession(view, ctx.state.identity!, 'streamable');
      if (this.gateway.sessionDirectory) {
        // Shared before the answer leaves, so the client's next request may land on any instance.
        await this.gateway.shareSession(session, handshake);
      }
      res.setHeader('Mcp-Session-Id', session.id);
      session.transport.receivePost(res, messages, false);
      return;
    }

    const session = await this.findSession(ctx, view, sessionId);
    if (!session) return;
    if (!this.versionOk(ctx)) return;
    if (batch) {
      const refusal = batchRefusal(session.transport.protocolVersion, messages.length);
      if (refusal) return sendRpcError(res, 400, -32600, refusal);
    }
    const problem = paramsProblemOf(messages);
    if (problem) return sendRpcError(res, batch ? 400 : 200, -32602, problem, {}, rpcId);
    if (!this.admit(res, ctx.path, view, ctx.state.identity!, messages)) return;
    if (!this.gateway.isAccepting && messages.some((m) => 'method' in m && 'id' in m)) {
      // Responses and notifications (answers to sampling, cancellations) still go through while draining.
      return sendRpcError(res, 503, -32000, 'The gateway is shutting down. Reconnect shortly.', { 'Retry-After': '5' }, rpcId);
    }
    session.transport.receivePost(res, messages, batch);
  };

  get = async (ctx: Ctx, view: CatalogView): Promise<void> => {
    ctx.respond = false;
    const { req, res } = ctx;
    if (!acceptsAll(req.headers.accept, ['text/event-stream'])) {
      return sendRpcError(res, 406, -32000, 'Not Acceptable: a GET stream needs Accept: text/event-stream.');
    }
    const session = await this.findSession(ctx, view, header(req.headers[SESSION_HEADER]));
    if (!session || !this.versionOk(ctx)) return;
    if (!this.gateway.isAccepting) return sendRpcError(res, 503, -32000, 'The gateway is shutting down.');
    const refused = session.transport.attachGet(res, header(req.headers['last-event-id']));
    if (refused) sendRpcError(res, refused.status, -32000, refused.message);
  };

  delete = async (ctx: Ctx, view: CatalogView): Promise<void> => {
    ctx.respond = false;
    const session = await this.findSession(ctx, view, header(ctx.req.headers[SESSION_HEADER]));
    if (!session || !this.versionOk(ctx)) return;
    await this.gateway.forgetSession(session.id);
    await session.transport.close();
    ctx.res.writeHead(200).end();
  };

  /** The session named by Mcp-Session-Id, opened on this view by this caller; else an error is sent. */
  private async findSession(ctx: Ctx, view: CatalogView, sessionId: string | undefined): Promise<ClientSession | undefined> {
    if (!sessionId) {
      sendRpcError(ctx.res, 400, -32000, 'Bad Request: missing Mcp-Session-Id header. Start a session with initialize.', {}, requestIdOf(ctx.state.body));
      return undefined;
    }
    // A session another instance opened continues here when session state is shared.
    const session = this.gateway.sessions.get(sessionId) ?? (await this.gateway.restoreSession(sessionId, view, ctx.state.identity!));
    // Another caller's session, or one of another endpoint, is reported as unknown (no probing).
    if (!session || session.view !== view || session.transport.mode !== 'streamable' || session.identity.user !== ctx.state.identity?.user) {
      sendRpcError(ctx.res, 404, -32001, 'Session not found: it expired or was closed. Start a new session with initialize.', {}, requestIdOf(ctx.state.body));
      return undefined;
    }
    // The same user may come back with a new token (refresh, step-up): its scopes apply from now on.
    session.updateIdentity(ctx.state.identity!);
    this.gateway.touchSession(session);
    return session;
  }

  /** MCP-Protocol-Version, when sent, must be one this gateway speaks (absent means 2025-03-26). */
  private versionOk(ctx: Ctx): boolean {
    const version = header(ctx.req.headers[VERSION_HEADER]);
    if (version === undefined || SUPPORTED_PROTOCOL_VERSIONS.includes(version)) return true;
    sendRpcError(
      ctx.res,
      400,
      -32000,
      `Bad Request: unsupported MCP-Protocol-Version "${version}" (supported: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}).`,
      {},
      requestIdOf(ctx.state.body),
    );
    return false;
  }
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Messages one JSON-RPC batch may carry, on the revisions that have batches. */
export const MAX_BATCH_MESSAGES = 64;

/**
 * Why a batch is refused: MCP 2025-06-18 removed JSON-RPC batching, so a session on that
 * revision or later may not send one; before it, a batch may carry at most MAX_BATCH_MESSAGES.
 */
function batchRefusal(protocolVersion: string | undefined, size: number): string | undefined {
  if (protocolVersion !== undefined && protocolVersion >= '2025-06-18') {
    return `JSON-RPC batches were removed in MCP 2025-06-18, and this session speaks ${protocolVersion}: send one message per POST.`;
  }
  if (size > MAX_BATCH_MESSAGES) return `A batch may carry at most ${MAX_BATCH_MESSAGES} messages (this one has ${size}): send fewer per POST.`;
  return undefined;
}

/**
 * An initialize request's handshake, or what is wrong with its params in words a client can act
 * on: checked before a session exists, so a malformed initialize opens none.
 */
function initializeHandshake(params: unknown): NonNullable<ClientSession['handshake']> | string {
  if (typeof params !== 'object' || params === null || Array.isArray(params))
    return 'params must be an object with protocolVersion, capabilities and clientInfo';
  const { protocolVersion, capabilities, clientInfo } = params as Record<string, unknown>;
  if (typeof protocolVersion !== 'string' || protocolVersion === '') return 'params.protocolVersion must be a protocol revision such as "2025-11-25"';
  if (typeof capabilities !== 'object' || capabilities === null || Array.isArray(capabilities))
    return 'params.capabilities must be an object (it may be empty)';
  if (typeof clientInfo !== 'object' || clientInfo === null || Array.isArray(clientInfo)) return 'params.clientInfo must be an object with name and version';
  const { name, version } = clientInfo as Record<string, unknown>;
  if (typeof name !== 'string' || name === '') return 'params.clientInfo.name must be a non-empty string';
  if (typeof version !== 'string') return 'params.clientInfo.version must be a string';
  return { protocolVersion, capabilities: capabilities as Record<string, unknown>, clientInfo: clientInfo as { name: string; version: string } };
}
