import type { Stream } from 'node:stream';
import { Client as V2Client, StreamableHTTPClientTransport as V2HttpTransport, type ClientCapabilities as V2Capabilities } from '@modelcontextprotocol/client';
import { StdioClientTransport as V2StdioTransport } from '@modelcontextprotocol/client/stdio';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as V1StdioTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as V1HttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { createMcpHandler, InMemoryServerEventBus, InMemoryTransport, type McpServer, type ServerEventBus } from '@modelcontextprotocol/server';
import type {
  CallToolResult,
  CompleteResult,
  CreateMessageRequestParams,
  CreateMessageResult,
  ElicitRequestParams,
  ElicitResult,
  GetPromptResult,
  ListPromptsResult,
  ListResourcesResult,
  ListResourceTemplatesResult,
  ListRootsResult,
  ListToolsResult,
  LoggingLevel,
  ReadResourceResult,
  ServerCapabilities,
} from '@modelcontextprotocol/server';
import type { ServingInstance } from '../../shared/serving/servingInstance.js';
import { childEnv, distEntry } from './processes.js';

/**
 * The clients a Manifold server must serve, one per protocol era:
 * - `2025-11-25 (SDK v1)`: the `initialize` handshake and sessions, as the gateway and most
 *   deployed clients still speak;
 * - `2026-07-28 (SDK v2)`: an SDK v2 client pinned to the current revision (`server/discover`,
 *   the per-request `_meta` envelope, input_required, subscriptions/listen).
 */
export type ClientKind = '2025-11-25 (SDK v1)' | '2026-07-28 (SDK v2)' | '2025-11-25 (SDK v2)';
export const LEGACY_V1: ClientKind = '2025-11-25 (SDK v1)';
export const MODERN_V2: ClientKind = '2026-07-28 (SDK v2)';
export const LEGACY_V2: ClientKind = '2025-11-25 (SDK v2)';
/** Both eras: every server test runs with each. */
export const CLIENT_KINDS: readonly ClientKind[] = [LEGACY_V1, MODERN_V2];

/** Answers the client gives to the server's requests (sampling, elicitation). */
export interface ClientHandlers {
  sampling?: (params: CreateMessageRequestParams) => Promise<CreateMessageResult> | CreateMessageResult;
  elicitation?: (params: ElicitRequestParams) => Promise<ElicitResult> | ElicitResult;
  roots?: () => Promise<ListRootsResult> | ListRootsResult;
}

export interface ConnectOptions {
  capabilities?: V2Capabilities;
  handlers?: ClientHandlers;
  /** HTTP headers sent with every request. */
  headers?: Record<string, string>;
  /** Per-request timeout for calls. */
  timeoutMs?: number;
  /**
   * Every change notification (`notifications/resources/updated`, `…/list_changed`) as it arrives,
   * before `watchResources` keeps only the URIs it asked for: to check what the server sends.
   */
  onNotification?: (method: string, params: Record<string, unknown>) => void;
}

/** Where the server is: built in this process, a child process over stdio, or a URL. */
export type ServerTarget =
  | { kind: 'memory'; createServer: (instance: ServingInstance) => McpServer; changes?: ServerEventBus }
  | {
      kind: 'stdio';
      entry: string;
      env: Record<string, string | undefined>;
      /** Working directory of the child (default: this process's). */
      cwd?: string;
      /** The child's stderr (its JSON log lines), as it comes; stderr is always drained. */
      onStderr?: (text: string) => void;
    }
  | { kind: 'http'; url: string };

type Params = Record<string, unknown>;

/** Per-call options both SDK lines take: progress, and cancellation by aborting. */
export interface CallOptions {
  onprogress?: (progress: { progress: number; total?: number; message?: string }) => void;
  signal?: AbortSignal;
}
type NotificationListener = (params: Params) => void;

/**
 * One client of either era behind the surface tests use; the calls are those of the SDK
 * clients. Lists and reads bypass the 2026 client's response cache: tests assert what the
 * server answers now, and the cache hints themselves are checked on the wire.
 */
