import { Client, type ClientCapabilities } from '@modelcontextprotocol/client';
import {
  ErrorCode,
  McpError,
  type Implementation,
  type LoggingLevel,
  type LoggingMessageNotification,
  type Progress,
  type Prompt,
  type ResourceTemplate,
  type ServerCapabilities,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { DomainError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { PassThroughResult } from '../../shared/jsonRpcDispatch.js';
import { RestartBackoff } from './backoff.js';
import { askableCapabilities, forwardedMeta, mayBeAsked } from './callMeta.js';
import type { Cancellation } from './cancellation.js';
import { ChildProcessTransport } from './childProcessTransport.js';
import { pipeChildStderr } from './childStderrLog.js';
import type { ClientCredentialsToken } from './clientCredentials.js';
import { ConcurrencyLimit } from './concurrencyLimit.js';
import { ForwardedRequests } from './forwardedRequests.js';
import { IsolatedWorkers, workerConfig, workerListener } from './isolatedWorkers.js';
import { paramHeadersFor } from './mcpParamHeaders.js';
import { ModernSubscriptions } from './modernSubscriptions.js';
import { routeServerRequest, type ServerRequest } from './serverRequestRouting.js';
import { StreamOwners } from './streamAttribution.js';
import type { CallOrigin, InFlightCall, ListKind, UpstreamListener, UpstreamStateName } from './types.js';
import { listAll, ToolFilter } from './upstreamLists.js';
import type { UpstreamConfig } from './upstreamSettings.js';
import { createUpstreamTransport, UpstreamStartError } from './upstreamTransports.js';
import type { Transport } from '@modelcontextprotocol/client';
import type { UserCallLimit } from './userCallLimit.js';

export { askableCapabilities } from './callMeta.js';

const GATEWAY_CLIENT_INFO: Implementation = { name: 'manifold-gateway', version: '0.1.0' };
/** What the gateway can be asked for by an upstream: it passes each request on to the client whose call caused it. */
const GATEWAY_CAPABILITIES: ClientCapabilities = { sampling: {}, elicitation: { form: {}, url: {} }, roots: { listChanged: true } };
const MODERN_REVISION = '2026-07-28';

/** What a connection is built with besides its settings. */
export interface UpstreamConnectionOptions {
  /** Extra environment for a stdio child (tracing variables while the gateway traces). */
  childEnv?: Readonly<Record<string, string>>;
  /** For a pooled connection (isolatedWorkers.ts): the upstream's shared connection. */
  parent?: UpstreamConnection;
}

export interface ForwardOptions {
  cancellation?: Cancellation | undefined;
  onprogress?: ((progress: Progress) => void) | undefined;
  /** Override of the configured call timeout (lists and health use shorter ones). */
  timeoutMs?: number;
  /** A tools/call's `Mcp-Param-*` headers its tool does not declare, as the client sent them (passed on to a 2026 HTTP upstream). */
  paramHeaders?: Readonly<Record<string, string>> | undefined;
}

export interface UpstreamStatus {
  namespace: string;
  state: UpstreamStateName;
  /** The protocol revision negotiated with it (undefined until it is up). */
  protocolVersion?: string | undefined;
  required: boolean;
  transport: 'stdio' | 'remote';
  pid?: number | undefined;
  serverInfo?: Implementation | undefined;
  lastError?: string | undefined;
  nextRestartInMs?: number | undefined;
  restarts: number;
  inFlight: number;
  /** `isolation: "per-user"`: connections of users' own open now (their calls are not in inFlight). */
  isolatedConnections?: number;
  queued: number;
  tools: number;
  prompts: number;
  resourceTemplates: number;
}

let nextCallId = 0;

/**
 * One upstream MCP server and the single SDK `Client` every client session shares. Stdio
 * children are supervised: started, initialized, pinged, and restarted with backoff when
 * they exit or stop answering; remote servers are reconnected the same way.
 */
export class UpstreamConnection {
  readonly namespace: string;
  state: UpstreamStateName = 'starting';
  lastError: string | undefined;
  restarts = 0;
  capabilities: ServerCapabilities | undefined;
  serverInfo: Implementation | undefined;
  instructions: string | undefined;
  /** Allowed tools with their upstream names, as last listed. */
  tools: Tool[] = [];
  prompts: Prompt[] = [];
  resourceTemplates: ResourceTemplate[] = [];
  readonly inFlight = new Map<string, InFlightCall>();

  /**
   * The revision this connection speaks: `modern` (2026-07-28: every request carries the
   * `_meta` envelope; changes arrive on a listen stream) or `legacy` (2025 and earlier).
   */
  era: 'modern' | 'legacy' | undefined;
  private protocolVersion: string | undefined;
  private client: Client | undefined;
  /** On a 2026 connection: the listen streams that bring list changes and resource updates. */
  private modernSubscriptions: ModernSubscriptions | undefined;
  /** The probe ended the child once: it is a 2025 server that exits on unknown requests before initialize. */
  private probeEndsChild = false;
  /** Calls forwarded on the current connection (the client's own requests are its business). */
  private requests: ForwardedRequests | undefined;
  private transport: Transport | undefined;
  private readySince = 0;
  private pingTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private upstreamLogLevel: LoggingLevel | undefined;
  private wantedLogLevel: LoggingLevel | undefined;
  private readonly backoff: RestartBackoff;
  private readonly limit: ConcurrencyLimit;
  private readonly log: Logger;
  private readonly toolFilter: ToolFilter;
  /** The last failure was a missed ping (the child hung), not an exit. */
  private hung = false;
  private firstAttempt: Promise<void> | undefined;
  /** `isolation` `per-user` or `auto`: the pooled connections calls of clients that can be asked run on. */
  private readonly workers: IsolatedWorkers<UpstreamConnection> | undefined;
  /** Seen echoing the gateway's `_meta` in a request it sent mid-call (since it last connected): its requests can be attributed exactly. */
  private echoesCallMeta = false;
  /** Calls in flight here whose client can be asked something mid-call. */
  private askableInFlight = 0;
  /** Calls each user has in flight over every upstream of the gateway (set by the gateway; not on pooled connections). */
  userCalls: UserCallLimit | undefined;
  /** A remote 2025 upstream's mid-call requests, by the forwarded call whose POST stream brought them. */
  private readonly streamOwners = new StreamOwners();
  private nextRestartAt = 0;

  private readonly parent: UpstreamConnection | undefined;
  private readonly childEnv: Readonly<Record<string, string>>;

  constructor(
    readonly config: UpstreamConfig,
    logger: Logger,
    private readonly listener: UpstreamListener,
    options: UpstreamConnectionOptions = {},
  ) {
    this.namespace = config.namespace;
    this.parent = options.parent;
    this.childEnv = options.childEnv ?? {};
    this.log = logger.child({ upstream: config.namespace });
    this.backoff = new RestartBackoff(config.restart);
    this.limit = new ConcurrencyLimit(config.maxConcurrency, config.maxQueue);
    this.toolFilter = new ToolFilter(config.tools);
    if (config.isolation !== 'shared' && !this.parent) {
      const pooled = () => new UpstreamConnection(workerConfig(config), logger, workerListener(listener), { childEnv: this.childEnv, parent: this });
      this.workers = new IsolatedWorkers(config.namespace, config.isolationPool, pooled, this.log);
    }
  }

  /** Begin supervision; resolves when the first attempt has succeeded or failed. */
  start(): Promise<void> {
    this.firstAttempt ??= this.attempt();
    return this.firstAttempt;
  }

  status(): UpstreamStatus {
    return {
      namespace: this.namespace,
      state: this.state,
      protocolVersion: this.protocolVersion,
      required: this.config.required,
      transport: this.config.stdio ? 'stdio' : 'remote',
      pid: this.transport instanceof ChildProcessTransport ? this.transport.pid : undefined,
      serverInfo: this.serverInfo,
      lastError: this.lastError,
      nextRestartInMs: this.state === 'restarting' && this.nextRestartAt > 0 ? Math.max(0, this.nextRestartAt - Date.now()) : undefined,
      restarts: this.restarts,
      inFlight: this.inFlight.size,
      ...(this.workers ? { isolatedConnections: this.workers.size } : {}),
      queued: this.limit.queued,
      tools: this.tools.length,
      prompts: this.prompts.length,
      resourceTemplates: this.resourceTemplates.length,
    };
  }

  isToolAllowed(name: string): boolean {
    return this.toolFilter.allows(name);
  }

  /**
   * Forward one request. With an `origin`, the caller's identity and the call id travel in
   * `_meta` (shared/relatedRequestMeta.ts) and the call is tracked so that requests the
   * upstream sends back during it reach the right session.
   */
  async forward(
    method: string,
    params: Record<string, unknown> | undefined,
    origin: CallOrigin | undefined,
    options: ForwardOptions = {},
  ): Promise<Record<string, unknown>> {
    const limit = this.userCalls;
    if (!limit || !origin) return this.forwardNow(method, params, origin, options);
    const user = origin.caller.user;
    const refusal = limit.enter(user);
    if (refusal) throw refusal;
    try {
      return await this.forwardNow(method, params, origin, options);
    } finally {
      limit.leave(user);
    }
  }

  private async forwardNow(
    method: string,
    params: Record<string, unknown> | undefined,
    origin: CallOrigin | undefined,
    options: ForwardOptions,
  ): Promise<Record<string, unknown>> {
    // Only an upstream with pooled connections needs to know (isolates): not worked out on every call.
    const askable = this.workers !== undefined && origin !== undefined && mayBeAsked(origin.session.clientCapabilities());
    if (this.workers && origin && this.isolates(askable)) return this.forwardIsolated(this.workers, method, params, origin, options);
    const client = this.client;
    const requests = this.requests;
    if (this.state !== 'ready' || !client || !requests) throw this.unavailableError();
    if (!this.limit.tryAcquire()) {
      await this.limit.acquire(
        () =>
          new DomainError('rate_limited', `Upstream "${this.namespace}" is at its concurrency limit (${this.config.maxConcurrency} calls) and its queue is full.`, {
            action: 'Retry in a few seconds.',
          }),
        options.cancellation,
      );
      if (this.state !== 'ready' || this.client !== client) {
        this.release();
        throw this.unavailableError();
      }
    }
    let call: InFlightCall | undefined;
    let forwardedParams = params;
    if (origin) {
      call = { id: `c${(++nextCallId).toString(36)}`, origin, method, ...(askable ? { askable } : {}) };
      this.inFlight.set(call.id, call);
      if (askable) this.askableInFlight++;
      forwardedParams = { ...params, _meta: forwardedMeta(params?._meta, origin, call.id) };
    } else if (params?._meta !== undefined) {
      forwardedParams = { ...params, _meta: forwardedMeta(params._meta, undefined, undefined) };
    }
    if (this.era === 'modern') {
      // MCP 2026-07-28: every request says which revision it speaks and what its client can be asked for.
      const capabilities = origin ? askableCapabilities(origin.session.clientCapabilities()) : {};
      const extensions = origin?.session.relayedClientExtensions?.();
      if (extensions) capabilities.extensions = extensions;
      forwardedParams = { ...forwardedParams, _meta: { ...(forwardedParams?._meta as Record<string, unknown> | undefined), ...this.envelope(capabilities, origin?.session.logLevel) } };
    }
    const timeout = options.timeoutMs ?? this.config.callTimeoutMs;
    const headers = method === 'tools/call' && this.era === 'modern' && this.config.remote ? this.paramHeaders(params, options.paramHeaders) : undefined;
    try {
      return await requests.request(method, forwardedParams, {
        cancellation: options.cancellation,
        onprogress: options.onprogress,
        timeoutMs: timeout,
        maxTotalTimeoutMs: Math.max(timeout, this.config.maxCallDurationMs),
        headers,
        ...(call ? { onId: (id: number) => (call.forwardedId = id) } : {}),
      });
    } catch (error) {
      throw this.describeCallFailure(error, method, timeout, client);
    } finally {
      if (call) {
        this.inFlight.delete(call.id);
        if (call.askable) this.askableInFlight--;
      }
      this.release();
    }
  }

  /**
   * Whether a call runs on a pooled connection of its user's (isolatedWorkers.ts). `per-user`:
   * every call of a client that can be asked. `auto`, for a 2025-era upstream not seen echoing
   * `_meta`: whenever the shared connection could no longer tell whose a request is — an
   * askable call while anything is in flight there, any call while an askable one is.
   */
  private isolates(askable: boolean): boolean {
    if (this.config.isolation === 'per-user') return askable;
    if (this.era !== 'legacy' || this.echoesCallMeta) return false;
    return askable ? this.inFlight.size > 0 : this.askableInFlight > 0;
  }

  /** A call on a connection of the caller's own (isolatedWorkers.ts). */
  private async forwardIsolated(
    workers: IsolatedWorkers<UpstreamConnection>,
    method: string,
    params: Record<string, unknown> | undefined,
    origin: CallOrigin,
    options: ForwardOptions,
  ): Promise<Record<string, unknown>> {
    if (this.state !== 'ready') throw this.unavailableError();
    const lease = await workers.acquire(origin.caller.user, options.timeoutMs ?? this.config.callTimeoutMs, options.cancellation);
    try {
      return await lease.connection.forward(method, params, origin, options);
    } finally {
      lease.release();
    }
  }

  private release(): void {
    this.limit.release();
  }

  /**
   * The `Mcp-Param-*` headers of a tools/call to this (2026-07-28, Streamable HTTP) upstream:
   * those its tool declares, made from the arguments (SEP-2243), and those the client sent that
   * the tool does not declare, passed on as they came.
   */
  private paramHeaders(params: Record<string, unknown> | undefined, undeclared: Readonly<Record<string, string>> | undefined): Record<string, string> | undefined {
    const tool = typeof params?.name === 'string' ? this.tools.find((candidate) => candidate.name === params.name) : undefined;
    const declared = tool ? paramHeadersFor(tool.inputSchema, params?.arguments) : undefined;
    return declared || undeclared ? { ...undeclared, ...declared } : undefined;
  }

  /**
   * The `_meta` envelope of a 2026-07-28 request from the gateway. 2026-07-28 has no
   * logging/setLevel: a request asks for its own log messages with `logLevel` (SEP-2575), so a
   * call made for a 2025 session that asked the gateway for logs (logging/setLevel) asks for
   * that level, and the messages reach the sessions that want them as a 2025 upstream's do.
   */
  private envelope(clientCapabilities: Record<string, unknown>, logLevel: string | undefined): Record<string, unknown> {
    return {
      'io.modelcontextprotocol/protocolVersion': this.protocolVersion ?? MODERN_REVISION,
      'io.modelcontextprotocol/clientCapabilities': clientCapabilities,
      'io.modelcontextprotocol/clientInfo': GATEWAY_CLIENT_INFO,
      ...(logLevel && this.capabilities?.logging ? { 'io.modelcontextprotocol/logLevel': logLevel } : {}),
    };
  }

  /**
   * Hear of `uri`'s changes: `resources/subscribe` on a 2025 connection; on a 2026 one the URI
   * joins the connection's listen stream for resources.
   */
  async subscribeResource(uri: string): Promise<void> {
    if (this.era === 'modern') {
      await this.modernSubscriptions?.addResource(uri);
      return;
    }
    await this.forward('resources/subscribe', { uri }, undefined);
  }

  async unsubscribeResource(uri: string): Promise<void> {
    if (this.era === 'modern') {
      await this.modernSubscriptions?.removeResource(uri);
      return;
    }
    await this.forward('resources/unsubscribe', { uri }, undefined);
  }

  private describeCallFailure(error: unknown, method: string, timeoutMs: number, client: Client): Error {
    if (!(error instanceof McpError)) return error instanceof Error ? error : new Error(String(error));
    if (error.code === ErrorCode.ConnectionClosed && (this.client !== client || this.state !== 'ready')) {
      return new DomainError(
        'unavailable',
        `Upstream "${this.namespace}" stopped while handling this ${method} request (${this.lastError ?? 'connection closed'}); the outcome is unknown.`,
        { action: 'It is being restarted; check the current state before retrying a change, then retry.' },
      );
    }
    if (error.code === ErrorCode.RequestTimeout) {
      return new DomainError(
        'unavailable',
        `Upstream "${this.namespace}" did not answer this ${method} request within ${Math.round(timeoutMs / 100) / 10} s.`,
        { action: 'The request was cancelled upstream. Retry later, or with a smaller request.' },
      );
    }
    return error;
  }

  private unavailableError(): DomainError {
    let why = this.state === 'stopped' ? 'the gateway is shutting down' : (this.lastError ?? 'it is starting');
    if (this.state === 'restarting' && this.nextRestartAt > 0) {
      why += `; restart attempt ${this.backoff.attempts} in ${Math.max(0, this.nextRestartAt - Date.now())} ms`;
    }
    return new DomainError('unavailable', `Upstream "${this.namespace}" is unavailable: ${why}.`, {
      action: this.state === 'stopped' ? 'Reconnect later.' : 'It is being restarted automatically; retry shortly. Other namespaces are unaffected.',
    });
  }

  /** The lowest level any session wants; the upstream is asked to send that and above. */
  setWantedLogLevel(level: LoggingLevel | undefined): void {
    this.wantedLogLevel = level;
    void this.applyLogLevel();
  }

  private async applyLogLevel(): Promise<void> {
    const client = this.client;
    const level = this.wantedLogLevel;
    // 2026-07-28 has no logging/setLevel: a request asks for its own log messages.
    if (!client || this.era !== 'legacy' || this.state !== 'ready' || !level || !this.capabilities?.logging || level === this.upstreamLogLevel) return;
    this.upstreamLogLevel = level;
    try {
      await client.setLoggingLevel(level, { timeout: this.config.health.pingTimeoutMs });
    } catch (error) {
      this.log.warn({ err: error }, 'logging/setLevel failed upstream');
    }
  }

  // --- supervision -------------------------------------------------------------------------

  private async attempt(): Promise<void> {
    if (this.stopping) return;
    this.setState(this.restarts === 0 && this.state === 'starting' ? 'starting' : 'restarting');
    try {
      await this.connect();
    } catch (error) {
      this.lastError = this.describeStartFailure(error);
      this.log.error({ err: error }, `failed to start: ${this.lastError}`);
      await this.discardConnection();
      this.scheduleRestart();
    }
  }

  private describeStartFailure(error: unknown): string {
    const exit = this.transport instanceof ChildProcessTransport ? this.transport.exit : undefined;
    const stdio = this.config.stdio;
    const launched = stdio ? `"${[stdio.command, ...stdio.args].join(' ')}" in ${stdio.cwd ?? '.'}` : this.config.remote?.url;
    const message = error instanceof Error ? error.message : String(error);
    if (exit) return `the child ${launched} exited during startup (${describeExit(exit)}); see its log lines above`;
    if (error instanceof UpstreamStartError) return error.code === 'entry_missing' ? `cannot start ${launched}: ${message}` : message;
    if (isSystemError(error) && error.code === 'ENOENT') return `cannot run ${launched}: command not found`;
    return `${launched} failed to initialize: ${message}`;
  }

  private async connect(): Promise<void> {
    // A new process (or session) may be another version: whether it echoes is learned again.
    this.echoesCallMeta = false;
    this.hung = false;
    const transport = createUpstreamTransport(this.config, {
      childEnv: this.childEnv,
      log: this.log,
      // A 2025 upstream's mid-call requests are attributed by the POST stream they arrive on (streamAttribution.ts).
      wrapFetch: (fetchFn) => this.streamOwners.wrapFetch(fetchFn, () => this.era === 'legacy'),
      credentials: this.credentials,
    });
    this.transport = transport;
    const client = new Client(GATEWAY_CLIENT_INFO, {
      capabilities: GATEWAY_CAPABILITIES,
      versionNegotiation: { mode: this.negotiationMode(), probe: { timeoutMs: this.config.health.startTimeoutMs } },
    });
    this.installHandlers(client);
    let connected = false;
    transport.onclose = () => {
      if (connected) this.onConnectionLost(client);
    };
    const startTimeout = this.config.health.startTimeoutMs;
    if (transport instanceof ChildProcessTransport) {
      await transport.start();
      const stderr = transport.stderr;
      if (stderr) pipeChildStderr(stderr, this.log, transport.pid);
      // Client.connect calls start() again; the transport is already running.
      transport.start = () => Promise.resolve();
    }
    try {
      await client.connect(transport, { timeout: startTimeout, ...(this.probeEndsChild ? { prior: { kind: 'legacy' as const } } : {}) });
    } catch (error) {
      // A 2025 server that exits on a request it does not know before initialize: ask with initialize next time.
      if (this.config.protocol === 'auto' && !this.probeEndsChild && transport instanceof ChildProcessTransport && transport.exit) {
        this.probeEndsChild = true;
        this.log.warn('the upstream exited when asked server/discover; it is started again and spoken to with the 2025 initialize handshake');
      }
      throw error;
    }
    const requests = new ForwardedRequests(transport);
    connected = true;
    this.client = client;
    this.requests = requests;
    this.era = client.getProtocolEra() ?? 'legacy';
    this.protocolVersion = client.getNegotiatedProtocolVersion?.() ?? (this.era === 'modern' ? MODERN_REVISION : undefined);
    this.capabilities = client.getServerCapabilities() as ServerCapabilities | undefined;
    this.serverInfo = client.getServerVersion() as Implementation | undefined;
    this.instructions = client.getInstructions();
    if (this.era === 'modern') {
      this.modernSubscriptions = new ModernSubscriptions(client, client.getServerCapabilities() ?? {}, this.log);
      await this.modernSubscriptions.start();
    }
    await this.refreshLists(new Set(['tools', 'prompts', 'resourceTemplates']), client, startTimeout, false);
    if (this.client !== client) return; // lost while listing
    this.readySince = Date.now();
    this.lastError = undefined;
    this.nextRestartAt = 0;
    this.upstreamLogLevel = undefined;
    this.setState('ready');
    this.log.info(
      {
        childPid: transport instanceof ChildProcessTransport ? transport.pid : undefined,
        server: this.serverInfo,
        protocolVersion: this.protocolVersion,
        tools: this.tools.length,
        prompts: this.prompts.length,
        resourceTemplates: this.resourceTemplates.length,
      },
      'upstream ready',
    );
    this.listener.onListsChanged(this.namespace, new Set(['tools', 'prompts', 'resources', 'resourceTemplates']));
    void this.applyLogLevel();
    this.schedulePing(client);
  }

  /** How to negotiate the revision with this upstream (its `protocol` setting). */
  private negotiationMode(): 'auto' | 'legacy' | { pin: string } {
    if (this.config.protocol === '2025-11-25') return 'legacy';
    if (this.config.protocol === '2026-07-28') return { pin: '2026-07-28' };
    return 'auto';
  }

  /** The gateway's own token for a remote upstream (remote.clientCredentials), kept across reconnects. */
  private readonly credentials: { current?: ClientCredentialsToken | undefined } = {};

  private installHandlers(client: Client): void {
    const route = (request: ServerRequest, ctx: { mcpReq: { id: unknown; signal: AbortSignal } }) => this.routeServerRequest(request, ctx.mcpReq.signal, ctx.mcpReq.id);
    client.setRequestHandler('sampling/createMessage', (request, ctx) => route(request, ctx) as never);
    client.setRequestHandler('elicitation/create', (request, ctx) => route(request, ctx) as never);
    client.setRequestHandler('roots/list', (request, ctx) => route(request, ctx) as never);
    client.setNotificationHandler('notifications/tools/list_changed', () => this.onListChanged(client, 'tools'));
    client.setNotificationHandler('notifications/prompts/list_changed', () => this.onListChanged(client, 'prompts'));
    client.setNotificationHandler('notifications/resources/list_changed', () => this.onListChanged(client, 'resourceTemplates'));
    client.setNotificationHandler('notifications/resources/updated', (notification) => {
      this.listener.onResourceUpdated(this.namespace, notification.params.uri);
    });
    client.setNotificationHandler('notifications/message', (notification) => {
      this.listener.onLogMessage(this.namespace, notification.params as LoggingMessageNotification['params']);
    });
    client.onerror = (error) => this.log.debug({ err: error }, 'upstream protocol error');
  }

  private async onListChanged(client: Client, kind: ListKind): Promise<void> {
    const kinds = new Set<ListKind>([kind]);
    if (kind === 'resourceTemplates') kinds.add('resources');
    try {
      await this.refreshLists(kinds, client, this.config.callTimeoutMs, true);
    } catch (error) {
      this.log.warn({ err: error, kind }, 'refreshing the list after list_changed failed');
    }
  }

  /**
   * Fetch every page of the named lists (MCP pagination); with `notify` (the upstream announced
   * a change), report the announced lists as changed.
   */
  private async refreshLists(kinds: ReadonlySet<ListKind>, client: Client, timeoutMs: number, notify: boolean): Promise<void> {
    const caps = (client.getServerCapabilities() ?? {}) as ServerCapabilities;
    const jobs: Array<Promise<void>> = [];
    if (kinds.has('tools')) {
      jobs.push(
        (caps.tools ? listAll(client, 'tools/list', 'tools', timeoutMs) : Promise.resolve([])).then((items) => {
          this.tools = (items as Tool[]).filter((tool) => this.isToolAllowed(tool.name));
        }),
      );
    }
    if (kinds.has('prompts')) {
      jobs.push(
        (caps.prompts ? listAll(client, 'prompts/list', 'prompts', timeoutMs) : Promise.resolve([])).then((items) => {
          this.prompts = items as Prompt[];
        }),
      );
    }
    if (kinds.has('resourceTemplates')) {
      jobs.push(
        (caps.resources ? listAll(client, 'resources/templates/list', 'resourceTemplates', timeoutMs) : Promise.resolve([])).then((items) => {
          this.resourceTemplates = items as ResourceTemplate[];
        }),
      );
    }
    await Promise.all(jobs);
    // An announcement is passed on even when the lists look the same afterwards (the gateway
    // used to drop it then): /servers/{ns}/mcp relays its upstream as it is, and its 2025
    // sessions and 2026 listen streams (SEP-2575) hear what the upstream announced; the
    // aggregate and curated views still announce only what changed in what they show (the
    // catalog's rebuild compares, session/gatewayCore.ts deliverListsChanged).
    if (notify) this.listener.onListsChanged(this.namespace, kinds);
  }

  private schedulePing(client: Client): void {
    clearTimeout(this.pingTimer);
    this.pingTimer = setTimeout(async () => {
      if (this.client !== client || this.stopping) return;
      try {
        // 2026-07-28 has no ping: server/discover is the cheapest request that shows the upstream answers.
        if (this.era === 'modern') await client.request({ method: 'server/discover', params: {} }, PassThroughResult, { timeout: this.config.health.pingTimeoutMs });
        else await client.ping({ timeout: this.config.health.pingTimeoutMs });
        this.schedulePing(client);
      } catch (error) {
        if (this.client !== client || this.stopping) return;
        this.hung = true;
        this.lastError = `it did not answer ping within ${this.config.health.pingTimeoutMs} ms (hung)`;
        this.log.error({ err: error }, `upstream ${this.lastError}; restarting it`);
        this.onConnectionLost(client);
      }
    }, this.config.health.pingIntervalMs);
    this.pingTimer.unref();
  }

  /** The connection ended (exit, crash, hang): fail what is in flight and restart with backoff. */
  private onConnectionLost(client: Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.requests = undefined;
    this.modernSubscriptions?.stop();
    this.modernSubscriptions = undefined;
    clearTimeout(this.pingTimer);
    const transport = this.transport;
    if (transport instanceof ChildProcessTransport) {
      if (transport.exit && !this.hung) this.lastError = `the child exited (${describeExit(transport.exit)})`;
    } else if (!this.lastError) {
      this.lastError = 'the connection closed';
    }
    if (this.stopping) return;
    this.log.error({ inFlight: this.inFlight.size, uptimeMs: Date.now() - this.readySince }, `upstream down: ${this.lastError}`);
    this.backoff.noteUptime(Date.now() - this.readySince);
    void client.close().catch(() => undefined);
    void this.discardConnection();
    this.scheduleRestart();
  }

  private async discardConnection(): Promise<void> {
    const transport = this.transport;
    this.transport = undefined;
    this.client = undefined;
    this.requests = undefined;
    this.modernSubscriptions?.stop();
    this.modernSubscriptions = undefined;
    if (transport instanceof ChildProcessTransport) transport.kill();
    else await transport?.close().catch(() => undefined);
  }

  private scheduleRestart(): void {
    if (this.stopping) return;
    this.setState('restarting');
    const delay = this.backoff.take();
    this.restarts++;
    this.nextRestartAt = Date.now() + delay;
    this.lastError ??= 'down';
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => void this.attempt(), delay);
  }

  private setState(state: UpstreamStateName): void {
    if (this.state === state) return;
    this.state = state;
    this.listener.onStateChange(this.namespace, state);
  }

  /** Stop supervising and stop the child (stdin closed, then SIGTERM, then SIGKILL). */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.workers?.stop();
    clearTimeout(this.pingTimer);
    clearTimeout(this.restartTimer);
    this.setState('stopped');
    const transport = this.transport;
    const client = this.client;
    this.client = undefined;
    this.requests = undefined;
    this.transport = undefined;
    this.modernSubscriptions?.stop();
    this.modernSubscriptions = undefined;
    if (transport instanceof ChildProcessTransport) await transport.close(1500);
    else await client?.close().catch(() => undefined);
  }

  // --- server→client requests ---------------------------------------------------------------

  /** A request the upstream sends during a call goes to the session that made it (serverRequestRouting.ts). */
  private routeServerRequest(request: ServerRequest, signal: AbortSignal, requestId: unknown): Promise<Record<string, unknown>> {
    return routeServerRequest(request, signal, {
      namespace: this.namespace,
      inFlight: this.inFlight,
      streamOwner: this.streamOwners.take(requestId),
      maxCallDurationMs: this.config.maxCallDurationMs,
      noteEchoesCallMeta: () => ((this.parent ?? this).echoesCallMeta = true),
      holdDeadline: (forwardedId) => this.requests?.holdDeadline(forwardedId),
    });
  }
}

function describeExit(exit: { code: number | null; signal: NodeJS.Signals | null }): string {
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}

function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string';
}
