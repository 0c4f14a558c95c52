import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { LineReader } from '../../shared/lineReader.js';
import { lineSender } from '../../shared/lineSender.js';
import { recordWireSize } from './wireSize.js';

export interface ChildLaunch {
  command: string;
  args: readonly string[];
  env: Record<string, string>;
  cwd: string | undefined;
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const MAX_LINE_BYTES = 64 * 1024 * 1024;

/**
 * The stdio transport to a child MCP server (MCP spec, transports: stdio — newline-delimited
 * JSON-RPC on stdin/stdout, logs on stderr). Unlike the SDK's StdioClientTransport it reports
 * the exit status, can kill a hung child at once, and parses lines with JSON.parse only:
 * the SDK's Protocol classifies every message again, so a schema pass here would be paid twice.
 */
export class ChildProcessTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private child: ChildProcess | undefined;
  private sendLine: ((message: unknown) => Promise<void>) | undefined;
  private readonly lines = new LineReader(
    (line) => this.deliver(line),
    MAX_LINE_BYTES,
    () => {
      this.onerror?.(new Error(`child wrote a line longer than ${MAX_LINE_BYTES} bytes; stopping it`));
      this.kill();
    },
  );
  private closed = false;
  exit: ChildExit | undefined;

  constructor(private readonly launch: ChildLaunch) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The child's stderr, available once started. */
  get stderr(): Readable | null {
    return this.child?.stderr ?? null;
  }

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.launch.command, [...this.launch.args], {
        env: this.launch.env,
        cwd: this.launch.cwd,
        stdio: ['pipe', 'pipe', 'pipe'],
        shell: false,
      });
      this.child = child;
      child.once('error', (error) => {
        reject(error);
        this.onerror?.(error);
        this.finish();
      });
      child.once('spawn', () => resolve());
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
      });
      child.once('close', (code, signal) => {
        this.exit ??= { code, signal };
        this.finish();
      });
      child.stdin?.on('error', (error) => this.onerror?.(error));
      if (child.stdin) this.sendLine = lineSender(child.stdin);
      child.stdout?.setEncoding('utf8');
      child.stdout?.on('data', (chunk: string) => this.lines.push(chunk));
    });
  }

  private deliver(line: string): void {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      this.onerror?.(new Error(`child wrote a non-JSON line on stdout: ${line.slice(0, 200)}`));
      return;
    }
    if (typeof message !== 'object' || message === null || (message as { jsonrpc?: unknown }).jsonrpc !== '2.0') {
      this.onerror?.(new Error(`child wrote a line that is not JSON-RPC 2.0: ${line.slice(0, 200)}`));
      return;
    }
    const result = (message as { result?: unknown }).result;
    if (typeof result === 'object' && result !== null) recordWireSize(result, Buffer.byteLength(line, 'utf8'));
    this.onmessage?.(message as JSONRPCMessage);
  }

  send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.child?.stdin;
    if (!stdin || !this.sendLine || this.closed || !stdin.writable) return Promise.reject(new Error('child process is not running'));
    return this.sendLine(message);
  }

  /** Kill at once (a hung child is not given a grace period). */
  kill(): void {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  /**
   * Ask the child to stop: close stdin (the stdio spec's shutdown signal), then SIGTERM,
   * then SIGKILL, each after `graceMs`.
   */
  async close(graceMs = 2000): Promise<void> {
    const child = this.child;
    if (!child || this.closed) return;
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    const wait = (ms: number): Promise<boolean> => Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
    child.stdin?.end();
    if (!(await wait(graceMs))) {
      child.kill('SIGTERM');
      if (!(await wait(graceMs))) child.kill('SIGKILL');
    }
    await exited;
    this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.onclose?.();
  }
}