export interface EraClient {
  readonly kind: ClientKind;
  readonly era: 'legacy' | 'modern';
  /** `options`: progress notifications of the call (its progressToken is set by the SDK), and cancelling it. */
  callTool(params: { name: string; arguments?: Params; _meta?: Params }, options?: CallOptions): Promise<CallToolResult>;
  listTools(params?: { cursor?: string }): Promise<ListToolsResult>;
  listResources(params?: { cursor?: string }): Promise<ListResourcesResult>;
  listResourceTemplates(params?: { cursor?: string }): Promise<ListResourceTemplatesResult>;
  readResource(params: { uri: string }): Promise<ReadResourceResult>;
  listPrompts(params?: { cursor?: string }): Promise<ListPromptsResult>;
  getPrompt(params: { name: string; arguments?: Record<string, string> }): Promise<GetPromptResult>;
  complete(params: {
    ref: { type: 'ref/prompt'; name: string } | { type: 'ref/resource'; uri: string };
    argument: { name: string; value: string };
    context?: { arguments?: Record<string, string> };
  }): Promise<CompleteResult>;
  /**
   * Hear `notifications/resources/updated` for these URIs: `resources/subscribe` on a 2025
   * connection, a `subscriptions/listen` stream on a 2026 one. Resolves once the server has
   * accepted (the listen acknowledgement, or every subscribe answered); returns the way to stop.
   */
  watchResources(uris: string[], onUpdated: (uri: string) => void): Promise<() => Promise<void>>;
  /** Hear list changes (`resources`, `tools` or `prompts`): unsolicited in 2025, on a listen stream in 2026. */
  watchListChanges(list: 'resources' | 'tools' | 'prompts', onChanged: () => void): Promise<() => Promise<void>>;
  getServerCapabilities(): ServerCapabilities | undefined;
  getServerVersion(): { name: string; version: string } | undefined;
  getInstructions(): string | undefined;
  /**
   * `logging/setLevel`: a 2025-era request. On a 2026-07-28 connection the SDK refuses it locally
   * (the level is opted into per request with `_meta` `io.modelcontextprotocol/logLevel`).
   */
  setLoggingLevel(level: LoggingLevel): Promise<void>;
  close(): Promise<void>;
}

const CLIENT_INFO = { name: 'manifold-test', version: '1.0.0' };
const LIST_NOTIFICATIONS = {
  resources: 'notifications/resources/list_changed',
  tools: 'notifications/tools/list_changed',
  prompts: 'notifications/prompts/list_changed',
} as const;

/** Connect a client of `kind` to `target`. */
export async function connectClient(kind: ClientKind, target: ServerTarget, options: ConnectOptions = {}): Promise<EraClient> {
  return kind === LEGACY_V1 ? connectV1(target, options) : connectV2(kind, target, options);
}

function listenerRegistry(observe?: (method: string, params: Params) => void) {
  const listeners = new Map<string, Set<NotificationListener>>();
  return {
    add(method: string, listener: NotificationListener): () => void {
      const set = listeners.get(method) ?? new Set<NotificationListener>();
      set.add(listener);
      listeners.set(method, set);
      return () => set.delete(listener);
    },
    dispatch(method: string, params: Params | undefined): void {
      observe?.(method, params ?? {});
      for (const listener of listeners.get(method) ?? []) listener(params ?? {});
    },
  };
}

type StdioTarget = Extract<ServerTarget, { kind: 'stdio' }>;

function stdioParameters(target: StdioTarget) {
  return {
    command: process.execPath,
    args: [distEntry(target.entry)],
    env: childEnv(target.env),
    ...(target.cwd === undefined ? {} : { cwd: target.cwd }),
    stderr: 'pipe' as const,
  };
}

/**
 * Read the child's stderr as it comes: a piped stderr nobody reads fills up, and a server whose
 * log writes block stops answering.
 */
function drainStderr<T extends { stderr: Stream | null }>(transport: T, onStderr: ((text: string) => void) | undefined): T {
  transport.stderr?.on('data', (chunk: Buffer) => onStderr?.(chunk.toString('utf8')));
  return transport;
}

/**
 * The SDK's HTTP handler as the 2026 client's fetch, in this process. The handler ends a
 * `subscriptions/listen` stream when its Request's signal aborts, but undici's Request follows the
 * caller's signal only through a weak reference: once the Request is garbage-collected, closing
 * the subscription no longer reaches the handler and the stream keeps delivering. The abort
 * listener below keeps the Request reachable for as long as the caller's signal is.
 */
