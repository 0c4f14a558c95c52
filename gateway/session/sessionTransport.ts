import type { ServerResponse } from 'node:http';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, MessageExtraInfo, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { SseEventLog, type LoggedEvent } from './sseEventLog.js';

/** One SSE stream of a session: the standalone GET stream, or the stream of one POST. */
interface SseStream {
  id: string;
  sink: ServerResponse | undefined;
  /** The last sequence written to a live sink (what a fresh GET has not yet seen). */
  deliveredSeq: number;
  finished: boolean;
}

/** One POST carrying requests: answered as JSON, or upgraded to SSE by the first related message. */
interface Exchange {
  res: ServerResponse;
  pending: Set<RequestId>;
  responses: JSONRPCMessage[];
  batch: boolean;
  stream: SseStream | undefined;
}

const SSE_HEADERS = { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache, no-transform', Connection: 'keep-alive' };
/** 2025-11-25 added priming events (an id before any data) so that a POST stream can resume. */
const PRIMING_FROM_VERSION = '2025-11-25';

export function isResponseMessage(message: JSONRPCMessage): message is JSONRPCMessage & { id: RequestId } {
  return !('method' in message) && 'id' in message;
}

/**
 * The SDK `Transport` behind one client session, fed by the gateway's own HTTP handlers
 * (Koa), so that the protocol layer is the SDK's `Server` while the HTTP path stays lean:
 * no Node→Web→Node conversion, one JSON.stringify per message.
 *
 * Streamable HTTP (MCP spec 2025-11-25, transports): a POST with requests stays open until
 * their responses; it is answered with `application/json` unless a message related to one of
 * its requests (progress, a sampling request…) is sent first, in which case it becomes an SSE
 * stream. Unrelated messages go to the standalone GET stream. Every SSE event is logged for
 * `Last-Event-ID` replay.
 *
 * Legacy HTTP+SSE (2024-11-05): every message goes as `event: message` on the one GET stream.
 */
export class SessionTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void;

  protocolVersion: string | undefined;
  /** Time of the last request or open stream, for the idle sweep. */
  lastActivity = Date.now();

  private readonly exchanges = new Map<RequestId, Exchange>();
  private readonly streams = new Map<string, SseStream>();
  private readonly standalone: SseStream = { id: 's0', sink: undefined, deliveredSeq: 0, finished: false };
  private readonly log: SseEventLog;
  private nextStream = 0;
  private closed = false;
  private legacySink: ServerResponse | undefined;
  private initializeId: RequestId | undefined;
  /**
   * Told of a message for the standalone stream while this instance holds none: in a cluster the
   * session's GET stream may be open on another instance, which can deliver it.
   */
  onStandaloneUndelivered: ((message: JSONRPCMessage) => void) | undefined;
  /**
   * In a cluster, copies of this session on several instances each send the client requests
   * (sampling, elicitation) under ids of their own counting: the ids go out tagged with this
   * instance (`<tag>.<id>`), so that the client's answer, whichever instance it reaches, can be
   * taken back to the one that asked. Undefined: one instance, ids as the SDK made them.
   */
  instanceTag: string | undefined;
  /**
   * Told of a client message that belongs to another instance's copy of this session: an answer
   * to a request another instance sent, or a cancellation of a request in flight elsewhere.
   */
  onForeignClientMessage: ((message: JSONRPCMessage) => void) | undefined;

  constructor(
    readonly sessionId: string,
    readonly mode: 'streamable' | 'legacy-sse',
    replayBufferEvents: number,
  ) {
    this.log = new SseEventLog(mode === 'streamable' ? replayBufferEvents : 0);
    this.streams.set(this.standalone.id, this.standalone);
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  setProtocolVersion(version: string): void {
    this.protocolVersion = version;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Client requests not yet answered (graceful shutdown waits for them). */
  get pendingRequests(): number {
    return this.exchanges.size;
  }

  /** Open SSE connections (they keep a session alive). */
  get openStreams(): number {
    let open = this.legacySink ? 1 : 0;
    for (const stream of this.streams.values()) if (stream.sink) open++;
    return open;
  }

  // --- from the client ----------------------------------------------------------------------

  /**
   * Messages of one POST. Requests keep `res` open until answered; a POST of only
   * notifications and responses is acknowledged with 202 at once.
   */
  receivePost(res: ServerResponse, messages: JSONRPCMessage[], batch: boolean, extra?: MessageExtraInfo): void {
    this.lastActivity = Date.now();
    let exchange: Exchange | undefined;
    for (const message of messages) {
      if ('method' in message && 'id' in message) {
        if (message.method === 'initialize') this.initializeId = message.id;
        exchange ??= { res, pending: new Set(), responses: [], batch, stream: undefined };
        exchange.pending.add(message.id);
        this.exchanges.set(message.id, exchange);
      }
    }
    if (exchange) {
      const open = exchange;
      res.once('close', () => this.onExchangeClosed(open));
    } else {
      res.writeHead(202).end();
    }
    for (const message of messages) this.receiveOne(message, extra, false);
  }

  /** A client message another instance received for this session (see onForeignClientMessage): taken here if it is this instance's. */
  receiveRelayed(message: JSONRPCMessage): void {
    if (!this.closed) this.receiveOne(message, undefined, true);
  }

  private receiveOne(message: JSONRPCMessage, extra: MessageExtraInfo | undefined, relayed: boolean): void {
    const tag = this.instanceTag;
    if (tag !== undefined && !('method' in message) && 'id' in message) {
      // An answer to a request of ours, or of another instance's copy of the session.
      const id = message.id;
      if (typeof id === 'string' && id.startsWith(`${tag}.`)) {
        this.onmessage?.({ ...message, id: Number(id.slice(tag.length + 1)) } as JSONRPCMessage, extra);
      } else if (!relayed) {
        this.onForeignClientMessage?.(message);
      }
      return;
    }
    if ('method' in message && message.method === 'notifications/cancelled') {
      const requestId = (message.params as { requestId?: RequestId } | undefined)?.requestId;
      const here = requestId !== undefined && this.exchanges.has(requestId);
      if (relayed && !here) return;
      // The cancelled request may be in flight on another instance's copy of the session.
      if (tag !== undefined && !relayed && !here) this.onForeignClientMessage?.(message);
      this.onmessage?.(message, extra);
      this.onCancelled(message.params);
      return;
    }
    if (relayed) return;
    this.onmessage?.(message, extra);
  }

  /** Legacy POST /messages: answered 202; replies travel on the SSE stream. */
  receiveLegacy(message: JSONRPCMessage, extra?: MessageExtraInfo): void {
    this.lastActivity = Date.now();
    if ('method' in message && 'id' in message && message.method === 'initialize') this.initializeId = message.id;
    this.onmessage?.(message, extra);
  }

  /** A cancelled request gets no response (MCP spec, cancellation): release its POST. */
  private onCancelled(params: unknown): void {
    const requestId = (params as { requestId?: RequestId } | undefined)?.requestId;
    if (requestId === undefined) return;
    const exchange = this.exchanges.get(requestId);
    if (!exchange) return;
    this.exchanges.delete(requestId);
    exchange.pending.delete(requestId);
    if (exchange.pending.size === 0) this.completeExchange(exchange);
  }

  private onExchangeClosed(exchange: Exchange): void {
    if (exchange.stream) {
      // An SSE POST stream that dropped stays resumable until its responses are sent.
      exchange.stream.sink = undefined;
      return;
    }
    // A JSON POST that dropped cannot be answered; responses arriving later are discarded.
    for (const id of exchange.pending) if (this.exchanges.get(id) === exchange) this.exchanges.delete(id);
    exchange.pending.clear();
  }

  // --- to the client ------------------------------------------------------------------------

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.initializeId !== undefined && isResponseMessage(message) && message.id === this.initializeId) {
      this.initializeId = undefined;
      const version = (message as { result?: { protocolVersion?: unknown } }).result?.protocolVersion;
      if (typeof version === 'string') this.protocolVersion = version;
    }
    if (this.mode === 'legacy-sse') {
      this.legacySink?.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
      return Promise.resolve();
    }
    if (isResponseMessage(message)) {
      const exchange = this.exchanges.get(message.id);
      if (!exchange) return Promise.resolve();
      this.exchanges.delete(message.id);
      exchange.pending.delete(message.id);
      if (exchange.stream) this.writeEvent(exchange.stream, JSON.stringify(message));
      else exchange.responses.push(message);
      if (exchange.pending.size === 0) this.completeExchange(exchange);
      return Promise.resolve();
    }
    if (this.instanceTag !== undefined && 'method' in message && 'id' in message) message = { ...message, id: `${this.instanceTag}.${String(message.id)}` };
    const related = options?.relatedRequestId;
    const exchange = related === undefined ? undefined : this.exchanges.get(related);
    if (exchange && (exchange.stream || !exchange.res.destroyed)) {
      // A dropped POST stream keeps collecting its events for Last-Event-ID replay.
      const stream = exchange.stream ?? this.upgradeToSse(exchange);
      this.writeEvent(stream, JSON.stringify(message));
      return Promise.resolve();
    }
    if (!this.hasStandaloneStream) this.onStandaloneUndelivered?.(message);
    this.writeEvent(this.standalone, JSON.stringify(message));
    return Promise.resolve();
  }

  /** Whether a GET stream of this session is open on this instance. */
  get hasStandaloneStream(): boolean {
    return this.standalone.sink !== undefined && !this.standalone.sink.destroyed;
  }

  /** A message another instance could not deliver (see onStandaloneUndelivered): sent on the GET stream if it is open here. */
  deliverRelayed(message: JSONRPCMessage): boolean {
    if (this.closed || !this.hasStandaloneStream) return false;
    this.writeEvent(this.standalone, JSON.stringify(message));
    return true;
  }

  private completeExchange(exchange: Exchange): void {
    if (exchange.stream) {
      exchange.stream.finished = true;
      this.streams.delete(exchange.stream.id);
      exchange.stream.sink?.end();
      exchange.stream.sink = undefined;
      return;
    }
    const { res } = exchange;
    if (res.destroyed || res.headersSent) return;
    if (exchange.responses.length === 0) {
      res.writeHead(202).end();
      return;
    }
    const body = JSON.stringify(exchange.batch ? exchange.responses : exchange.responses[0]);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Mcp-Session-Id': this.sessionId, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }

  private upgradeToSse(exchange: Exchange): SseStream {
    const stream: SseStream = { id: `p${(++this.nextStream).toString(36)}`, sink: exchange.res, deliveredSeq: 0, finished: false };
    this.streams.set(stream.id, stream);
    exchange.stream = stream;
    exchange.res.writeHead(200, { ...SSE_HEADERS, 'Mcp-Session-Id': this.sessionId });
    if (this.protocolVersion !== undefined && this.protocolVersion >= PRIMING_FROM_VERSION) {
      this.writeEvent(stream, '');
    }
    for (const response of exchange.responses.splice(0)) this.writeEvent(stream, JSON.stringify(response));
    return stream;
  }

  private writeEvent(stream: SseStream, payload: string): void {
    const event = this.log.append(stream.id, payload);
    if (stream.sink && !stream.sink.destroyed) {
      stream.sink.write(formatEvent(event));
      stream.deliveredSeq = event.seq;
    }
  }

  // --- GET streams --------------------------------------------------------------------------

  /**
   * Attach a GET connection: a fresh standalone stream, or the resumption of the stream that
   * `lastEventId` belongs to (events after it are replayed first). Returns an HTTP status
   * and message when it cannot be attached.
   */
  attachGet(res: ServerResponse, lastEventId: string | undefined): { status: number; message: string } | undefined {
    let stream = this.standalone;
    let afterSeq = this.standalone.deliveredSeq;
    if (lastEventId !== undefined) {
      const parsed = SseEventLog.parseId(lastEventId);
      if (!parsed) return { status: 400, message: `Last-Event-ID "${lastEventId}" was not issued by this session.` };
      afterSeq = parsed.seq;
      const known = this.streams.get(parsed.streamId);
      if (!known) {
        // A finished stream: replay what is left of it and close.
        res.writeHead(200, { ...SSE_HEADERS, 'Mcp-Session-Id': this.sessionId });
        for (const event of this.log.after(parsed.streamId, afterSeq)) res.write(formatEvent(event));
        res.end();
        return undefined;
      }
      stream = known;
    }
    if (stream.sink && !stream.sink.destroyed) {
      return { status: 409, message: 'This session already has an open stream of that kind. Close it before opening another.' };
    }
    this.lastActivity = Date.now();
    res.writeHead(200, { ...SSE_HEADERS, 'Mcp-Session-Id': this.sessionId });
    stream.sink = res;
    res.once('close', () => {
      if (stream.sink === res) stream.sink = undefined;
      this.lastActivity = Date.now();
    });
    const backlog = this.log.after(stream.id, afterSeq);
    for (const event of backlog) res.write(formatEvent(event));
    const last = backlog.at(-1);
    if (last) stream.deliveredSeq = last.seq;
    if (this.protocolVersion !== undefined && this.protocolVersion >= PRIMING_FROM_VERSION && backlog.length === 0) {
      this.writeEvent(stream, '');
    } else {
      res.write(': stream open\n\n');
    }
    return undefined;
  }

  /** Legacy HTTP+SSE: the GET stream, announcing where to POST (2024-11-05 `endpoint` event). */
  attachLegacy(res: ServerResponse, postPath: string): void {
    res.writeHead(200, SSE_HEADERS);
    res.write(`event: endpoint\ndata: ${postPath}\n\n`);
    this.legacySink = res;
    res.once('close', () => {
      this.legacySink = undefined;
      void this.close();
    });
  }

  /** An SSE comment on every open stream, so that proxies keep idle streams open. */
  keepAlive(): void {
    for (const stream of this.streams.values()) if (stream.sink && !stream.sink.destroyed) stream.sink.write(': keepalive\n\n');
    if (this.legacySink && !this.legacySink.destroyed) this.legacySink.write(': keepalive\n\n');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const exchange of new Set(this.exchanges.values())) {
      if (exchange.stream) exchange.stream.sink?.end();
      else if (!exchange.res.headersSent && !exchange.res.destroyed) {
        exchange.res.writeHead(404, { 'Content-Type': 'application/json' });
        exchange.res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session closed.' } }));
      }
    }
    this.exchanges.clear();
    for (const stream of this.streams.values()) stream.sink?.end();
    this.streams.clear();
    this.legacySink?.end();
    this.legacySink = undefined;
    this.onclose?.();
  }
}

function formatEvent(event: LoggedEvent): string {
  const id = SseEventLog.formatId(event);
  return event.payload === '' ? `id: ${id}\ndata: \n\n` : `id: ${id}\nevent: message\ndata: ${event.payload}\n\n`;
}
