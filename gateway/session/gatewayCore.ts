// Over 400 lines: the core is where upstreams, catalog, sessions and listen streams meet, and routes events between them; its separable parts live in views/viewDirectory.ts, session/sharedSessions.ts and integrity/integrityGate.ts.
import { randomBytes, randomUUID } from 'node:crypto';
import type { LoggingLevel, LoggingMessageNotification } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../../shared/logger.js';
import { AccessPolicy } from '../auth/accessPolicy.js';
import type { CallerIdentity } from '../auth/authenticate.js';
import { UpstreamCatalog, type CatalogView } from '../catalog/upstreamCatalog.js';
import type { GatewayConfig } from '../config/schema.js';
import { SessionTransport } from './sessionTransport.js';
import { composeResourceRead, type ResourceReadHandler, type ResourceReadMiddleware } from '../calls/resourceReadPipeline.js';
import { composeToolCall, type ToolCallHandler, type ToolCallMiddleware } from '../calls/toolCallPipeline.js';
import { ClientSession, LOG_LEVEL_ORDER } from './clientSession.js';
import { ListenStreams, type ListChanges } from './listenStreams.js';
import type { RequestLimiter } from '../policy/requestLimiter.js';
import { ParkedCalls } from './parkedCalls.js';
import { RelayedInputState } from './relayedInputState.js';
import { ResourceSubscriptions } from './resourceSubscriptions.js';
import { composeInstructions, unionCapabilities } from './aggregateDescription.js';
import { McpMethods } from './mcpMethods.js';
import { registerSessionHandlers } from './sessionHandlers.js';
import { SessionRegistry } from './sessionRegistry.js';
import type { ListKind, UpstreamListener, UpstreamStateName } from '../upstreams/types.js';
import { UpstreamConnection, type UpstreamStatus } from '../upstreams/upstreamConnection.js';
import { UserCallLimit } from '../upstreams/userCallLimit.js';
import { WorkflowRegistry } from '../workflows/workflowRegistry.js';
import type { ToolChange, ToolPins } from '../integrity/toolPins.js';
import { integrityGate } from '../integrity/integrityGate.js';
import type { ClusterResourceHost, SessionDirectory, SessionViewKey } from './clusterPorts.js';
import { SharedSessions } from './sharedSessions.js';
import { ViewDirectory, type ViewChanges } from '../views/viewDirectory.js';
import { CuratedView } from '../views/curatedView.js';
import { tracingChildEnv } from '../observability/callTracing.js';
import type { ViewSettings } from '../views/viewSettings.js';
import { dispatchWithoutSchemaPass } from '../../shared/jsonRpcDispatch.js';
import { answerToolCallsDirectly } from './toolCallHandler.js';

export interface GatewayOptions {
  /** Policy stages around every forwarded tools/call (authorization, limits, cache, audit, metrics). */
  toolCallMiddlewares?: readonly ToolCallMiddleware[];
  access?: AccessPolicy;
  /** Policy stages around every forwarded resources/read (cache, size limit, logs, metrics). */
  resourceReadMiddlewares?: readonly ResourceReadMiddleware[];
  /** Also told of upstream events (cache invalidation, metrics). */
  upstreamObservers?: ReadonlyArray<Partial<UpstreamListener>>;
  /** Tool integrity: pinned definitions; a changed tool is served according to its upstream's policy. */
  toolPins?: ToolPins;
  /** Told once of each changed tool definition (for the audit log). */
  onToolChange?: (change: ToolChange, served: boolean) => void;
  /** Session state shared with other instances, so a session continues on any of them. */
  sessionDirectory?: SessionDirectory;
  /** Rate limits on requests other than tools/call (lists, reads, prompts, completion, subscribe, listen). */
  requestLimiter?: RequestLimiter;
  /**
   * The HMAC key sealing the requestState of multi round-trip calls relayed to 2026 clients;
   * every instance a retry may reach needs the same. A random key (one instance) when absent.
   */
  relayedInputKey?: Uint8Array;
  /** How long that requestState stays valid (default RELAYED_INPUT_TTL_SECONDS; env MANIFOLD_RELAYED_INPUT_TTL_SECONDS in main.ts). */
  relayedInputTtlSeconds?: number;
  /** More environment for stdio children (e.g. NODE_COMPILE_CACHE), under their own settings. */
  childEnv?: Readonly<Record<string, string>>;
}

/** How long a 2026 client has to answer an upstream's input request and retry. */
export const RELAYED_INPUT_TTL_SECONDS = 600;

export interface Readiness {
  ready: boolean;
  upstreams: UpstreamStatus[];
  catalogProblems: string[];
  sessions: number;
}

