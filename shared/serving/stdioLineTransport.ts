import type { Readable, Writable } from 'node:stream';
import type { JSONRPCMessage, Transport } from '@modelcontextprotocol/server';
import { LineReader } from '../lineReader.js';
import { lineSender } from '../lineSender.js';

/** Longest line a client may send: a request larger than this is not one a person's client makes. */
const MAX_LINE_LENGTH = 16 * 1024 * 1024;

/**
 * The stdio transport of a server (MCP basic/transports, stdio): newline-delimited JSON-RPC on
 * stdin and stdout. It parses each line with JSON.parse only: the SDK checks every message's
 * shape again where it is dispatched, so its own transport's schema pass per line was paid twice
 * (it was about a tenth of a server's CPU per call). Answers go out through one shared wait for
 * stdout to drain (shared/lineSender.ts). A line that is not JSON is reported and skipped, as
 * the SDK's transport does; stdin closing closes the transport.
 */
export class StdioLineTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private closed = false;
  private readonly send_: (message: unknown) => Promise<void>;
  private readonly reader = new LineReader(
    (line) => this.receive(line),
    MAX_LINE_LENGTH,
    () => this.onerror?.(new Error(`a line on stdin was longer than ${MAX_LINE_LENGTH} characters; it was dropped`)),
  );

  constructor(
    private readonly input: Readable = process.stdin,
    output: Writable = process.stdout,
  ) {
    this.send_ = lineSender(output);
  }

  private readonly onData = (chunk: string): void => this.reader.push(chunk);
  private readonly onEnd = (): void => void this.close();

  async start(): Promise<void> {
    this.input.setEncoding('utf8');
    this.input.on('data', this.onData);
    this.input.once('end', this.onEnd);
    this.input.once('close', this.onEnd);
  }

  private receive(line: string): void {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      this.onerror?.(new Error(`a line on stdin is not JSON: ${line.slice(0, 120)}`));
      return;
    }
    this.onmessage?.(message as JSONRPCMessage);
  }

  send(message: JSONRPCMessage): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the stdio transport is closed'));
    return this.send_(message);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.input.off('data', this.onData);
    this.input.off('end', this.onEnd);
    this.input.off('close', this.onEnd);
    this.input.pause();
    this.onclose?.();
  }
}
