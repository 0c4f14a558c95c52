// Over 400 lines: one upstream's whole life (start, handshake, lists, restart with back-off, stop) is one state machine; transports, request routing and list paging have modules of their own.
import { Client, type ClientCapabilities, type Transport } from '@modelcontextprotocol/client';
import type {
  Implementation,
  LoggingLevel,
  LoggingMessageNotification,
  Prompt,
  ResourceTemplate,
  ServerCapabilities,
  Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../../shared/logger.js';
import { PassThroughResult } from '../../shared/jsonRpcDispatch.js';
import { RestartBackoff } from './backoff.js';
import { ChildProcessTransport } from './childProcessTransport.js';
import { pipeChildStderr } from './childStderrLog.js';
import type { ClientCredentialsToken } from './clientCredentials.js';
import { ForwardedRequests } from './forwardedRequests.js';
import { ModernSubscriptions } from './modernSubscriptions.js';
import type { ServerRequest } from './serverRequestRouting.js';
import type { ListKind, UpstreamListener, UpstreamStateName } from './types.js';
import { listAll, ToolFilter } from './upstreamLists.js';
import type { UpstreamConfig } from './upstreamSettings.js';
import { createUpstreamTransport, describeExit, describeStartFailure } from './upstreamTransports.js';
import { ChildActivity, lastLineNote, START_PATIENCE, watchStart } from './startWatch.js';

export const GATEWAY_CLIENT_INFO: Implementation = { name: 'manifold-gateway', version: '0.1.0' };
/** What the gateway can be asked for by an upstream: it passes each request on to the client whose call caused it. */
const GATEWAY_CAPABILITIES: ClientCapabilities = { sampling: {}, elicitation: { form: {}, url: {} }, roots: { listChanged: true } };
export const MODERN_REVISION = '2026-07-28';

/**
 * The supervised side of one upstream: its process or remote session started, initialized
 * (the revision negotiated), listed, pinged, and restarted with backoff when it exits, hangs or
 * the connection drops. Forwarding calls over it is the subclass's business
 * (upstreamConnection.ts); transports are built by upstreamTransports.ts and requests the
 * upstream sends mid-call are routed by serverRequestRouting.ts.
 */
export abstract class SupervisedUpstream {
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

  /**
   * The revision this connection speaks: `modern` (2026-07-28: every request carries the
   * `_meta` envelope; changes arrive on a listen stream) or `legacy` (2025 and earlier).
   */
  era: 'modern' | 'legacy' | undefined;
  protected protocolVersion: string | undefined;
  protected client: Client | undefined;
  /** On a 2026 connection: the listen streams that bring list changes and resource updates. */
  protected modernSubscriptions: ModernSubscriptions | undefined;
  /** Calls forwarded on the current connection (the client's own requests are its business). */
  protected requests: ForwardedRequests | undefined;
  protected transport: Transport | undefined;
  protected readonly backoff: RestartBackoff;
  protected readonly log: Logger;
  protected nextRestartAt = 0;
  /** The probe ended the child once: it is a 2025 server that exits on unknown requests before initialize. */
  private probeEndsChild = false;
  private readySince = 0;
  private pingTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private upstreamLogLevel: LoggingLevel | undefined;
  private wantedLogLevel: LoggingLevel | undefined;
  private readonly toolFilter: ToolFilter;
  /** The last failure was a missed ping (the child hung), not an exit. */
  private hung = false;
  private firstAttempt: Promise<void> | undefined;
  /** The current child's log lines (what it was last seen doing). */
  protected childActivity: ChildActivity | undefined;
  /** Set when the start watch stopped a silent child. */
  private startStall: { silentMs: number; note: string } | undefined;
  /** The gateway's own token for a remote upstream (remote.clientCredentials), kept across reconnects. */
  private readonly credentials: { current?: ClientCredentialsToken | undefined } = {};

  constructor(
    readonly config: UpstreamConfig,
    logger: Logger,
    protected readonly listener: UpstreamListener,
    /** Extra environment for a stdio child (tracing variables while the gateway traces). */
    protected readonly childEnv: Readonly<Record<string, string>>,
  ) {
    this.namespace = config.namespace;
    this.log = logger.child({ upstream: config.namespace });
    this.backoff = new RestartBackoff(config.restart);
    this.toolFilter = new ToolFilter(config.tools);
  }

  /** A request the upstream sent during a call, for the session that made the call. */
  protected abstract routeServerRequest(request: ServerRequest, signal: AbortSignal, requestId: unknown): Promise<Record<string, unknown>>;

  /** The fetch of a remote upstream, wrapped by the subclass (mid-call request attribution). */
  protected abstract wrapRemoteFetch(fetchFn: typeof fetch): typeof fetch;

  /** A new connection is being made: what was learned of the previous one no longer holds. */
  protected abstract onConnecting(): void;

  /** Supervision is stopping: stop what the subclass runs beside the connection. */
  protected abstract onStopping(): Promise<void>;

  /** Calls in flight now (reported when the connection is lost). */
  protected abstract get callsInFlight(): number;

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

  private async attempt(): Promise<void> {
    if (this.stopping) return;
    this.setState(this.restarts === 0 && this.state === 'starting' ? 'starting' : 'restarting');
    try {
      await this.connect();
    } catch (error) {
      this.lastError = this.startStall
        ? `it answered no handshake and logged nothing for ${Math.round(this.startStall.silentMs / 100) / 10} s${this.startStall.note}; it was stopped`
        : describeStartFailure(this.config, this.transport, error) +
          (this.childActivity && this.transport instanceof ChildProcessTransport ? lastLineNote(this.childActivity) : '');
      this.log.error({ err: error }, `failed to start: ${this.lastError}`);
      await this.discardConnection();
      this.scheduleRestart();
    }
  }

  private async connect(): Promise<void> {
    this.onConnecting();
    this.hung = false;
    const transport = createUpstreamTransport(this.config, {
      childEnv: this.childEnv,
      log: this.log,
      // A 2025 upstream's mid-call requests are attributed by the POST stream they arrive on (streamAttribution.ts).
      wrapFetch: (fetchFn) => this.wrapRemoteFetch(fetchFn),
      credentials: this.credentials,
    });
    this.transport = transport;
    const client = new Client(GATEWAY_CLIENT_INFO, {
      capabilities: GATEWAY_CAPABILITIES,
      versionNegotiation: {
        mode: this.negotiationMode(),
        probe: { timeoutMs: this.config.stdio ? this.config.health.startTimeoutMs * START_PATIENCE : this.config.health.startTimeoutMs },
      },
    });
    this.installHandlers(client);
    let connected = false;
    transport.onclose = () => {
      if (connected) this.onConnectionLost(client);
    };
    const startTimeout = this.config.health.startTimeoutMs;
    let endWatch: (() => void) | undefined;
    this.startStall = undefined;
    if (transport instanceof ChildProcessTransport) {
      const activity = new ChildActivity();
      this.childActivity = activity;
      await transport.start();
      const stderr = transport.stderr;
      if (stderr) pipeChildStderr(stderr, this.log, transport.pid, (message) => activity.note(message));
      // Client.connect calls start() again; the transport is already running.
      transport.start = () => Promise.resolve();
      // Alive and logging: it may take longer; silent for a whole start timeout: stopped (startWatch.ts).
      endWatch = watchStart(activity, startTimeout, (silentMs) => {
        this.startStall = { silentMs, note: lastLineNote(activity) };
        transport.kill();
      });
    }
    const handshakeTimeout = endWatch ? startTimeout * START_PATIENCE : startTimeout;
    try {
      await client.connect(transport, { timeout: handshakeTimeout, ...(this.probeEndsChild ? { prior: { kind: 'legacy' as const } } : {}) });
    } catch (error) {
      endWatch?.();
      // A 2025 server that exits on a request it does not know before initialize: ask with initialize next time.
      if (this.config.protocol === 'auto' && !this.probeEndsChild && transport instanceof ChildProcessTransport && transport.exit) {
        this.probeEndsChild = true;
        this.log.warn('the upstream exited when asked server/discover; it is started again and spoken to with the 2025 initialize handshake');
      }
      throw error;
    }
    endWatch?.();
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

  private installHandlers(client: Client): void {
    const route = (request: ServerRequest, ctx: { mcpReq: { id: unknown; signal: AbortSignal } }) =>
      this.routeServerRequest(request, ctx.mcpReq.signal, ctx.mcpReq.id);
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
        if (this.era === 'modern')
          await client.request({ method: 'server/discover', params: {} }, PassThroughResult, { timeout: this.config.health.pingTimeoutMs });
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
    this.log.error({ inFlight: this.callsInFlight, uptimeMs: Date.now() - this.readySince }, `upstream down: ${this.lastError}`);
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
    await this.onStopping();
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

  /** Begin supervision; resolves when the first attempt has succeeded or failed. */
  start(): Promise<void> {
    this.firstAttempt ??= this.attempt();
    return this.firstAttempt;
  }

  isToolAllowed(name: string): boolean {
    return this.toolFilter.allows(name);
  }
}