/**
 * The gateway's core, independent of HTTP: the supervised upstreams, the catalog built from
 * them, the client sessions, and the routing of upstream events to sessions.
 */
export class ManifoldGateway implements UpstreamListener {
  readonly upstreams: UpstreamConnection[];
  readonly catalog: UpstreamCatalog;
  readonly sessions: SessionRegistry;
  /** The aggregate, per-upstream and curated views (views/viewDirectory.ts). */
  readonly views: ViewDirectory;
  private readonly subscriptions: ResourceSubscriptions;
  private readonly toolCall: ToolCallHandler;
  /** The MCP methods answered for clients of either protocol era. */
  readonly methods: McpMethods;
  /** Open subscriptions/listen streams of 2026-07-28 clients. */
  readonly listenStreams: ListenStreams;
  private readonly readResource: ResourceReadHandler | undefined;
  private readonly observers: ReadonlyArray<Partial<UpstreamListener>>;
  private accepting = true;
  /** Which scope each tool, prompt and resource needs. */
  readonly access: AccessPolicy;
  /** Shared session state, when instances form a cluster. */
  readonly sessionDirectory: SessionDirectory | undefined;
  /** 2025 sessions continued across instances (session/sharedSessions.ts), when instances form a cluster. */
  private readonly shared: SharedSessions | undefined;
  /** Pinned tool definitions (tool integrity), when enabled. */
  readonly toolPins: ToolPins | undefined;
  /** Rate limits on requests other than tools/call, when configured. */
  readonly requestLimiter: RequestLimiter | undefined;
  /** Calls of 2026 clients to 2025-era upstreams waiting for the clients' answers (parkedCalls.ts). */
  readonly parkedCalls: ParkedCalls;
  /** Composite tools (`workflows` in the configuration); undefined when none are configured. */
  readonly workflows: WorkflowRegistry | undefined;

  constructor(
    readonly config: GatewayConfig,
    private readonly logger: Logger,
    options: GatewayOptions = {},
  ) {
    this.requestLimiter = options.requestLimiter;
    const relayedInputTtlSeconds = options.relayedInputTtlSeconds ?? RELAYED_INPUT_TTL_SECONDS;
    const { perUser, total } = config.limits.bridgedCalls;
    this.parkedCalls = new ParkedCalls({ maxPerUser: perUser, maxTotal: total, ttlMs: relayedInputTtlSeconds * 1000 });
    this.access = options.access ?? new AccessPolicy(config.auth.mode === 'oauth' ? config.auth.toolScopes : {});
    // Tracing variables only while the gateway traces (observability/callTracing.ts).
    const childEnv = { ...options.childEnv, ...tracingChildEnv(config.observability.tracing) };
    this.upstreams = config.upstreams.map((upstream) => new UpstreamConnection(upstream, logger, this, { childEnv }));
    const userCalls = new UserCallLimit(config.limits.perUser.inFlight);
    for (const upstream of this.upstreams) upstream.userCalls = userCalls;
    this.catalog = new UpstreamCatalog(this.upstreams, config.separator, logger);
    this.views = new ViewDirectory(this.catalog, this.upstreams);
    this.subscriptions = new ResourceSubscriptions(logger);
    this.listenStreams = new ListenStreams({
      subscriptions: this.subscriptions,
      access: this.access,
      logger,
      maxStreams: config.http.maxSessions,
      maxStreamsPerUser: config.limits.perUser.listenStreams,
    });
    this.sessions = new SessionRegistry(config.http.sessionIdleTimeoutMs, (session) => {
      logger.info({ session: session.id }, 'closing idle session');
      void session.transport.close();
    });
    this.toolCall = composeToolCall(options.toolCallMiddlewares ?? [], (call) =>
      call.target.upstream.forward(
        'tools/call',
        { name: call.target.name, ...(call.arguments ? { arguments: call.arguments } : {}), ...(call.meta ? { _meta: call.meta } : {}), ...call.inputRound },
        { caller: call.caller, session: call.session, requestId: call.requestId },
        { cancellation: call.cancellation, onprogress: call.onprogress, paramHeaders: call.paramHeaders },
      ),
    );
    this.readResource = options.resourceReadMiddlewares?.length
      ? composeResourceRead(options.resourceReadMiddlewares, (read) =>
          read.upstream.forward(
            'resources/read',
            read.params,
            { caller: read.caller, session: read.session, requestId: read.requestId },
            { cancellation: read.cancellation },
          ),
        )
      : undefined;
    this.observers = options.upstreamObservers ?? [];
    this.workflows = config.workflows
      ? new WorkflowRegistry({
          settings: config.workflows,
          catalog: this.catalog,
          access: this.access,
          toolCall: this.toolCall,
          separator: config.separator,
          logger,
        })
      : undefined;
    if (this.workflows) {
      this.catalog.setVirtualTools(this.workflows);
      this.access.attachVirtualTools(this.workflows);
    }
    this.methods = new McpMethods({
      pageSize: config.http.pageSize,
      access: this.access,
      separator: config.separator,
      toolCall: this.toolCall,
      logger,
      ...(this.readResource ? { readResource: this.readResource } : {}),
      ...(this.workflows ? { composites: this.workflows } : {}),
      relayedInput: new RelayedInputState(options.relayedInputKey ?? randomBytes(32), relayedInputTtlSeconds),
      parkedCalls: this.parkedCalls,
      inputRounds: { maxRounds: 8, roundTimeoutMs: config.upstreams.reduce((longest, upstream) => Math.max(longest, upstream.maxCallDurationMs), 0) },
    });
    this.toolPins = options.toolPins;
    this.sessionDirectory = options.sessionDirectory;
    this.shared = options.sessionDirectory
      ? new SharedSessions({
          directory: options.sessionDirectory,
          ttlMs: config.http.sessionIdleTimeoutMs,
          views: this.views,
          sessions: this.sessions,
          subscriptions: this.subscriptions,
          logger,
          isAccepting: () => this.accepting,
          openSession: (view, identity, id) => this.openSession(view, identity, 'streamable', id),
          onLogLevelRestored: () => this.updateUpstreamLogLevels(),
        })
      : undefined;
    if (options.toolPins) this.catalog.setToolGate(integrityGate(options.toolPins, logger, options.onToolChange));
    this.applyViews(config.views);
  }