function inProcessFetch(handler: { fetch(request: Request): Promise<Response> }): (url: string | URL, init?: RequestInit) => Promise<Response> {
  return (url, init) => {
    const request = new Request(url, init);
    init?.signal?.addEventListener('abort', () => request.signal.aborted, { once: true });
    return handler.fetch(request);
  };
}

async function connectV1(target: ServerTarget, options: ConnectOptions): Promise<EraClient> {
  const client = new V1Client(CLIENT_INFO, { capabilities: (options.capabilities ?? {}) as never });
  const notifications = listenerRegistry(options.onNotification);
  const { sampling, elicitation, roots } = options.handlers ?? {};
  if (sampling)
    client.setRequestHandler(CreateMessageRequestSchema, async (request) => (await sampling(request.params as CreateMessageRequestParams)) as never);
  if (elicitation) client.setRequestHandler(ElicitRequestSchema, async (request) => (await elicitation(request.params as ElicitRequestParams)) as never);
  if (roots) client.setRequestHandler(ListRootsRequestSchema, async () => (await roots()) as never);
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => notifications.dispatch(n.method, n.params));
  client.setNotificationHandler(ResourceListChangedNotificationSchema, (n) => notifications.dispatch(n.method, n.params));
  client.setNotificationHandler(ToolListChangedNotificationSchema, (n) => notifications.dispatch(n.method, n.params));
  client.setNotificationHandler(PromptListChangedNotificationSchema, (n) => notifications.dispatch(n.method, n.params));

  let closeTarget: () => Promise<void> = async () => undefined;
  if (target.kind === 'memory') {
    const [clientEnd, serverEnd] = InMemoryTransport.createLinkedPair();
    const server = target.createServer({ era: 'legacy', changes: 'subscribed' });
    await server.connect(serverEnd);
    await client.connect(clientEnd as never);
    closeTarget = () => server.close();
  } else if (target.kind === 'stdio') {
    await client.connect(drainStderr(new V1StdioTransport(stdioParameters(target)), target.onStderr));
  } else {
    await client.connect(new V1HttpTransport(new URL(target.url), { requestInit: { headers: options.headers ?? {} } }));
  }
  const timeout = options.timeoutMs === undefined ? undefined : { timeout: options.timeoutMs };
  return {
    kind: LEGACY_V1,
    era: 'legacy',
    callTool: async (params, call) => (await client.callTool(params, undefined, { ...timeout, ...call })) as CallToolResult,
    listTools: async (params) => (await client.listTools(params)) as ListToolsResult,
    listResources: async (params) => (await client.listResources(params)) as ListResourcesResult,
    listResourceTemplates: async (params) => (await client.listResourceTemplates(params)) as ListResourceTemplatesResult,
    readResource: async (params) => (await client.readResource(params)) as ReadResourceResult,
    listPrompts: async (params) => (await client.listPrompts(params)) as ListPromptsResult,
    getPrompt: async (params) => (await client.getPrompt(params)) as GetPromptResult,
    complete: async (params) => (await client.complete(params)) as CompleteResult,
    watchResources: async (uris, onUpdated) => {
      const stop = notifications.add('notifications/resources/updated', (params) => {
        if (typeof params.uri === 'string' && uris.includes(params.uri)) onUpdated(params.uri);
      });
      for (const uri of uris) await client.subscribeResource({ uri });
      return async () => {
        stop();
        for (const uri of uris) await client.unsubscribeResource({ uri }).catch(() => undefined);
      };
    },
    watchListChanges: async (list, onChanged) => {
      const stop = notifications.add(LIST_NOTIFICATIONS[list], () => onChanged());
      return async () => {
        stop();
      };
    },
    getServerCapabilities: () => client.getServerCapabilities() as ServerCapabilities | undefined,
    getServerVersion: () => client.getServerVersion(),
    getInstructions: () => client.getInstructions(),
    setLoggingLevel: async (level) => {
      await client.setLoggingLevel(level);
    },
    close: async () => {
      await client.close();
      await closeTarget();
    },
  };
}

