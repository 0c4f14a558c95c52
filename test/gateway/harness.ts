import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ElicitRequestSchema, type ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { packageRoot } from '../../shared/packageRoot.js';
import { waitFor } from '../support/waitFor.js';

/** The package root, from source (vitest) or from dist/ (benchmarks). */
export const ROOT = packageRoot();
export const GATEWAY_MAIN = join(ROOT, 'dist', 'gateway', 'main.js');
export const FIXTURE_SERVER = join(ROOT, 'dist', 'test', 'fixtures', 'gateway', 'fixtureServer.js');
export const EVERYTHING_BIN = join(ROOT, 'node_modules', '.bin', 'mcp-server-everything');

export interface LogLine {
  level?: number;
  msg?: string;
  upstream?: string;
  [key: string]: unknown;
}

export interface RunningGateway {
  url: string;
  /** The configuration file it was started with. */
  configFile: string;
  /** The address it listens on (differs from `base` when auth.publicUrl names a proxy). */
  direct: string;
  base: string;
  process: ChildProcess;
  logs: LogLine[];
  /** Every line it wrote to stderr, as written. */
  stderrLines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

/** A fixture upstream entry for a config. */
export function fixtureUpstream(namespace: string, extra: Record<string, unknown> = {}, env: Record<string, string> = {}): Record<string, unknown> {
  return {
    namespace,
    stdio: { command: process.execPath, args: [FIXTURE_SERVER], env: { FIXTURE_NAME: namespace, ...env } },
    ...extra,
  };
}

export function everythingUpstream(namespace = 'everything', extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { namespace, stdio: { command: EVERYTHING_BIN, args: ['stdio'] }, ...extra };
}

export function writeConfig(config: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'manifold-gw-'));
  const file = join(dir, 'gateway.json');
  writeFileSync(file, JSON.stringify({ listen: { host: '127.0.0.1', port: 0 }, auth: { mode: 'none-loopback-dev' }, ...config }, null, 2));
  return file;
}