  /** Re-read pinned definitions (after an approval) and tell sessions when their tools changed. */
  refreshTools(): void {
    const changed = this.catalog.rebuild();
    if (!changed.tools) return;
    for (const session of this.sessions.values()) void this.notify(session, true, false, false);
    this.listenStreams.allListsChanged(() => true);
  }

  /** Start every upstream in parallel; resolves when each has succeeded or failed once. */
  async start(): Promise<void> {
    this.sessions.startSweeping();
    await Promise.all(this.upstreams.map((upstream) => upstream.start()));
  }

  view(namespace: string | undefined): CatalogView | undefined {
    return this.views.view(namespace);
  }

  /** A curated view (`/views/{name}/mcp`) by name. */
  curatedView(name: string): CuratedView | undefined {
    return this.views.curatedView(name);
  }

  curatedViewNames(): string[] {
    return this.views.curatedViewNames();
  }

  /**
   * Put a configuration's views in place (at start and on reload). Sessions keep their view
   * object, so a changed view changes under them and they are told with list_changed; a removed
   * view shows its sessions nothing, and new sessions cannot open it.
   */
  applyViews(views: readonly ViewSettings[]): ViewChanges {
    const outcome = this.views.apply(views);
    const touched = new Set([...outcome.changed, ...outcome.removed]);
    for (const session of this.sessions.values()) {
      if (session.view instanceof CuratedView && touched.has(session.view.name)) void this.notify(session, true, true, true);
    }
    this.listenStreams.allListsChanged((view) => view instanceof CuratedView && touched.has(view.name));
    return outcome;
  }

  get isAccepting(): boolean {
    return this.accepting;
  }

  readiness(): Readiness {
    const upstreams = this.upstreams.map((upstream) => upstream.status());
    return {
      ready: this.accepting && upstreams.every((u) => !u.required || u.state === 'ready'),
      upstreams,
      catalogProblems: this.catalog.problems,
      sessions: this.sessions.size,
    };
  }