async function connectV2(kind: ClientKind, target: ServerTarget, options: ConnectOptions): Promise<EraClient> {
  const modern = kind === MODERN_V2;
  const client = new V2Client(CLIENT_INFO, {
    capabilities: options.capabilities ?? {},
    ...(modern ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {}),
  });
  const notifications = listenerRegistry(options.onNotification);
  const { sampling, elicitation, roots } = options.handlers ?? {};
  if (sampling) client.setRequestHandler('sampling/createMessage', async (request) => (await sampling(request.params)) as never);
  if (elicitation) client.setRequestHandler('elicitation/create', async (request) => (await elicitation(request.params)) as never);
  if (roots) client.setRequestHandler('roots/list', async () => (await roots()) as never);
  for (const method of ['notifications/resources/updated', ...Object.values(LIST_NOTIFICATIONS)] as const) {
    client.setNotificationHandler(method, (n) => notifications.dispatch(n.method, n.params as Params | undefined));
  }

  let closeTarget: () => Promise<void> = async () => undefined;
  if (target.kind === 'memory' && modern) {
    // No in-memory transport serves 2026-07-28: the SDK's HTTP handler answers the client's fetches in-process.
    const handler = createMcpHandler(() => target.createServer({ era: 'modern', changes: 'none' }), {
      legacy: 'reject',
      bus: target.changes ?? new InMemoryServerEventBus(),
    });
    await client.connect(new V2HttpTransport(new URL('http://in-process.test/mcp'), { fetch: inProcessFetch(handler) }));
    closeTarget = () => handler.close();
  } else if (target.kind === 'memory') {
    const [clientEnd, serverEnd] = InMemoryTransport.createLinkedPair();
    const server = target.createServer({ era: 'legacy', changes: 'subscribed' });
    await server.connect(serverEnd);
    await client.connect(clientEnd);
    closeTarget = () => server.close();
  } else if (target.kind === 'stdio') {
    await client.connect(drainStderr(new V2StdioTransport(stdioParameters(target)), target.onStderr));
  } else {
    await client.connect(new V2HttpTransport(new URL(target.url), { requestInit: { headers: options.headers ?? {} } }));
  }
  if (modern && client.getProtocolEra() !== 'modern') throw new Error(`expected a 2026-07-28 connection, got ${client.getProtocolEra() ?? 'none'}`);
  const requestOptions = { cacheMode: 'bypass' as const, ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }) };

  return {
    kind,
    era: modern ? 'modern' : 'legacy',
    callTool: (params, call) => client.callTool(params, { ...requestOptions, ...call }),
    listTools: (params) => client.listTools(params, requestOptions),
    listResources: (params) => client.listResources(params, requestOptions),
    listResourceTemplates: (params) => client.listResourceTemplates(params, requestOptions),
    readResource: (params) => client.readResource(params, requestOptions),
    listPrompts: (params) => client.listPrompts(params, requestOptions),
    getPrompt: (params) => client.getPrompt(params, requestOptions),
    complete: (params) => client.complete(params, requestOptions),
    watchResources: async (uris, onUpdated) => {
      const stop = notifications.add('notifications/resources/updated', (params) => {
        if (typeof params.uri === 'string' && uris.includes(params.uri)) onUpdated(params.uri);
      });
      if (!modern) {
        for (const uri of uris) await client.subscribeResource({ uri });
        return async () => {
          stop();
          for (const uri of uris) await client.unsubscribeResource({ uri }).catch(() => undefined);
        };
      }
      const subscription = await client.listen({ resourceSubscriptions: uris });
      return async () => {
        stop();
        await subscription.close();
      };
    },
    watchListChanges: async (list, onChanged) => {
      const stop = notifications.add(LIST_NOTIFICATIONS[list], () => onChanged());
      if (!modern) {
        return async () => {
          stop();
        };
      }
      const filter = list === 'resources' ? { resourcesListChanged: true } : list === 'tools' ? { toolsListChanged: true } : { promptsListChanged: true };
      const subscription = await client.listen(filter);
      return async () => {
        stop();
        await subscription.close();
      };
    },
    getServerCapabilities: () => client.getServerCapabilities(),
    getServerVersion: () => client.getServerVersion(),
    getInstructions: () => client.getInstructions(),
    setLoggingLevel: async (level) => {
      await client.setLoggingLevel(level);
    },
    close: async () => {
      await client.close();
      await closeTarget();
    },
  };
}
