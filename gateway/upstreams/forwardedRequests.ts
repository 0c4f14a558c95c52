import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError, type JSONRPCMessage, type Progress } from '@modelcontextprotocol/sdk/types.js';
import { isPlainObject } from '../../shared/jsonRpcDispatch.js';
import type { Cancellation } from './cancellation.js';

export interface ForwardedRequestOptions {
  cancellation?: Cancellation | undefined;
  onprogress?: ((progress: Progress) => void) | undefined;
  /** Without an answer (or, with `onprogress`, a progress notification) for this long, the request is cancelled. */
  timeoutMs: number;
  /** Progress never extends a request beyond this. */
  maxTotalTimeoutMs: number;
  /** HTTP headers for this request alone (a Streamable HTTP upstream; stdio ignores them). */
  headers?: Readonly<Record<string, string>> | undefined;
  /** Told the request's id on the connection before it is sent (for holdDeadline). */
  onId?: ((id: number) => void) | undefined;
}

/** What `send` takes besides the message; the SDK v2 client transports also take per-request `headers`. */
type SendWithHeaders = (message: JSONRPCMessage, options?: { headers?: Readonly<Record<string, string>> }) => Promise<void>;

interface Pending {
  resolve: (result: Record<string, unknown>) => void;
  reject: (error: unknown) => void;
  onprogress: ((progress: Progress) => void) | undefined;
  /** When it times out (Date.now() clock); moved on by progress. */
  deadline: number;
  startedAt: number;
  timeoutMs: number;
  maxTotalTimeoutMs: number;
  /** Removes the cancellation listener. */
  stopListening: (() => void) | undefined;
  /** Requests the upstream sent the end client during this one that are not answered yet (holdDeadline). */
  held: number;
}

/** Above any id the SDK client's own counter (from 0) reaches on the same connection. */
const FIRST_ID = 2 ** 40;

/**
 * The requests the gateway forwards to one upstream connection (tools/call, resources/read,
 * prompts/get…), tracked here rather than by the SDK client, whose per-request bookkeeping
 * and two schema passes over each answer were a tenth of the gateway's CPU per call. Results
 * are passed on as they came; the SDK client keeps everything else on the connection
 * (initialize, lists, ping, the upstream's own requests and notifications).
 *
 * The semantics are the SDK's (Protocol.request): a request that gets no answer within
 * `timeoutMs` — reset by each progress notification, never beyond `maxTotalTimeoutMs` — is
 * cancelled upstream (notifications/cancelled) and fails with RequestTimeout; a cancelled
 * call is cancelled upstream likewise; a closed connection fails every request with ConnectionClosed;
 * an error answer becomes an McpError.
 *
 * Timeouts share one timer, armed for the soonest deadline, rather than a timer per request:
 * with requests answered in milliseconds and timed out after many seconds, it fires about once
 * per timeout period, and a request costs no timer of its own.
 */
export class ForwardedRequests {
  private readonly pending = new Map<number, Pending>();
  private nextId = FIRST_ID;
  private closed = false;
  private sweepTimer: NodeJS.Timeout | undefined;
  /** The deadline the sweep timer is armed for; Infinity when it is not armed. */
  private sweepAt = Infinity;

  /** Install on a transport the SDK client is already connected to: its messages pass here first. */
  constructor(private readonly transport: Transport) {
    const deliver = transport.onmessage;
    transport.onmessage = (message, extra) => {
      if (!this.take(message)) deliver?.call(transport, message, extra);
    };
    const onclose = transport.onclose;
    transport.onclose = () => {
      onclose?.call(transport);
      this.closeAll();
    };
  }

  get size(): number {
    return this.pending.size;
  }

