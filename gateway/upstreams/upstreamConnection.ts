import type { Client } from '@modelcontextprotocol/client';
import { ErrorCode, McpError, type Implementation } from '@modelcontextprotocol/sdk/types.js';
import { DomainError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { askableCapabilities, forwardedMeta, mayBeAsked } from './callMeta.js';
import { ChildProcessTransport } from './childProcessTransport.js';
import { ConcurrencyLimit } from './concurrencyLimit.js';
import { IsolatedWorkers, workerConfig, workerListener } from './isolatedWorkers.js';
import { paramHeadersFor } from './mcpParamHeaders.js';
import { routeServerRequest, type ServerRequest } from './serverRequestRouting.js';
import { StreamOwners } from './streamAttribution.js';
import type { CallOrigin, ForwardOptions, InFlightCall, Upstream, UpstreamListener, UpstreamStateName } from './types.js';
import type { UpstreamConfig } from './upstreamSettings.js';
import { GATEWAY_CLIENT_INFO, MODERN_REVISION, SupervisedUpstream } from './upstreamSupervision.js';
import type { UserCallLimit } from './userCallLimit.js';

/** What a connection is built with besides its settings. */
export interface UpstreamConnectionOptions {
  /** Extra environment for a stdio child (tracing variables while the gateway traces). */
  childEnv?: Readonly<Record<string, string>>;
  /** For a pooled connection (isolatedWorkers.ts): the upstream's shared connection. */
  parent?: UpstreamConnection;
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
  /** A stdio child's last log line and its age: what it is doing (say, "indexing 1,200 of 2,625 files"). */
  lastLog?: { message: string; ageMs: number } | undefined;
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
 * One upstream MCP server and the single SDK `Client` every client session shares: the calls
 * forwarded over it (concurrency limit and queue, per-user limits, pooled connections for
 * clients that can be asked things mid-call, the 2026 envelope, timeouts described plainly).
 * Supervision (start, restart, ping, lists) is upstreamSupervision.ts.
 */
export class UpstreamConnection extends SupervisedUpstream implements Upstream {
  readonly inFlight = new Map<string, InFlightCall>();
  /** Calls each user has in flight over every upstream of the gateway (set by the gateway; not on pooled connections). */
  userCalls: UserCallLimit | undefined;
  private readonly limit: ConcurrencyLimit;
  /** `isolation` `per-user` or `auto`: the pooled connections calls of clients that can be asked run on. */
  private readonly workers: IsolatedWorkers<UpstreamConnection> | undefined;
  /** Seen echoing the gateway's `_meta` in a request it sent mid-call (since it last connected): its requests can be attributed exactly. */
  private echoesCallMeta = false;
  /** Calls in flight here whose client can be asked something mid-call. */
  private askableInFlight = 0;
  /** A remote 2025 upstream's mid-call requests, by the forwarded call whose POST stream brought them. */
  private readonly streamOwners = new StreamOwners();
  private readonly parent: UpstreamConnection | undefined;

  constructor(config: UpstreamConfig, logger: Logger, listener: UpstreamListener, options: UpstreamConnectionOptions = {}) {
    super(config, logger, listener, options.childEnv ?? {});
    this.parent = options.parent;
    this.limit = new ConcurrencyLimit(config.maxConcurrency, config.maxQueue);
    if (config.isolation !== 'shared' && !this.parent) {
      const pooled = () => new UpstreamConnection(workerConfig(config), logger, workerListener(listener), { childEnv: this.childEnv, parent: this });
      this.workers = new IsolatedWorkers(config.namespace, config.isolationPool, pooled, this.log);
    }
  }

  protected get callsInFlight(): number {
    return this.inFlight.size;
  }

  protected onConnecting(): void {
    // A new process (or session) may be another version: whether it echoes is learned again.
    this.echoesCallMeta = false;
  }

  protected async onStopping(): Promise<void> {
    await this.workers?.stop();
  }

  protected wrapRemoteFetch(fetchFn: typeof fetch): typeof fetch {
    // A 2025 upstream's mid-call requests are attributed by the POST stream they arrive on (streamAttribution.ts).
    return this.streamOwners.wrapFetch(fetchFn, () => this.era === 'legacy');
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
      lastLog: this.childActivity?.last(),
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
          new DomainError(
            'rate_limited',
            `Upstream "${this.namespace}" is at its concurrency limit (${this.config.maxConcurrency} calls) and its queue is full.`,
            {
              action: 'Retry in a few seconds.',
            },
          ),
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
      forwardedParams = {
        ...forwardedParams,
        _meta: { ...(forwardedParams?._meta as Record<string, unknown> | undefined), ...this.envelope(capabilities, origin?.session.logLevel) },
      };
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
  private paramHeaders(
    params: Record<string, unknown> | undefined,
    undeclared: Readonly<Record<string, string>> | undefined,
  ): Record<string, string> | undefined {
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

  // --- server→client requests ---------------------------------------------------------------

  /** A request the upstream sends during a call goes to the session that made it (serverRequestRouting.ts). */
  protected routeServerRequest(request: ServerRequest, signal: AbortSignal, requestId: unknown): Promise<Record<string, unknown>> {
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