  /** Open a session (on `initialize`) bound to a view and the caller's identity. */
  openSession(view: CatalogView, identity: CallerIdentity, mode: 'streamable' | 'legacy-sse', id: string = randomUUID()): ClientSession {
    const transport = new SessionTransport(id, mode, this.config.http.replayBufferEvents);
    const capabilities = unionCapabilities(view.upstreams());
    const session = new ClientSession(id, view, identity, transport, capabilities, composeInstructions(view, this.config.separator));
    const handlers = registerSessionHandlers(session, capabilities, {
      methods: this.methods,
      subscriptions: this.subscriptions,
      onLogLevelChanged: () => this.updateUpstreamLogLevels(),
      requestLimiter: this.requestLimiter,
      ...(this.shared ? { onSessionChanged: (changed: ClientSession) => void this.shared?.save(changed) } : {}),
    });
    session.server.onclose = () => this.onSessionClosed(session);
    // A resource update for a session whose GET stream is open on another instance goes there.
    transport.onStandaloneUndelivered = (message) => {
      if ('method' in message && message.method === 'notifications/resources/updated') this.relaySessionMessage?.(id, message as never);
    };
    if (this.sessionDirectory && mode === 'streamable') {
      // Its requests to the client are answered wherever the client's POST lands.
      transport.instanceTag = this.instanceTag;
      transport.onForeignClientMessage = (message) => this.relayClientMessage?.(id, message as never);
    }
    session.server.onerror = (error) => this.logger.debug({ err: error, session: id }, 'session protocol error');
    // connect() installs the SDK's message handler at once; route past its schema pass.
    void session.server.connect(transport);
    dispatchWithoutSchemaPass(session.server, transport);
    answerToolCallsDirectly(transport, handlers.callTool);
    this.sessions.add(session);
    this.logger.debug({ session: id, user: identity.user, view: view.namespace ?? '*', mode }, 'session opened');
    return session;
  }

  // --- sessions shared between instances ------------------------------------------------------

  /** Which endpoint a view serves, as other instances can find it again. */
  viewKeyOf(view: CatalogView): SessionViewKey {
    return this.views.keyOf(view);
  }

  /** Record a new session (before its initialize is answered, so any instance can take the next request). */
  async shareSession(session: ClientSession, handshake: NonNullable<ClientSession['handshake']>): Promise<void> {
    if (this.shared) await this.shared.share(session, handshake);
    else session.handshake = handshake;
  }

  /** A request on a shared session: keep its record alive. */
  touchSession(session: ClientSession): void {
    this.shared?.touch(session);
  }

  /** Continue, on this instance, a session another instance opened (session/sharedSessions.ts). */
  async restoreSession(id: string, view: CatalogView, identity: CallerIdentity): Promise<ClientSession | undefined> {
    return this.shared?.restore(id, view, identity);
  }

  /** The client ended the session (DELETE): forget it everywhere. */
  async forgetSession(id: string): Promise<void> {
    await this.shared?.forget(id);
  }

  private onSessionClosed(session: ClientSession): void {
    if (!this.sessions.get(session.id)) return;
    this.sessions.delete(session.id);
    this.shared?.closed(session.id);
    void this.subscriptions.dropSession(session);
    if (session.logLevel) this.updateUpstreamLogLevels();
    this.logger.debug({ session: session.id }, 'session closed');
  }

  /** Each upstream is asked for the lowest level any session that sees it wants. */
  private updateUpstreamLogLevels(): void {
    for (const upstream of this.upstreams) {
      let lowest: LoggingLevel | undefined;
      for (const session of this.sessions.values()) {
        if (!session.logLevel || !session.view.includes(upstream.namespace)) continue;
        if (!lowest || LOG_LEVEL_ORDER.indexOf(session.logLevel) < LOG_LEVEL_ORDER.indexOf(lowest)) lowest = session.logLevel;
      }
      upstream.setWantedLogLevel(lowest);
    }
  }

  // --- upstream events ----------------------------------------------------------------------

  onStateChange(namespace: string, state: UpstreamStateName): void {
    this.logger.info({ upstream: namespace, state }, `upstream ${namespace} is ${state}`);
    if (state === 'ready') {
      const upstream = this.catalog.upstream(namespace);
      if (upstream) void this.subscriptions.renew(upstream);
    }
    for (const observer of this.observers) observer.onStateChange?.(namespace, state);
  }

  onListsChanged(namespace: string, kinds: ReadonlySet<ListKind>): void {
    for (const observer of this.observers) observer.onListsChanged?.(namespace, kinds);
    this.deliverListsChanged(namespace, kinds, true);
  }

  /**
   * Tell the clients that see `namespace` which of their lists changed. `local`: this
   * instance's upstream changed (its catalog is rebuilt); otherwise another instance's child
   * did (the kinds are taken as they came).
   */
  private deliverListsChanged(namespace: string, kinds: ReadonlySet<ListKind>, local: boolean): void {
    const aggregate = local
      ? this.catalog.rebuild()
      : { tools: kinds.has('tools'), prompts: kinds.has('prompts'), resourceTemplates: kinds.has('resourceTemplates') };
    const changesFor = (view: CatalogView): ListChanges => {
      const single = view.namespace !== undefined;
      return {
        tools: single ? kinds.has('tools') : aggregate.tools,
        prompts: single ? kinds.has('prompts') : aggregate.prompts,
        resources: kinds.has('resources') || (single ? kinds.has('resourceTemplates') : aggregate.resourceTemplates),
      };
    };
    for (const session of this.sessions.values()) {
      if (!session.view.includes(namespace)) continue;
      const changes = changesFor(session.view);
      void this.notify(session, changes.tools, changes.prompts, changes.resources);
    }
    this.listenStreams.listsChanged(namespace, changesFor);
  }

