import {
  CompleteRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type ServerCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import { cancellationOf } from '../upstreams/cancellation.js';
import type { ClientSession } from './clientSession.js';
import { resolveUriOrThrow } from './aggregatedResources.js';
import type { McpMethods, MethodRequest } from './mcpMethods.js';
import type { ResourceSubscriptions } from './resourceSubscriptions.js';
import { RpcError, toRpcError } from '../calls/rpcError.js';
import { setToolCallHandler, type SessionToolCallHandler } from './toolCallHandler.js';
import type { RequestLimiter } from '../policy/requestLimiter.js';

export interface SessionHandlerDeps {
  methods: McpMethods;
  subscriptions: ResourceSubscriptions;
  onLogLevelChanged: () => void;
  /** The session's log level or subscriptions changed (shared session state). */
  onSessionChanged?: (session: ClientSession) => void;
  /** Rate limits on requests other than tools/call (policy/requestLimiter.ts); none when absent. */
  requestLimiter?: RequestLimiter | undefined;
}

/** What the transport may call directly, past the SDK Server (see answerToolCallsDirectly). */
export interface SessionHandlers {
  callTool: SessionToolCallHandler;
}

/** The JSON-RPC error of a request refused by a rate limit: a server error whose `data` says which limit and when to retry. */
export const RATE_LIMITED = -32000;

const MODERN_RESULT_FIELDS = ['resultType', 'ttlMs', 'cacheScope'];
const SERVER_INFO_KEY = 'io.modelcontextprotocol/serverInfo';

/**
 * A result as a 2025 client expects it: an upstream on 2026-07-28 adds `resultType`, cache
 * hints and its identity in `_meta`, which mean nothing on this connection.
 */
export function asLegacyResult<R extends Record<string, unknown>>(result: R): R {
  const meta = result._meta as Record<string, unknown> | undefined;
  if (!MODERN_RESULT_FIELDS.some((field) => field in result) && !(meta && SERVER_INFO_KEY in meta)) return result;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(result)) if (!MODERN_RESULT_FIELDS.includes(key)) out[key] = value;
  if (meta && SERVER_INFO_KEY in meta) {
    const { [SERVER_INFO_KEY]: _identity, ...rest } = meta;
    if (Object.keys(rest).length > 0) out._meta = rest;
    else delete out._meta;
  }
  return out as R;
}

/** A request the SDK `Server` dispatched, as the gateway's methods take it. */
function methodRequest(extra: { requestId: string | number; signal: AbortSignal; sendNotification: MethodRequest['sendNotification'] }): MethodRequest {
  return { requestId: extra.requestId, cancellation: cancellationOf(extra.signal), sendNotification: extra.sendNotification };
}

/**
 * Install the MCP request handlers of one 2025-era client session on its SDK Server: the
 * gateway's methods (mcpMethods.ts), and what only a session has: resource subscriptions and
 * its log level.
 */
export function registerSessionHandlers(session: ClientSession, caps: ServerCapabilities, deps: SessionHandlerDeps): SessionHandlers {
  const { server, view } = session;
  const { methods, requestLimiter } = deps;
  /** Count a request against the caller's rate limits; refused, it fails with the limit and when to retry. */
  const limited = async (method: string): Promise<void> => {
    const refusal = await requestLimiter?.check(session.caller.user, method);
    if (refusal) throw new RpcError(RATE_LIMITED, refusal.message, refusal.data);
  };

  server.setRequestHandler(ListToolsRequestSchema, async (request) => {
    await limited('tools/list');
    return methods.listTools(session, request.params) as never;
  });
  const callTool: SessionToolCallHandler = async (params, extra) =>
    asLegacyResult(
      await methods.callTool(session, params, {
        requestId: extra.requestId,
        cancellation: extra.cancellation,
        sendNotification: (n) => extra.sendNotification(n as never),
      }),
    );
  setToolCallHandler(server, callTool);

  if (caps.prompts) {
    server.setRequestHandler(ListPromptsRequestSchema, async (request) => {
      await limited('prompts/list');
      return methods.listPrompts(session, request.params) as never;
    });
    server.setRequestHandler(GetPromptRequestSchema, async (request, extra) => {
      await limited('prompts/get');
      return asLegacyResult(await methods.getPrompt(session, request.params, methodRequest(extra as never))) as never;
    });
  }

  if (caps.resources) {
    server.setRequestHandler(ListResourcesRequestSchema, async (request, extra) => {
      await limited('resources/list');
      return asLegacyResult(await methods.listResources(session, request.params, methodRequest(extra as never))) as never;
    });
    server.setRequestHandler(ListResourceTemplatesRequestSchema, async (request) => {
      await limited('resources/templates/list');
      return methods.listResourceTemplates(session, request.params) as never;
    });
    server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
      await limited('resources/read');
      return asLegacyResult(await methods.readResource(session, request.params, methodRequest(extra as never))) as never;
    });
    if (caps.resources.subscribe) {
      server.setRequestHandler(SubscribeRequestSchema, async (request) => {
        await limited('resources/subscribe');
        const target = resolveUriOrThrow(view, request.params.uri);
        if (!target.upstream.capabilities?.resources?.subscribe) {
          throw new RpcError(ErrorCode.MethodNotFound, `Upstream "${target.upstream.namespace}" does not support resource subscriptions.`);
        }
        try {
          await deps.subscriptions.subscribe(session, target.upstream, target.uri, request.params.uri);
          session.subscribedUris.add(request.params.uri);
          deps.onSessionChanged?.(session);
        } catch (error) {
          throw toRpcError(error);
        }
        return {};
      });
      server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
        const target = resolveUriOrThrow(view, request.params.uri);
        await deps.subscriptions.unsubscribe(session, target.upstream.namespace, target.uri);
        session.subscribedUris.delete(request.params.uri);
        deps.onSessionChanged?.(session);
        return {};
      });
    }
  }

  if (caps.completions) {
    server.setRequestHandler(CompleteRequestSchema, async (request, extra) => {
      await limited('completion/complete');
      return asLegacyResult(await methods.complete(session, request.params, methodRequest(extra as never))) as never;
    });
  }

  server.setRequestHandler(SetLevelRequestSchema, (request) => {
    session.logLevel = request.params.level;
    deps.onLogLevelChanged();
    deps.onSessionChanged?.(session);
    return {};
  });
  return { callTool };
}
