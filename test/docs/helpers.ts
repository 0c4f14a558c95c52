import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import {
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
  type CallToolResult,
} from '@modelcontextprotocol/sdk/types.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { FAILURE_META_KEY } from '../../shared/errors.js';
import { createLogger } from '../../shared/logger.js';
import { DocsIndex } from '../../servers/docs/docsIndex.js';
import { watchDocs, type DocsWatcher } from '../../servers/docs/docsWatcher.js';
import { createDocsServer } from '../../servers/docs/server.js';
import { waitFor } from '../support/waitFor.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const FIXTURE_DOCS = path.join(REPO_ROOT, 'test/fixtures/docs');
export const DOCS_MAIN = path.join(REPO_ROOT, 'dist/servers/docs/main.js');

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

/** Notifications a client has received, recorded in order. */
export interface NotificationLog {
  updated: string[];
  listChanged: number;
}

export function recordNotifications(client: Client): NotificationLog {
  const log: NotificationLog = { updated: [], listChanged: 0 };
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
    log.updated.push(notification.params.uri);
  });
  client.setNotificationHandler(ResourceListChangedNotificationSchema, () => {
    log.listChanged += 1;
  });
  return log;
}

export interface InProcessDocs {
  client: Client;
  docsIndex: DocsIndex;
  watcher: DocsWatcher | undefined;
  notifications: NotificationLog;
  close(): Promise<void>;
}

/** The docs server built by its factory, connected to a client over an in-memory pair. */
export async function startInProcess(
  root: string,
  options: { baseUrl?: string; watch?: boolean; maxFiles?: number; maxFileBytes?: number } = {},
): Promise<InProcessDocs> {
  const logger = createLogger('docs-test', 'silent');
  const docsIndex = await DocsIndex.open({
    rootPath: root,
    logger,
    maxFiles: options.maxFiles ?? 1000,
    maxFileBytes: options.maxFileBytes ?? 1024 * 1024,
  });
  const watcher = options.watch ? await watchDocs({ docsIndex, logger, debounceMs: 50 }) : undefined;
  const server = createDocsServer({
    docsIndex,
    logger,
    baseUrl: options.baseUrl ? new URL(options.baseUrl) : undefined,
    trustCallerMeta: false,
    localUser: 'tester',
  });
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'docs-test', version: '1.0.0' });
  const notifications = recordNotifications(client);
  await Promise.all([server.connect(serverTransport), client.connect(clientTransport)]);
  return {
    client,
    docsIndex,
    watcher,
    notifications,
    close: async () => {
      await client.close();
      await server.close();
      await watcher?.close();
    },
  };
}

export function assertBuilt(): void {
  if (!existsSync(DOCS_MAIN)) {
    throw new Error(`${DOCS_MAIN} is missing: build first (npx tsc -p .).`);
  }
}

/** The real server process over stdio, as a desktop client would launch it. */
export async function startStdioProcess(env: Record<string, string>): Promise<{ client: Client; stderr: () => string; notifications: NotificationLog; close: () => Promise<void> }> {
  assertBuilt();
  let stderr = '';
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [DOCS_MAIN],
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', DOCS_WATCH_DEBOUNCE_MS: '50', ...env },
    stderr: 'pipe',
  });
  transport.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const client = new Client({ name: 'docs-stdio-test', version: '1.0.0' });
  const notifications = recordNotifications(client);
  await client.connect(transport);
  return { client, stderr: () => stderr, notifications, close: () => client.close() };
}

/** The real server process over Streamable HTTP on an ephemeral port; resolves with its URL from the startup log. */
export async function startHttpProcess(env: Record<string, string>): Promise<{ url: string; child: ChildProcess; stderr: () => string; stop: () => Promise<void> }> {
  assertBuilt();
  const child = spawn(process.execPath, [DOCS_MAIN, '--http', '--port', '0'], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', DOCS_WATCH_DEBOUNCE_MS: '50', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const url = await waitFor('the HTTP server to log its URL', () => {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}: ${stderr}`);
    for (const line of stderr.split('\n')) {
      if (!line.startsWith('{')) continue;
      const record = JSON.parse(line) as { url?: unknown };
      if (typeof record.url === 'string') return record.url;
    }
    return undefined;
  });
  return {
    url,
    child,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A client over Streamable HTTP. */
export async function connectHttp(url: string): Promise<{ client: Client; notifications: NotificationLog }> {
  const client = new Client({ name: 'docs-http-test', version: '1.0.0' });
  const notifications = recordNotifications(client);
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return { client, notifications };
}
