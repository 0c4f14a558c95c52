import type { ServerResponse } from 'node:http';
import { CallCancellation } from '../upstreams/cancellation.js';
import { noteSentError } from './jsonRpcMessages.js';

type JsonRpcId = string | number | null;

/** How long an SSE answer may stay silent before a comment keeps proxies from closing it. */
const KEEP_ALIVE_MS = 15_000;

/**
 * One 2026-07-28 request/response exchange over Streamable HTTP. The answer is a single JSON
 * body unless something must go out before it (progress), in which case the response becomes an
 * SSE stream carrying those notifications and then the answer (MCP basic/transports). There is
 * no session: when the client closes the connection before the answer, the request is
 * cancelled (the revision's cancellation signal on HTTP).
 */
export class ModernExchange {
  readonly cancellation = new CallCancellation();
  private streaming = false;
  private finished = false;
  private keepAlive: NodeJS.Timeout | undefined;

  constructor(
    private readonly res: ServerResponse,
    readonly id: string | number,
  ) {
    res.once('close', () => {
      this.stopKeepAlive();
      if (!this.finished) this.cancellation.abort(new Error('The client closed the request.'));
    });
  }

  get closed(): boolean {
    return this.finished || this.res.destroyed;
  }

  /** Send a notification related to this request (progress, log), opening the event stream if needed. */
  notify(notification: { method: string; params?: Record<string, unknown> }): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.openStream();
    this.res.write(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', ...notification })}\n\n`);
    return Promise.resolve();
  }

  /** The answer: a result. */
  result(result: Record<string, unknown>): void {
    this.finish({ jsonrpc: '2.0', id: this.id, result }, 200);
  }

  /** The answer: an error; `status` applies only while no stream is open (then the error travels in it). */
  error(code: number, message: string, data?: unknown, status = 200, headers: Record<string, string> = {}): void {
    this.finish({ jsonrpc: '2.0', id: this.id, error: { code, message, ...(data === undefined ? {} : { data }) } }, status, headers);
  }

  private openStream(): void {
    if (this.streaming) return;
    this.streaming = true;
    this.res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache, no-transform', Connection: 'keep-alive' });
    this.res.flushHeaders();
    this.keepAlive = setInterval(() => this.res.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
    this.keepAlive.unref();
  }

  private finish(message: { jsonrpc: '2.0'; id: JsonRpcId; result?: unknown; error?: unknown }, status: number, headers: Record<string, string> = {}): void {
    if (this.closed) return;
    this.finished = true;
    this.stopKeepAlive();
    const body = JSON.stringify(message);
    if (this.streaming) {
      this.res.end(`event: message\ndata: ${body}\n\n`);
      return;
    }
    this.res.writeHead(status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    this.res.end(body);
  }

  private stopKeepAlive(): void {
    clearInterval(this.keepAlive);
    this.keepAlive = undefined;
  }
}

/** A refusal before any exchange began (the ladder): the request id when the body had one. */
export function sendModernError(
  res: ServerResponse,
  status: number,
  id: JsonRpcId,
  code: number,
  message: string,
  data?: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = JSON.stringify({ jsonrpc: '2.0', id, error: { code, message, ...(data === undefined ? {} : { data }) } });
  if (status >= 400) noteSentError(res, { code, message, data });
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