/** Run `node dist/gateway/main.js --config <file>` and wait for the URL it logs. */
export async function startGateway(
  config: Record<string, unknown>,
  options: { env?: Record<string, string>; /** Run this file as it is (on a free port) instead of `config`. */ configFile?: string } = {},
): Promise<RunningGateway> {
  const file = options.configFile ?? writeConfig(config);
  const child = spawn(process.execPath, [GATEWAY_MAIN, '--config', file], {
    // Each gateway keeps its state (tool pins, audit log, auth) in a folder of its own unless a test names one.
    env: {
      ...process.env,
      LOG_LEVEL: 'debug',
      MANIFOLD_DATA_DIR: mkdtempSync(join(tmpdir(), 'manifold-gw-data-')),
      ...(options.configFile ? { MANIFOLD_GATEWAY_PORT: '0' } : {}),
      ...options.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const logs: LogLine[] = [];
  const stderrLines: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    child.once('exit', (code, signal) => resolveExit({ code, signal })),
  );
  const url = await new Promise<string>((resolveUrl, reject) => {
    const lines = createInterface({ input: child.stderr! });
    lines.on('line', (line) => {
      stderrLines.push(line);
      try {
        const entry = JSON.parse(line) as LogLine;
        logs.push(entry);
        if (typeof entry.url === 'string') resolveUrl(entry.url);
      } catch {
        logs.push({ msg: line });
      }
    });
    void exited.then(({ code }) => reject(new Error(`gateway exited (${code}) before listening:\n${logs.map((l) => l.msg).join('\n')}`)));
  });
  const listening = logs.find((entry) => typeof entry.listening === 'string')?.listening as string | undefined;
  return {
    url,
    configFile: file,
    direct: listening ? `http://${listening}` : url.replace(/\/mcp$/, ''),
    base: url.replace(/\/mcp$/, ''),
    process: child,
    logs,
    stderrLines,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface Readiness {
  ready: boolean;
  upstreams: Array<{
    namespace: string;
    state: string;
    pid?: number;
    restarts: number;
    lastError?: string;
    lastLog?: { message: string; ageMs: number };
    tools: number;
    inFlight: number;
  }>;
  catalogProblems: string[];
  sessions: number;
}

/** `/readyz`; its details (upstreams, sessions) need a caller who authenticates: `token` with OAuth. */
export async function readiness(gateway: RunningGateway, token?: string): Promise<Readiness> {
  const response = await fetch(`${gateway.base}/readyz`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return (await response.json()) as Readiness;
}

export async function waitReady(gateway: RunningGateway, timeoutMs = 20_000): Promise<Readiness> {
  return waitFor(
    'gateway /readyz',
    async () => {
      const state = await readiness(gateway);
      return state.ready ? state : undefined;
    },
    timeoutMs,
  );
}

export interface ConnectOptions {
  capabilities?: ClientCapabilities;
  onSampling?: (prompt: string) => string | Promise<string>;
  onElicit?: () => Record<string, unknown>;
  legacy?: boolean;
  name?: string;
}

/** An official SDK client connected to the gateway (Streamable HTTP, or legacy HTTP+SSE). */
export async function connect(url: string, options: ConnectOptions = {}): Promise<Client> {
  const capabilities: ClientCapabilities = options.capabilities ?? {};
  if (options.onSampling) capabilities.sampling = {};
  if (options.onElicit) capabilities.elicitation = { form: {} };
  const client = new Client({ name: options.name ?? 'gateway-test', version: '1.0.0' }, { capabilities });
  if (options.onSampling) {
    const onSampling = options.onSampling;
    client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
      const first = request.params.messages[0]?.content as { type: string; text?: string } | undefined;
      return { role: 'assistant', model: 'test-model', content: { type: 'text', text: await onSampling(first?.text ?? '') } };
    });
  }
  if (options.onElicit) {
    const onElicit = options.onElicit;
    client.setRequestHandler(ElicitRequestSchema, () => ({ action: 'accept', content: onElicit() }) as never);
  }
  const transport = options.legacy ? new SSEClientTransport(new URL(url)) : new StreamableHTTPClientTransport(new URL(url));
  await client.connect(transport);
  return client;
}

export function textOf(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content ?? [];
  return content.map((block) => block.text ?? '').join('');
}

/** The project-management (on `dataDir`) and docs servers as stdio children, as the shipped configuration runs them. */
export function domainUpstreams(dataDir: string): Record<string, unknown>[] {
  const entry = (namespace: string, file: string, env: Record<string, string> = {}) => ({
    namespace,
    stdio: { command: process.execPath, args: [join(ROOT, 'dist', 'servers', file, 'main.js')], cwd: ROOT, env: { LOG_LEVEL: 'warn', ...env } },
  });
  return [entry('pm', 'project-management', { MANIFOLD_DATA_DIR: dataDir }), entry('docs', 'docs', { DOCS_WATCH: '0' })];
}

export interface RawResponse {
  status: number;
  headers: Headers;
  // Tests read into JSON-RPC envelopes of many shapes.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each test narrows the body it expects
  body: any;
}

/** A hand-driven Streamable HTTP session with a fixed bearer token (no OAuth client logic). */
export async function rawSession(
  url: string,
  token: string,
): Promise<{ initStatus: number; sessionId: string | null; call: (method: string, params: Record<string, unknown>) => Promise<RawResponse> }> {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const init = await fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    }),
  });
  const sessionId = init.headers.get('mcp-session-id');
  await init.text();
  let id = 1;
  return {
    initStatus: init.status,
    sessionId,
    call: async (method, params) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { ...headers, ...(sessionId ? { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' } : {}) },
        body: JSON.stringify({ jsonrpc: '2.0', id: id++, method, params }),
      });
      const text = await response.text();
      return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as unknown) : undefined };
    },
  };
}
