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
  type Progress,
  type ServerCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import { DomainError, toolFailure } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { decodeCursor, encodeCursor, paginate } from '../catalog/cursor.js';
import type { AccessPolicy } from '../auth/accessPolicy.js';
import { INSUFFICIENT_SCOPE } from '../auth/scopeGate.js';
import { missingScopes } from '../auth/scopePolicy.js';
import type { CatalogView } from '../catalog/upstreamCatalog.js';
import type { ResourceReadHandler } from '../policy/resourceReadPipeline.js';
import type { ToolCallHandler } from '../policy/toolCallPipeline.js';
import { cancellationOf } from '../upstreams/cancellation.js';
import type { UpstreamConnection } from '../upstreams/upstreamConnection.js';
import type { CompositeTools } from '../workflows/workflowRegistry.js';
import type { ClientSession } from './clientSession.js';
import type { ResourceSubscriptions } from './resourceSubscriptions.js';
import { RESOURCE_NOT_FOUND, RpcError, toRpcError } from './rpcError.js';
import { setToolCallHandler, toolResultProblem, type SessionToolCallHandler } from './toolCallHandler.js';

export interface SessionHandlerDeps {
  pageSize: number;
  /** Which scopes tools, prompts and resources need: lists show only what the session may use. */
  access: AccessPolicy;
  separator: string;
  subscriptions: ResourceSubscriptions;
  toolCall: ToolCallHandler;
  onLogLevelChanged: () => void;
  logger: Logger;
  /** resources/read through the policy pipeline (cache, limits, logs); forwarded directly when absent. */
  readResource?: ResourceReadHandler;
  /** Composite tools the gateway lists beside the upstreams' (aggregate view only). */
  composites?: CompositeTools;
  /** The session's log level or subscriptions changed (shared session state). */
  onSessionChanged?: (session: ClientSession) => void;
}

/**
 * The capabilities a session is offered: the union of what its upstreams declared. An
 * upstream that has never initialized is assumed to offer everything, so that a session
 * opened while it starts still sees its tools once it is up (list_changed is always on).
 */
export function unionCapabilities(view: CatalogView): ServerCapabilities {
  let prompts = false;
  let resources = false;
  let subscribe = false;
  let completions = false;
  for (const upstream of view.upstreams()) {
    const caps = upstream.capabilities;
    if (!caps) {
      prompts = resources = subscribe = completions = true;
      continue;
    }
    prompts ||= caps.prompts !== undefined;
    resources ||= caps.resources !== undefined;
    subscribe ||= caps.resources?.subscribe === true;
    completions ||= caps.completions !== undefined;
  }
  return {
    tools: { listChanged: true },
    logging: {},
    ...(prompts ? { prompts: { listChanged: true } } : {}),
    ...(resources ? { resources: { listChanged: true, ...(subscribe ? { subscribe: true } : {}) } } : {}),
    ...(completions ? { completions: {} } : {}),
  };
}

/** Concatenated upstream instructions, each under its namespace. */
export function composeInstructions(view: CatalogView, separator: string): string | undefined {
  const parts = view
    .upstreams()
    .filter((upstream) => upstream.instructions)
    .map((upstream) =>
      view.namespace ? upstream.instructions! : `## ${upstream.namespace} (tools and prompts named "${upstream.namespace}${separator}…")\n${upstream.instructions!}`,
    );
  return parts.length > 0 ? parts.join('\n\n') : undefined;
}

/** What the transport may call directly, past the SDK Server (see answerToolCallsDirectly). */
export interface SessionHandlers {
  callTool: SessionToolCallHandler;
}