  request(method: string, params: Record<string, unknown> | undefined, options: ForwardedRequestOptions): Promise<Record<string, unknown>> {
    if (this.closed) return Promise.reject(new McpError(ErrorCode.ConnectionClosed, 'Connection closed'));
    const { cancellation, onprogress } = options;
    if (cancellation?.aborted) return Promise.reject(cancellation.reason);
    const id = this.nextId++;
    const startedAt = Date.now();
    const deadline = startedAt + options.timeoutMs;
    if (deadline < this.sweepAt) this.armSweep(deadline, startedAt);
    const sent = onprogress ? { ...params, _meta: { ...(isPlainObject(params?._meta) ? params._meta : {}), progressToken: id } } : params;
    return new Promise((resolve, reject) => {
      const entry: Pending = {
        resolve,
        reject,
        onprogress,
        deadline,
        startedAt,
        timeoutMs: options.timeoutMs,
        maxTotalTimeoutMs: options.maxTotalTimeoutMs,
        stopListening: cancellation?.onAbort((reason) => this.cancel(id, reason)),
        held: 0,
      };
      options.onId?.(id);
      this.pending.set(id, entry);
      const message = (sent === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params: sent }) as JSONRPCMessage;
      const sending = options.headers
        ? (this.transport.send as SendWithHeaders).call(this.transport, message, { headers: options.headers })
        : this.transport.send(message);
      sending.catch((error: unknown) => {
        if (this.settle(id)) reject(error);
      });
    });
  }

  /** A response to, or progress of, one of these requests; false for anything else. */
  private take(message: JSONRPCMessage): boolean {
    const fields = message as { id?: unknown; method?: unknown; params?: { progressToken?: unknown }; result?: unknown; error?: unknown };
    if (fields.method === undefined) {
      if (typeof fields.id !== 'number' || fields.id < FIRST_ID) return false;
      const entry = this.pending.get(fields.id);
      // The answer to a request already cancelled (timeout, abort) is dropped.
      if (!entry) return true;
      this.settle(fields.id);
      if (isPlainObject(fields.result)) {
        entry.resolve(fields.result);
      } else {
        const error = isPlainObject(fields.error) ? fields.error : {};
        const code = typeof error.code === 'number' ? error.code : ErrorCode.InternalError;
        entry.reject(new McpError(code, typeof error.message === 'string' ? error.message : 'the upstream answered with a malformed error', error.data));
      }
      return true;
    }
    if (fields.method === 'notifications/progress' && typeof fields.params?.progressToken === 'number') {
      const id = fields.params.progressToken;
      const entry = this.pending.get(id);
      if (!entry?.onprogress) return false;
      const now = Date.now();
      const elapsed = now - entry.startedAt;
      if (elapsed >= entry.maxTotalTimeoutMs) {
        this.cancel(
          id,
          new McpError(ErrorCode.RequestTimeout, 'Maximum total timeout exceeded', { maxTotalTimeout: entry.maxTotalTimeoutMs, totalElapsed: elapsed }),
        );
        return true;
      }
      entry.deadline = now + entry.timeoutMs;
      const { progressToken: _token, ...progress } = fields.params as Progress & { progressToken: number };
      entry.onprogress(progress);
      return true;
    }
    return false;
  }

  /** Forget a request (its answer, if it comes, is dropped); false if it was already settled. */
  private settle(id: number): boolean {
    const entry = this.pending.get(id);
    if (!entry) return false;
    this.pending.delete(id);
    entry.stopListening?.();
    return true;
  }

  private cancel(id: number, reason: unknown): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.settle(id);
    this.transport.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: String(reason) } }).catch(() => undefined);
    entry.reject(reason instanceof McpError ? reason : new McpError(ErrorCode.RequestTimeout, String(reason)));
  }

  private armSweep(deadline: number, now: number): void {
    clearTimeout(this.sweepTimer);
    this.sweepAt = deadline;
    this.sweepTimer = setTimeout(() => this.sweep(), Math.max(0, deadline - now));
    // Pending requests do not keep the process alive on their own (the connection does).
    this.sweepTimer.unref();
  }

  /**
   * The upstream has asked the end client something during request `id` (sampling,
   * elicitation) and waits for the answer: a person may take longer than the request's timeout,
   * so it does not run until the answer is given (the total ceiling still holds). Returns what
   * ends the hold; the timeout then starts again.
   */
  holdDeadline(id: number): () => void {
    const entry = this.pending.get(id);
    if (!entry) return () => undefined;
    entry.held++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      entry.held--;
      if (this.pending.get(id) !== entry) return;
      const now = Date.now();
      entry.deadline = Math.max(entry.deadline, now + entry.timeoutMs);
      if (entry.deadline < this.sweepAt) this.armSweep(entry.deadline, now);
    };
  }

  /** Time out every request past its deadline, and arm the timer for the soonest one left. */
  private sweep(): void {
    this.sweepTimer = undefined;
    this.sweepAt = Infinity;
    const now = Date.now();
    let soonest = Infinity;
    for (const [id, entry] of [...this.pending]) {
      if (entry.held > 0) {
        // Waiting on the end client: only the total ceiling applies.
        const ceiling = entry.startedAt + entry.maxTotalTimeoutMs;
        if (ceiling <= now)
          this.cancel(id, new McpError(ErrorCode.RequestTimeout, 'Maximum total timeout exceeded', { maxTotalTimeout: entry.maxTotalTimeoutMs }));
        else if (ceiling < soonest) soonest = ceiling;
        continue;
      }
      if (entry.deadline <= now) this.cancel(id, new McpError(ErrorCode.RequestTimeout, 'Request timed out', { timeout: entry.timeoutMs }));
      else if (entry.deadline < soonest) soonest = entry.deadline;
    }
    if (soonest !== Infinity && soonest < this.sweepAt) this.armSweep(soonest, now);
  }

  private closeAll(): void {
    this.closed = true;
    clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
    this.sweepAt = Infinity;
    for (const [id, entry] of [...this.pending]) {
      this.settle(id);
      entry.reject(new McpError(ErrorCode.ConnectionClosed, 'Connection closed'));
    }
  }
}