  private async notify(session: ClientSession, tools: boolean, prompts: boolean, resources: boolean): Promise<void> {
    if (!session.clientCapabilities()) return; // not initialized yet
    const server = session.server;
    try {
      if (tools) await server.sendToolListChanged();
      if (prompts && hasCapability(session, 'prompts')) await server.sendPromptListChanged();
      if (resources && hasCapability(session, 'resources')) await server.sendResourceListChanged();
    } catch (error) {
      this.logger.debug({ err: error, session: session.id }, 'list_changed not delivered');
    }
  }

  onResourceUpdated(namespace: string, uri: string): void {
    for (const observer of this.observers) observer.onResourceUpdated?.(namespace, uri);
    this.deliverResourceUpdated(namespace, uri);
  }

  /** What a cluster needs to share resource subscriptions and updates between instances (cluster/resourceUpdateBus.ts). */
  clusterResources(): ClusterResourceHost {
    return {
      deliver: (namespace, uri) => this.deliverResourceUpdated(namespace, uri),
      holdForInstance: (instance, namespace, uri, held) => {
        const upstream = this.catalog.upstream(namespace);
        if (!upstream) return;
        this.subscriptions.holdForInstance(instance, upstream, uri, held).catch((error: unknown) => {
          this.logger.warn({ err: error, upstream: namespace, uri }, 'could not watch a resource for another instance; retried when it is announced again');
        });
      },
      localInterests: () => this.subscriptions.localInterests(),
      onLocalInterest: (listener) => this.subscriptions.onLocalInterest(listener),
      deliverListsChanged: (namespace, kinds) => this.deliverListsChanged(namespace, kinds, false),
      deliverToSession: (id, message) => {
        this.sessions.get(id)?.transport.deliverRelayed(message as never);
      },
      onUndeliveredSessionMessage: (relay) => {
        this.relaySessionMessage = relay;
      },
      deliverClientMessage: (id, message) => {
        this.sessions.get(id)?.transport.receiveRelayed(message as never);
      },
      onForeignClientMessage: (relay) => {
        this.relayClientMessage = relay;
      },
    };
  }

  /** In a cluster: hands a client's message to the instance whose copy of the session it is for. */
  private relayClientMessage: ((session: string, message: Record<string, unknown>) => void) | undefined;
  /** Tags the ids of requests this instance's session copies send the client (sessionTransport.ts). */
  private readonly instanceTag = randomBytes(4).toString('hex');

  /** In a cluster: hands a session's resource update to the instance holding its GET stream. */
  private relaySessionMessage: ((session: string, message: Record<string, unknown>) => void) | undefined;

  /** Tell the sessions subscribed here that a resource changed (seen by an upstream of this instance or of another). */
  deliverResourceUpdated(namespace: string, uri: string): void {
    const subscribers = this.subscriptions.subscribers(namespace, uri);
    if (!subscribers) return;
    for (const [subscriber, exposedUri] of subscribers) subscriber.resourceUpdated(exposedUri);
  }

  onLogMessage(namespace: string, params: LoggingMessageNotification['params']): void {
    for (const session of this.sessions.values()) {
      if (!session.wantsLog(params.level) || !session.view.includes(namespace)) continue;
      const logger = session.view.loggerName(namespace, params.logger);
      void session.server.notification({ method: 'notifications/message', params: { ...params, ...(logger ? { logger } : {}) } }).catch(() => undefined);
    }
  }

  // --- shutdown -----------------------------------------------------------------------------

  /** Stop accepting new sessions and calls (readiness turns red). */
  stopAccepting(): void {
    this.accepting = false;
  }

  /** Wait for in-flight calls to be answered, at most `timeoutMs`; returns how many were left. */
  async drain(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    const pending = (): number => {
      let count = 0;
      for (const upstream of this.upstreams) count += upstream.inFlight.size;
      for (const session of this.sessions.values()) count += session.transport.pendingRequests;
      return count;
    };
    while (pending() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    return pending();
  }

  async stop(): Promise<void> {
    this.sessions.stopSweeping();
    this.listenStreams.closeAll();
    this.parkedCalls.close();
    await Promise.all([...this.sessions.values()].map((session) => session.transport.close()));
    await Promise.all(this.upstreams.map((upstream) => upstream.stop()));
  }
}

function hasCapability(session: ClientSession, name: 'prompts' | 'resources'): boolean {
  return session.capabilities[name] !== undefined;
}
