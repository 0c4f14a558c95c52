import { existsSync, mkdtempSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/server';
import { FAILURE_META_KEY } from '../../shared/errors.js';
import { createLogger } from '../../shared/logger.js';
import { DocsIndex } from '../../servers/docs/docsIndex.js';
import { watchDocs, type DocsWatcher } from '../../servers/docs/docsWatcher.js';
import { publishDocsChanges } from '../../servers/docs/resources.js';
import { createDocsServer } from '../../servers/docs/server.js';
import { connectClient, LEGACY_V1, type ClientKind, type EraClient, type ServerTarget } from '../support/eraClients.js';
import { distEntry, ROOT, startHttpServer, type HttpServerProcess } from '../support/processes.js';
import { waitFor } from '../support/waitFor.js';

export const REPO_ROOT = ROOT;
export const FIXTURE_DOCS = path.join(REPO_ROOT, 'test/fixtures/docs');
export const DOCS_ENTRY = 'servers/docs/main.js';
export const DOCS_MAIN = distEntry(DOCS_ENTRY);
/** Quiet period of the watcher in tests: short, so changes show up quickly. */
const WATCH_DEBOUNCE_MS = 50;

/** A private copy of the fixture tree, so tests can edit, add and delete files. */
export async function copyFixtureTree(): Promise<{ root: string; remove: () => Promise<void> }> {
  const parent = await fs.mkdtemp(path.join(os.tmpdir(), 'manifold-docs-'));
  const root = path.join(parent, 'docs');
  await fs.cp(FIXTURE_DOCS, root, { recursive: true });
  return { root, remove: () => fs.rm(parent, { recursive: true, force: true }) };
}

/** The structuredContent of a tool result, typed by the caller. */
export function structured<T>(result: unknown): T {
  const value = (result as CallToolResult).structuredContent;
  if (value === undefined) throw new Error(`tool result has no structuredContent: ${JSON.stringify(result)}`);
  return value as T;
}

/** The stable failure code and message of an `isError` tool result (shared/errors.ts puts them in _meta). */
export function failureOf(result: unknown): { code: string; message: string } {
  const failure = (result as CallToolResult)._meta?.[FAILURE_META_KEY] as { code?: unknown; message?: unknown } | undefined;
  if (typeof failure?.code !== 'string' || typeof failure.message !== 'string') {
    throw new Error(`tool result carries no failure: ${JSON.stringify(result)}`);
  }
  return { code: failure.code, message: failure.message };
}

export function textOf(result: unknown): string {
  return ((result as CallToolResult).content ?? []).map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

/** The text of the first content item of a resources/read result. */
export function resourceText(result: { contents: ReadonlyArray<{ uri: string } & ({ text: string } | { blob: string })> }): string {
  const first = result.contents[0];
  if (!first || !('text' in first)) throw new Error('expected a text resource');
  return first.text;
}

/** Every change notification a client received, in order, whatever it subscribed to. */
export interface NotificationLog {
  updated: string[];
  listChanged: number;
}

/** A client of either era together with what the server sent it. */
export interface DocsConnection {
  client: EraClient;
  notifications: NotificationLog;
}

/** Subscribe to documents the way the client's era does (resources/subscribe, or a listen stream); resolves once accepted. */
export function subscribe(client: EraClient, ...uris: string[]): Promise<() => Promise<void>> {
  return client.watchResources(uris, () => undefined);
}

/** Hear resource list changes: unsolicited on 2025-11-25, a listen stream on 2026-07-28. */
export function hearListChanges(client: EraClient): Promise<() => Promise<void>> {
  return client.watchListChanges('resources', () => undefined);
}

async function connectRecording(kind: ClientKind, target: ServerTarget): Promise<DocsConnection> {
  const notifications: NotificationLog = { updated: [], listChanged: 0 };
  const client = await connectClient(kind, target, {
    onNotification: (method, params) => {
      if (method === 'notifications/resources/updated' && typeof params.uri === 'string') notifications.updated.push(params.uri);
      if (method === 'notifications/resources/list_changed') notifications.listChanged += 1;
    },
  });
  if (target.kind !== 'memory') {
    await untilIndexed(client);
    // The end of the first build is announced (resources/list_changed): start from a clean log.
    notifications.updated.length = 0;
    notifications.listChanged = 0;
  }
  return { client, notifications };
}

/**
 * A server process answers before its index is built: wait until list_documents no longer
 * reports indexing (the build is done and the watcher is watching).
 */
export async function untilIndexed(client: EraClient): Promise<void> {
  await waitFor('the docs index to be ready', async () => {
    const result = await client.callTool({ name: 'list_documents', arguments: { limit: 1 } });
    return structured<{ indexing?: unknown }>(result).indexing === undefined;
  });
}

export interface InProcessOptions {
  baseUrl?: string;
  watch?: boolean;
  maxFiles?: number;
  maxFileBytes?: number;
  /** The client's protocol era (default: 2025-11-25 over SDK v1). */
  client?: ClientKind;
}

/** Clients of either era on one docs server, however it runs. */
export interface RunningDocs {
  /** A new client of `kind` (over stdio, each client has a server process of its own). */
  connect(kind: ClientKind): Promise<DocsConnection>;
  /** Closes every client, then the server. */
  close(): Promise<void>;
}

/** The server in this process, with its index and watcher. */
export interface InProcessServer extends RunningDocs {
  docsIndex: DocsIndex;
  watcher: DocsWatcher | undefined;
}

/** The server in this process with a first client (of `options.client`). */
export interface InProcessDocs extends DocsConnection, InProcessServer {}

/** A server target that tracks the clients connected to it, so one call closes them all. */
function trackConnections(target: ServerTarget, closeServer: () => Promise<void>): RunningDocs {
  const connections: DocsConnection[] = [];
  return {
    connect: async (kind) => {
      const connection = await connectRecording(kind, target);
      connections.push(connection);
      return connection;
    },
    close: async () => {
      for (const connection of connections) await connection.client.close().catch(() => undefined);
      await closeServer();
    },
  };
}

/**
 * The docs server built by its factory in this process: a 2025 client over linked in-memory
 * transports, a 2026 client through the SDK's HTTP handler, both fed by the index's change bus.
 */
export async function startInProcess(root: string, options: InProcessOptions = {}): Promise<InProcessDocs> {
  const server = await startInProcessServer(root, options);
  const first = await server.connect(options.client ?? LEGACY_V1);
  return { ...first, ...server };
}

/** The docs server in this process, no client connected yet. */
export async function startInProcessServer(root: string, options: Omit<InProcessOptions, 'client'> = {}): Promise<InProcessServer> {
  const logger = createLogger('docs-test', 'silent');
  const docsIndex = await DocsIndex.open({
    rootPath: root,
    logger,
    maxFiles: options.maxFiles ?? 1000,
    maxFileBytes: options.maxFileBytes ?? 1024 * 1024,
  });
  const watcher = options.watch ? await watchDocs({ docsIndex, logger, debounceMs: WATCH_DEBOUNCE_MS }) : undefined;
  const changes = publishDocsChanges(docsIndex);
  const deps = {
    docsIndex,
    logger,
    baseUrl: options.baseUrl ? new URL(options.baseUrl) : undefined,
    trustCallerMeta: false,
    localUser: 'tester',
    changes,
  };
  const target: ServerTarget = { kind: 'memory', createServer: (instance) => createDocsServer(deps, instance), changes };
  const running = trackConnections(target, async () => {
    await watcher?.close();
  });
  return { ...running, docsIndex, watcher };
}

/**
 * The data directory a server process keeps its index in: beside the tree (so removing the
 * tree's temp folder removes it), or a temp folder of its own for the default docs root.
 */
export function dataDirFor(env: Record<string, string | undefined>): string {
  if (env.MANIFOLD_DATA_DIR) return env.MANIFOLD_DATA_DIR;
  if (env.DOCS_ROOT) return path.join(path.dirname(env.DOCS_ROOT), 'data');
  return mkdtempSync(path.join(os.tmpdir(), 'manifold-docs-data-'));
}

export function assertBuilt(): void {
  if (!existsSync(DOCS_MAIN)) {
    throw new Error(`${DOCS_MAIN} is missing: build first (npx tsc -p .).`);
  }
}

export interface StdioDocs extends DocsConnection {
  /** Everything the process wrote to stderr so far (its JSON log lines). */
  stderr(): string;
  close(): Promise<void>;
}

/** The real server process over stdio, as a desktop client would launch it, with a client of `kind`. */
export async function startStdioProcess(env: Record<string, string>, kind: ClientKind = LEGACY_V1, cwd?: string): Promise<StdioDocs> {
  assertBuilt();
  let stderr = '';
  const connection = await connectRecording(kind, {
    kind: 'stdio',
    entry: DOCS_ENTRY,
    env: { LOG_LEVEL: 'info', DOCS_WATCH_DEBOUNCE_MS: String(WATCH_DEBOUNCE_MS), MANIFOLD_DATA_DIR: dataDirFor(env), ...env },
    ...(cwd === undefined ? {} : { cwd }),
    onStderr: (text) => {
      stderr += text;
    },
  });
  return { ...connection, stderr: () => stderr, close: () => connection.client.close() };
}

/** The real server process over Streamable HTTP on an ephemeral port (its URL read from the startup log). */
export async function startHttpProcess(env: Record<string, string>, user?: { uid: number; gid: number }): Promise<HttpServerProcess> {
  assertBuilt();
  return startHttpServer(DOCS_ENTRY, { DOCS_WATCH_DEBOUNCE_MS: String(WATCH_DEBOUNCE_MS), MANIFOLD_DATA_DIR: dataDirFor(env), ...env }, [], user);
}

/** A client of `kind` over Streamable HTTP. */
export function connectHttp(url: string, kind: ClientKind = LEGACY_V1): Promise<DocsConnection> {
  return connectRecording(kind, { kind: 'http', url });
}

/** How the clients reach the server: in this process, as a process over stdio, or over Streamable HTTP. */
export type DocsTransport = 'memory' | 'stdio' | 'http';
export const DOCS_TRANSPORTS: readonly DocsTransport[] = ['memory', 'stdio', 'http'];

/** The docs server on `root`, watching it, reached over `transport`. */
export async function startDocs(transport: DocsTransport, root: string): Promise<RunningDocs> {
  if (transport === 'memory') return startInProcessServer(root, { watch: true });
  if (transport === 'stdio') {
    assertBuilt();
    const env = { DOCS_ROOT: root, DOCS_WATCH_DEBOUNCE_MS: String(WATCH_DEBOUNCE_MS), MANIFOLD_DATA_DIR: dataDirFor({ DOCS_ROOT: root }) };
    return trackConnections({ kind: 'stdio', entry: DOCS_ENTRY, env }, async () => undefined);
  }
  const server = await startHttpProcess({ DOCS_ROOT: root });
  return trackConnections({ kind: 'http', url: server.url }, async () => {
    await server.stop();
  });
}

/**
 * A generated tree large enough that indexing takes a while: `files` documents (a multiple of
 * 100, in folders of 100), each of three sections, `OPTION_<n>` naming document n.
 */
export async function writeLargeTree(root: string, files: number): Promise<void> {
  const filler = 'The gateway forwards each request to the upstream that owns the tool, and keeps the session. '.repeat(12);
  for (let folder = 0; folder < files / 100; folder++) {
    const dir = path.join(root, `area-${String(folder).padStart(2, '0')}`);
    await fs.mkdir(dir, { recursive: true });
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => {
        const n = folder * 100 + i;
        const body = [
          `# Document ${n}`,
          '',
          filler,
          '',
          `## Setting ${n}`,
          '',
          `Set \`OPTION_${n}\` to change behaviour ${n}. ${filler}`,
          '',
          '## Notes',
          '',
          filler,
        ];
        return fs.writeFile(path.join(dir, `doc-${n}.md`), body.join('\n'));
      }),
    );
  }
}