/** Install the MCP request handlers of one client session on its SDK Server. */
export function registerSessionHandlers(session: ClientSession, caps: ServerCapabilities, deps: SessionHandlerDeps): SessionHandlers {
  const { server, view } = session;

  const { access } = deps;
  const mayReadNamespace = (namespace: string): boolean => access.allowsNamespace(session.grantedScopes, namespace);

  server.setRequestHandler(ListToolsRequestSchema, (request) => {
    const visible = view.tools().filter((tool) => access.allowsTool(session.grantedScopes, view, tool.name));
    const { page, nextCursor } = paginate(visible, request.params?.cursor, deps.pageSize);
    return nextCursor ? { tools: page, nextCursor } : { tools: page };
  });

  const callTool: SessionToolCallHandler = async (params, extra) => {
    const { name, arguments: args, _meta: meta } = params;
    if (deps.composites?.handles(view, name)) {
      const missing = missingScopes(session.grantedScopes, access.requirementOf(view, 'tools/call', params)?.scopes ?? []);
      if (missing.length > 0) throw new RpcError(INSUFFICIENT_SCOPE, `Forbidden: calling ${name} needs scope ${missing.join(' ')}.`);
      const token = meta?.progressToken;
      return (await deps.composites.call({
        session,
        requestId: extra.requestId,
        exposedName: name,
        arguments: args,
        cancellation: extra.cancellation,
        onprogress: token === undefined ? undefined : (progress) => void extra.sendNotification({ method: 'notifications/progress', params: { ...progress, progressToken: token } }),
      })) as never;
    }
    const target = view.resolveTool(name);
    const withheld = target ? undefined : view.withheldReason?.(name);
    if (withheld) throw new RpcError(ErrorCode.InvalidParams, `Tool "${name}" is withheld: ${withheld}.`);
    if (!target) {
      throw new RpcError(
        ErrorCode.InvalidParams,
        `Unknown tool "${name}".${view.namespace ? '' : ` Gateway tool names are <namespace>${deps.separator}<tool>;`} List them with tools/list.`,
      );
    }
    // Defence in depth: the HTTP layer refuses this with 403 before it gets here.
    if (!access.allowsTool(session.grantedScopes, view, name)) {
      const needed = access.requirementOf(view, 'tools/call', params)?.scopes.join(' ') ?? 'a scope the token lacks';
      throw new RpcError(INSUFFICIENT_SCOPE, `Forbidden: calling ${name} needs scope ${needed}.`);
    }
    const progressToken = meta?.progressToken;
    try {
      const result = await deps.toolCall({
        session,
        requestId: extra.requestId,
        caller: session.caller,
        exposedName: name,
        target,
        arguments: args,
        meta,
        cancellation: extra.cancellation,
        onprogress:
          progressToken === undefined
            ? undefined
            : (progress: Progress) => void extra.sendNotification({ method: 'notifications/progress', params: { ...progress, progressToken } }),
      });
      const malformed = toolResultProblem(result);
      if (malformed) {
        throw new DomainError('internal', `Upstream "${target.upstream.namespace}" answered ${name} with a malformed result: ${malformed}.`, {
          action: "The call may have taken effect; check before retrying, and report the upstream's result to its maintainers.",
        });
      }
      return rewriteContent(result.content === undefined ? { ...result, content: [] } : result, view, target.upstream.namespace);
    } catch (error) {
      if (error instanceof DomainError) return toolFailure(error);
      throw toRpcError(error);
    }
  };
  setToolCallHandler(server, callTool);

  if (caps.prompts) {
    server.setRequestHandler(ListPromptsRequestSchema, (request) => {
      const visible = view.prompts().filter((prompt) => {
        const target = view.resolvePrompt(prompt.name);
        return target !== undefined && mayReadNamespace(target.upstream.namespace);
      });
      // Prompts that lead to composite tools show only to sessions that may call those tools.
      for (const { prompt, tool } of deps.composites?.prompts(view) ?? []) {
        if (access.allowsTool(session.grantedScopes, view, tool)) visible.push(prompt);
      }
      const { page, nextCursor } = paginate(visible, request.params?.cursor, deps.pageSize);
      return nextCursor ? { prompts: page, nextCursor } : { prompts: page };
    });
    server.setRequestHandler(GetPromptRequestSchema, async (request, extra) => {
      let composite;
      try {
        composite = deps.composites?.getPrompt(view, request.params.name, request.params.arguments ?? {});
      } catch (error) {
        throw toRpcError(error);
      }
      if (composite) {
        if (!access.allowsTool(session.grantedScopes, view, composite.tool)) {
          throw new RpcError(INSUFFICIENT_SCOPE, `Forbidden: prompt ${request.params.name} leads to ${composite.tool}, which this token may not call.`);
        }
        return composite.result as never;
      }
      const target = view.resolvePrompt(request.params.name);
      if (!target) throw new RpcError(ErrorCode.InvalidParams, `Unknown prompt "${request.params.name}". List them with prompts/list.`);
      const result = await forwardOrMcpError(target.upstream, 'prompts/get', { ...request.params, name: target.name }, session, extra);
      const messages = result.messages;
      if (Array.isArray(messages) && !view.namespace) {
        result.messages = messages.map((message: { content?: unknown }) => ({
          ...message,
          content: rewriteBlock(message.content, view, target.upstream.namespace),
        }));
      }
      return result as never;
    });
  }

  if (caps.resources) {
    server.setRequestHandler(ListResourcesRequestSchema, async (request, extra) =>
      listResourcesLive(view, request.params?.cursor, session, extra, deps.logger, mayReadNamespace),
    );
    server.setRequestHandler(ListResourceTemplatesRequestSchema, (request) => {
      const visible = view.resourceTemplates().filter((template) => {
        const target = view.resolveUri(template.uriTemplate);
        return target !== undefined && mayReadNamespace(target.upstream.namespace);
      });
      const { page, nextCursor } = paginate(visible, request.params?.cursor, deps.pageSize);
      return nextCursor ? { resourceTemplates: page, nextCursor } : { resourceTemplates: page };
    });
    server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
      const target = resolveUriOrThrow(view, request.params.uri);
      const params = { ...request.params, uri: target.uri };
      const result = deps.readResource
        ? await deps
            .readResource({ session, requestId: extra.requestId, caller: session.caller, upstream: target.upstream, uri: target.uri, exposedUri: request.params.uri, params, cancellation: cancellationOf(extra.signal) })
            .catch((error: unknown) => {
              throw toRpcError(error);
            })
        : await forwardOrMcpError(target.upstream, 'resources/read', params, session, extra);
      if (Array.isArray(result.contents) && !view.namespace) {
        result.contents = result.contents.map((content: { uri?: unknown }) =>
          typeof content.uri === 'string' ? { ...content, uri: view.exposeUri(target.upstream.namespace, content.uri) } : content,
        );
      }
      return result as never;
    });
    if (caps.resources.subscribe) {
      server.setRequestHandler(SubscribeRequestSchema, async (request) => {
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
      const { ref } = request.params;
      if (ref.type === 'ref/prompt') {
        const target = view.resolvePrompt(ref.name);
        if (!target) throw new RpcError(ErrorCode.InvalidParams, `Unknown prompt "${ref.name}".`);
        return (await forwardOrMcpError(target.upstream, 'completion/complete', { ...request.params, ref: { ...ref, name: target.name } }, session, extra)) as never;
      }
      const target = resolveUriOrThrow(view, ref.uri);
      return (await forwardOrMcpError(target.upstream, 'completion/complete', { ...request.params, ref: { ...ref, uri: target.uri } }, session, extra)) as never;
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

async function forwardOrMcpError(
  upstream: UpstreamConnection,
  method: string,
  params: Record<string, unknown>,
  session: ClientSession,
  extra: { signal: AbortSignal; requestId: string | number },
): Promise<Record<string, unknown>> {
  try {
    return await upstream.forward(method, params, { caller: session.caller, session, requestId: extra.requestId }, { cancellation: cancellationOf(extra.signal) });
  } catch (error) {
    throw toRpcError(error);
  }
}

function resolveUriOrThrow(view: CatalogView, uri: string): { upstream: UpstreamConnection; uri: string } {
  const target = view.resolveUri(uri);
  if (!target) {
    throw new RpcError(
      RESOURCE_NOT_FOUND,
      `Resource "${uri}" not found: gateway resource URIs start with "<namespace>+" (for example "pm+project://…"). List them with resources/list.`,
    );
  }
  return target;
}

interface ResourcesCursor extends Record<string, unknown> {
  /** Index of the upstream in the view. */
  u: number;
  /** That upstream's own cursor. */
  c?: string;
}

const isResourcesCursor = (value: Record<string, unknown>): value is ResourcesCursor =>
  typeof value.u === 'number' && Number.isInteger(value.u) && value.u >= 0 && (value.c === undefined || typeof value.c === 'string');

/**
 * resources/list is forwarded live (servers may list resources they never announce with
 * list_changed), one upstream page at a time; the gateway cursor carries the upstream's.
 * An upstream that is down is skipped, and said so in the log.
 */
async function listResourcesLive(
  view: CatalogView,
  cursor: string | undefined,
  session: ClientSession,
  extra: { signal: AbortSignal },
  logger: Logger,
  mayReadNamespace: (namespace: string) => boolean,
): Promise<{ resources: unknown[]; nextCursor?: string }> {
  const upstreams = view.upstreams();
  let position: ResourcesCursor = decodeCursor(cursor, isResourcesCursor) ?? { u: 0 };
  for (;;) {
    const upstream = upstreams[position.u];
    if (!upstream) return { resources: [] };
    const following: ResourcesCursor | undefined = position.u + 1 < upstreams.length ? { u: position.u + 1 } : undefined;
    if (upstream.state !== 'ready' || !upstream.capabilities?.resources || !mayReadNamespace(upstream.namespace)) {
      if (upstream.state !== 'ready') logger.debug({ upstream: upstream.namespace, session: session.id }, 'resources/list skips an upstream that is down');
      if (!following) return { resources: [] };
      position = following;
      continue;
    }
    let result: Record<string, unknown>;
    try {
      result = await upstream.forward('resources/list', position.c ? { cursor: position.c } : {}, undefined, { cancellation: cancellationOf(extra.signal) });
    } catch (error) {
      logger.warn({ err: error, upstream: upstream.namespace }, 'resources/list failed upstream; skipping it');
      if (!following) return { resources: [] };
      position = following;
      continue;
    }
    const items = Array.isArray(result.resources) ? (result.resources as Array<{ uri?: unknown }>) : [];
    const resources = view.namespace
      ? items
      : items.map((item) => (typeof item.uri === 'string' ? { ...item, uri: view.exposeUri(upstream.namespace, item.uri) } : item));
    const next: ResourcesCursor | undefined = typeof result.nextCursor === 'string' ? { u: position.u, c: result.nextCursor } : following;
    if (resources.length > 0 || !next) return next ? { resources, nextCursor: encodeCursor(next) } : { resources };
    position = next;
  }
}

/** Resource links and embedded resources in results carry URIs that must be namespaced too. */
function rewriteContent(result: Record<string, unknown>, view: CatalogView, namespace: string): Record<string, unknown> {
  if (view.namespace || !Array.isArray(result.content)) return result;
  let changed = false;
  const content = (result.content as unknown[]).map((block) => {
    const rewritten = rewriteBlock(block, view, namespace);
    if (rewritten !== block) changed = true;
    return rewritten;
  });
  return changed ? { ...result, content } : result;
}

function rewriteBlock(block: unknown, view: CatalogView, namespace: string): unknown {
  if (typeof block !== 'object' || block === null) return block;
  const typed = block as { type?: unknown; uri?: unknown; resource?: { uri?: unknown } };
  if (typed.type === 'resource_link' && typeof typed.uri === 'string') return { ...typed, uri: view.exposeUri(namespace, typed.uri) };
  if (typed.type === 'resource' && typed.resource && typeof typed.resource.uri === 'string') {
    return { ...typed, resource: { ...typed.resource, uri: view.exposeUri(namespace, typed.resource.uri) } };
  }
  return block;
}
