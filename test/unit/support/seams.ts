import { vi } from 'vitest';
import { Writable } from 'node:stream';
import type { ClientCapabilities, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { pino } from 'pino';
import type { CallerContext } from '../../../shared/callerContext.js';
import type { Logger } from '../../../shared/logger.js';
import type { ClientSessionLink, UpstreamListener } from '../../../gateway/upstreams/types.js';
import { UpstreamConnection } from '../../../gateway/upstreams/upstreamConnection.js';
import { upstreamSchema, type UpstreamConfig } from '../../../gateway/upstreams/upstreamSettings.js';

/**
 * What the unit tests of the gateway's seams share: a logger whose lines can be read, upstream
 * connections built from real settings, and a client session that records what reaches it.
 */

/** A logger that keeps its lines (parsed JSON) instead of writing them to stderr. */
export function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

export const silentLogger: Logger = pino({ level: 'silent' });

/** One upstream's settings as the configuration file would give them (defaults filled in by the schema). */
export function upstreamConfig(namespace: string, overrides: Record<string, unknown> = {}): UpstreamConfig {
  return upstreamSchema.parse({ namespace, remote: { url: 'http://127.0.0.1:9/mcp', transport: 'streamable-http' }, ...overrides });
}

/** An upstream listener that remembers every event. */
export class RecordingListener implements UpstreamListener {
  readonly states: string[] = [];
  readonly listsChanged: Array<{ namespace: string; kinds: string[] }> = [];
  readonly resourcesUpdated: Array<{ namespace: string; uri: string }> = [];
  readonly logMessages: unknown[] = [];

  onStateChange(_namespace: string, state: string): void {
    this.states.push(state);
  }

  onListsChanged(namespace: string, kinds: ReadonlySet<string>): void {
    this.listsChanged.push({ namespace, kinds: [...kinds].sort() });
  }

  onResourceUpdated(namespace: string, uri: string): void {
    this.resourcesUpdated.push({ namespace, uri });
  }

  onLogMessage(_namespace: string, params: unknown): void {
    this.logMessages.push(params);
  }
}

/**
 * A real upstream connection that is never started: its lists are set by the test, as the
 * connection sets them after listing an upstream. For what reads only the lists (the catalog,
 * the policy stages).
 */
export function listedUpstream(
  namespace: string,
  lists: Partial<Pick<UpstreamConnection, 'tools' | 'prompts' | 'resourceTemplates'>>,
  overrides: Record<string, unknown> = {},
): UpstreamConnection {
  const upstream = new UpstreamConnection(upstreamConfig(namespace, overrides), silentLogger, new RecordingListener());
  upstream.tools = lists.tools ?? [];
  upstream.prompts = lists.prompts ?? [];
  upstream.resourceTemplates = lists.resourceTemplates ?? [];
  return upstream;
}

/** A tool definition as an upstream lists it. */
export function tool(name: string, annotations: Record<string, unknown> = {}, inputSchema: Record<string, unknown> = { type: 'object' }) {
  return { name, description: `${name} (test tool)`, inputSchema: inputSchema as { type: 'object' }, annotations };
}

export function caller(user: string, scopes: string[] = []): CallerContext {
  return { user, scopes };
}

/** A client session that records the requests an upstream sends it mid-call and answers them. */
export class RecordingSession implements ClientSessionLink {
  readonly asked: Array<{ method: string; params: Record<string, unknown> | undefined; relatedRequestId: RequestId | undefined; upstream: string }> = [];

  constructor(
    readonly id: string,
    private readonly capabilities: ClientCapabilities | undefined = {},
    private readonly answer: Record<string, unknown> = {},
  ) {}

  clientCapabilities(): ClientCapabilities | undefined {
    return this.capabilities;
  }

  async requestClient(
    request: { method: string; params?: Record<string, unknown> | undefined },
    relatedRequestId: RequestId | undefined,
    options: { signal: AbortSignal; timeoutMs: number; upstream: string },
  ): Promise<Record<string, unknown>> {
    this.asked.push({ method: request.method, params: request.params, relatedRequestId, upstream: options.upstream });
    return this.answer;
  }
}

/** `vi.waitFor`, checking often: what these tests wait for happens within a few event-loop turns. */
export function eventually<T>(assertion: () => T | Promise<T>): Promise<T> {
  return vi.waitFor(assertion, { interval: 2, timeout: 5_000 });
}
