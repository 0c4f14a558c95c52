import type { ParameterizedContext } from 'koa';
import { ErrorCode, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { ScopeCheck } from '../auth/scopeGate.js';
import type { CatalogView } from '../catalog/upstreamCatalog.js';
import type { ManifoldGateway } from '../session/gatewayCore.js';
import { composeInstructions, unionCapabilities } from '../session/aggregateDescription.js';
import type { MethodRequest } from '../session/mcpMethods.js';
import { parseListenFilter } from '../session/listenStreams.js';
import { ModernRequestClient } from '../session/modernRequestClient.js';
import { RELAYED_EXTENSION_METHODS, relayedExtensionsOf, relayTarget } from '../session/relayedExtensions.js';
import { RpcError, toRpcError } from '../calls/rpcError.js';
import { RATE_LIMITED } from '../session/sessionHandlers.js';
import { toolCallParamsProblem } from '../session/toolCallHandler.js';
import type { GatewayState } from './middlewares.js';
import { toolDefinition } from '../policy/callPolicies.js';
import { paramHeaderMismatch, undeclaredParamHeaders } from '../upstreams/mcpParamHeaders.js';
import { acceptsAll, isJsonContentType } from './mediaTypes.js';
import { ModernExchange, sendModernError } from './modernExchange.js';
import { noteRefusalReason } from './jsonRpcMessages.js';
import {
  CLIENT_CAPABILITIES_KEY,
  CLIENT_INFO_KEY,
  HEADER_MISMATCH,
  LOG_LEVEL_KEY,
  MISSING_CLIENT_CAPABILITY,
  PROTOCOL_VERSION_KEY,
  SERVER_INFO_KEY,
  SUPPORTED_MODERN_REVISIONS,
  type ModernRequest,
} from './modernRequest.js';

type Ctx = ParameterizedContext<GatewayState>;
type Result = Record<string, unknown>;

const ENVELOPE_KEYS = [PROTOCOL_VERSION_KEY, CLIENT_CAPABILITIES_KEY, CLIENT_INFO_KEY, LOG_LEVEL_KEY];

/** Lists the gateway builds from its catalog: stable until a list_changed, which listen streams announce. */
const LIST_TTL_MS = 60_000;
/** resources/list is forwarded live to the upstreams. */
const LIVE_TTL_MS = 0;

export interface ModernRoutesOptions {
  /**
   * Whether answers depend on who asks (OAuth: lists and reads are filtered by the token's
   * scopes). Then every cacheable answer is `private`: a shared cache must not hand one
   * user's view to another (SEP-2549).
   */
  perCaller: boolean;
}

/**
 * The 2026-07-28 front of every MCP endpoint (`/mcp`, `/servers/{ns}/mcp`, `/views/{name}/mcp`):
 * each request is answered on its own, by whichever gateway instance receives it, from the
 * caller's token and the request's `_meta` envelope; nothing is kept between requests but
 * the listen streams a client opens.
 */
export class ModernRoutes {
  constructor(
    private readonly gateway: ManifoldGateway,
    private readonly scopeCheck: ScopeCheck,
    private readonly options: ModernRoutesOptions,
  ) {}

  async handle(ctx: Ctx, view: CatalogView, request: ModernRequest): Promise<void> {
    const { res } = ctx;
    const { id, method } = request;
    if (!isJsonContentType(ctx.req.headers['content-type']))
      return sendModernError(res, 415, id, -32000, 'Unsupported Media Type: send Content-Type: application/json.');
    if (!acceptsAll(ctx.req.headers.accept, ['application/json', 'text/event-stream'])) {
      return sendModernError(res, 406, id, -32000, 'Not Acceptable: send Accept: application/json, text/event-stream.');
    }
    if (!this.gateway.isAccepting)
      return sendModernError(res, 503, id, -32000, 'The gateway is shutting down. Retry shortly.', undefined, { 'Retry-After': '5' });
    const identity = ctx.state.identity!;
    const params = withoutEnvelope(request.params);
    const refusal = this.scopeCheck(ctx.path, view, identity, [{ id, method, params }]);
    if (refusal) return sendModernError(res, refusal.status, id, refusal.code, refusal.message, undefined, refusal.headers);
    // The upstream's own definition of a called tool (composite tools have none): its `Mcp-Param-*` headers.
    const tool = method === 'tools/call' ? calledTool(view, params) : undefined;
    if (tool) {
      const mismatch = paramHeaderMismatch(ctx.req.headers, tool.inputSchema, params.arguments);
      if (mismatch) {
        return sendModernError(res, 400, id, HEADER_MISMATCH, `Bad Request: the request headers and body disagree: ${mismatch.message}.`, {
          mismatch: { header: mismatch.header, body: mismatch.message },
        });
      }
    }
    const problem = paramsProblem(method, params);
    if (problem) return sendModernError(res, 200, id, ErrorCode.InvalidParams, `Invalid ${method} request: ${problem}.`);

    const limiter = this.gateway.requestLimiter;
    if (limiter && method !== 'tools/call') {
      const refusal = await limiter.check(identity.user, method);
      if (refusal) return sendModernError(res, 429, id, RATE_LIMITED, refusal.message, refusal.data, { 'Retry-After': String(refusal.data.retryAfterSeconds) });
    }
    const client = new ModernRequestClient(view, identity, request.clientCapabilities);
    if (method === 'server/discover') return sendModernResult(res, id, this.decorate(view, method, this.discover(client)));
    if (method === 'subscriptions/listen') return this.listen(ctx, client, id, params);
    const relayed = relayTarget(view, method);
    if (RELAYED_EXTENSION_METHODS.has(method) && !relayed) {
      return sendModernError(
        res,
        404,
        id,
        ErrorCode.MethodNotFound,
        `Method not found: ${method} (extension ${RELAYED_EXTENSION_METHODS.get(method)}) is served only at /servers/{namespace}/mcp of an upstream that declares the extension.`,
      );
    }

    const exchange = new ModernExchange(res, id);
    const paramHeaders = method === 'tools/call' ? undeclaredParamHeaders(ctx.req.headers, tool?.inputSchema) : undefined;
    const call: MethodRequest = {
      requestId: id,
      cancellation: exchange.cancellation,
      sendNotification: (n) => exchange.notify(n),
      ...(paramHeaders ? { paramHeaders } : {}),
    };
    const { methods } = this.gateway;
    try {
      let result: Result;
      switch (method) {
        case 'tools/list':
          result = methods.listTools(client, params);
          break;
        case 'tools/call':
          result = await methods.callTool(client, params, call);
          break;
        case 'prompts/list':
          result = methods.listPrompts(client, params);
          break;
        case 'prompts/get':
          result = await methods.getPrompt(client, params, call);
          break;
        case 'resources/list':
          result = await methods.listResources(client, params, call);
          break;
        case 'resources/templates/list':
          result = methods.listResourceTemplates(client, params);
          break;
        case 'resources/read':
          result = await methods.readResource(client, params, call);
          break;
        case 'completion/complete':
          result = await methods.complete(client, params, call);
          break;
        default:
          // An extension method relayed to the view's upstream (relayedExtensions.ts); the ladder refused any other.
          if (!relayed) throw new RpcError(ErrorCode.MethodNotFound, `Method not found: ${method}.`);
          result = await methods.relay(client, relayed, method, params, call);
      }
      exchange.result(this.decorate(view, method, result));
    } catch (error) {
      const { code, message, data } = toRpcError(error);
      // In-band errors travel with HTTP 200, except a missing required client capability
      // (-32021), which SEP-2575 answers with 400 (as the SDK's server does, httpStatusForErrorCode).
      exchange.error(Number.isSafeInteger(code) ? code : ErrorCode.InternalError, message, data, code === MISSING_CLIENT_CAPABILITY ? 400 : 200);
    }
  }

  /** `server/discover`: what this endpoint offers the caller, within its scopes. */
  private discover(client: ModernRequestClient): Result {
    const { view, grantedScopes } = client;
    const readable = view.upstreams().filter((upstream) => this.gateway.access.allowsNamespace(grantedScopes, upstream.namespace));
    const { logging: _logging, ...capabilities } = unionCapabilities(readable);
    // One upstream alone: the extensions the gateway relays to it, as it declared them (relayedExtensions.ts).
    const extensions = view.namespace === undefined ? undefined : relayedExtensionsOf(readable[0]?.capabilities?.extensions);
    const instructions = composeInstructions(view, this.gateway.config.separator, readable);
    return {
      supportedVersions: [...SUPPORTED_MODERN_REVISIONS],
      capabilities: extensions ? { ...capabilities, extensions } : capabilities,
      ...(instructions ? { instructions } : {}),
    };
  }

  private async listen(ctx: Ctx, client: ModernRequestClient, id: string | number, params: Result): Promise<void> {
    const filter = parseListenFilter(params);
    if (typeof filter === 'string') return sendModernError(ctx.res, 200, id, ErrorCode.InvalidParams, `Invalid subscriptions/listen request: ${filter}.`);
    const streams = this.gateway.listenStreams;
    if (streams.isFull) return sendModernError(ctx.res, 200, id, ErrorCode.InternalError, 'Subscription limit reached on this gateway instance. Retry later.');
    const open = streams.openFor(client.caller.user);
    if (open >= streams.perUserCap) {
      noteRefusalReason(ctx.res, 'listen_streams_per_user');
      return sendModernError(
        ctx.res,
        429,
        id,
        -32000,
        `Too many open listen streams: you have ${open} on this gateway instance, the most one user may have (${streams.perUserCap}). Close one you no longer need, then retry.`,
        { cap: 'limits.perUser.listenStreams', open, limit: streams.perUserCap },
        { 'Retry-After': '30' },
      );
    }
    await streams.listen(ctx.res, client, id, filter, unionCapabilities(client.view.upstreams()), serverInfoOf(client.view));
  }

  /** What every 2026 result carries: `resultType`, the server's identity, and cache hints where the revision asks for them. */
  private decorate(view: CatalogView, method: string, result: Result): Result {
    const { resultType, ttlMs: upstreamTtl, cacheScope: upstreamScope, ...rest } = result;
    const meta = { ...(rest._meta as Result | undefined), [SERVER_INFO_KEY]: serverInfoOf(view) };
    // A relayed CreateTaskResult (SEP-2663 `resultType: "task"`) passes on whole: its ttlMs is
    // the task's lifetime, not a cache hint.
    if (resultType === 'task') return { ...result, _meta: meta };
    // An upstream's input_required passes on (its requestState already sealed by the gateway's methods).
    const decorated: Result = { ...rest, resultType: resultType === 'input_required' ? 'input_required' : 'complete', _meta: meta };
    if (resultType === 'input_required') return decorated;
    const hint = this.cacheHint(method, upstreamTtl, upstreamScope);
    return hint ? { ...decorated, ...hint } : decorated;
  }

  private cacheHint(method: string, upstreamTtl: unknown, upstreamScope: unknown): { ttlMs: number; cacheScope: 'public' | 'private' } | undefined {
    const scope = (wanted: unknown): 'public' | 'private' => (this.options.perCaller || wanted !== 'public' ? 'private' : 'public');
    switch (method) {
      case 'server/discover':
      case 'tools/list':
      case 'prompts/list':
      case 'resources/templates/list':
        return { ttlMs: LIST_TTL_MS, cacheScope: scope('public') };
      case 'resources/list':
        return { ttlMs: LIVE_TTL_MS, cacheScope: scope('public') };
      case 'resources/read':
        // An upstream's own hint holds, made private when answers depend on the caller; none means do not cache.
        return {
          ttlMs: typeof upstreamTtl === 'number' && Number.isSafeInteger(upstreamTtl) && upstreamTtl > 0 ? upstreamTtl : 0,
          cacheScope: scope(upstreamScope),
        };
      default:
        // A relayed extension method keeps its upstream's hint (SEP-2640 skills/list and skills/get carry one), made private likewise.
        return RELAYED_EXTENSION_METHODS.has(method) && typeof upstreamTtl === 'number' && Number.isSafeInteger(upstreamTtl) && upstreamTtl >= 0
          ? { ttlMs: upstreamTtl, cacheScope: scope(upstreamScope) }
          : undefined;
    }
  }
}

/**
 * SEP-2243: the `Mcp-Param-*` headers of a tools/call must agree with the arguments the tool
 * marks with `x-mcp-header`, checked against the upstream's own definition of the tool, as last
 * listed (the gateway's composite tools declare none).
 */
function calledTool(view: CatalogView, params: Result): Tool | undefined {
  if (typeof params.name !== 'string') return undefined;
  const target = view.resolveTool(params.name);
  return target ? toolDefinition(target) : undefined;
}

function serverInfoOf(view: CatalogView): { name: string; version: string } {
  return { name: view.namespace ? `manifold-gateway/${view.namespace}` : 'manifold-gateway', version: '0.1.0' };
}

/** The params the gateway's methods see: the client's envelope is about its hop, not the upstream's. */
function withoutEnvelope(params: Result): Result {
  const meta = params._meta as Result | undefined;
  if (!meta) return params;
  const rest: Result = {};
  for (const [key, value] of Object.entries(meta)) if (!ENVELOPE_KEYS.includes(key)) rest[key] = value;
  return { ...params, _meta: rest };
}

/** What is wrong with a method's params, in words a client can act on. */
function paramsProblem(method: string, params: Result): string | undefined {
  switch (method) {
    case 'tools/call':
      return toolCallParamsProblem(params);
    case 'prompts/get':
      return typeof params.name === 'string' ? undefined : 'params.name must be the name of a prompt (as listed by prompts/list)';
    case 'resources/read':
      return typeof params.uri === 'string' ? undefined : 'params.uri must be a resource URI (as listed by resources/list)';
    case 'completion/complete': {
      const ref = params.ref as Result | undefined;
      const argument = params.argument as Result | undefined;
      if (typeof ref !== 'object' || ref === null || (ref.type !== 'ref/prompt' && ref.type !== 'ref/resource'))
        return 'params.ref must be {type: "ref/prompt", name} or {type: "ref/resource", uri}';
      if (typeof argument !== 'object' || argument === null || typeof argument.name !== 'string' || typeof argument.value !== 'string')
        return 'params.argument must be {name, value}';
      return undefined;
    }
    default:
      return params.cursor !== undefined && typeof params.cursor !== 'string' ? 'params.cursor must be the nextCursor of the previous page' : undefined;
  }
}

function sendModernResult(res: Ctx['res'], id: string | number, result: Result): void {
  const body = JSON.stringify({ jsonrpc: '2.0', id, result });
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
