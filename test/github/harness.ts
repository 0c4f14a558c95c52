import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { InMemoryServerEventBus, type CallToolResult, type ReadResourceResult } from '@modelcontextprotocol/server';
import { FAILURE_META_KEY } from '../../shared/errors.js';
import { createLogger } from '../../shared/logger.js';
import { createGithubClient } from '../../servers/github/githubClient.js';
import { createGithubServer } from '../../servers/github/server.js';
import { connectClient, LEGACY_V1, type ClientKind, type EraClient, type ServerTarget } from '../support/eraClients.js';
import { distEntry, startHttpServer } from '../support/processes.js';
import { FIXTURE_TOKENS } from './fakeGithubApi.js';

/** The built entry point; `npm test` builds it first (pretest), or run `npx tsc -p .`. */
export const GITHUB_ENTRY = 'servers/github/main.js';

function assertBuilt(): void {
  if (!existsSync(distEntry(GITHUB_ENTRY))) {
    throw new Error(`${distEntry(GITHUB_ENTRY)} does not exist: build first with "npx tsc -p ." (npm test does it in pretest).`);
  }
}

export interface RunningGithubServer {
  client: EraClient;
  /** Everything the server wrote to stderr so far (its JSON log lines). */
  stderr(): string;
  /** Parsed JSON log lines. */
  logs(): Array<Record<string, unknown>>;
  close(): Promise<void>;
}

export function parseLogs(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

/** Start the built server over stdio (info-level logs) and connect a client of `kind`. */
export async function startStdioServer(env: Record<string, string>, kind: ClientKind = LEGACY_V1): Promise<RunningGithubServer> {
  assertBuilt();
  let stderr = '';
  const client = await connectClient(kind, {
    kind: 'stdio',
    entry: GITHUB_ENTRY,
    env: { LOG_LEVEL: 'info', ...env },
    onStderr: (text) => {
      stderr += text;
    },
  });
  return { client, stderr: () => stderr, logs: () => parseLogs(stderr), close: () => client.close() };
}

export interface HttpGithubServer extends RunningGithubServer {
  url: string;
  /** Another client of `kind` on the same process (closed with the server). */
  connect(kind: ClientKind): Promise<EraClient>;
  /** Stop the process (SIGTERM) and resolve with its exit status. */
  exitCode(): Promise<number | null>;
}

/** Start the built server with --http --port 0, read its URL from the startup log, and connect a client of `kind`. */
export async function startStreamableHttpServer(env: Record<string, string>, kind: ClientKind = LEGACY_V1): Promise<HttpGithubServer> {
  assertBuilt();
  const server = await startHttpServer(GITHUB_ENTRY, env);
  const clients: EraClient[] = [];
  const connect = async (clientKind: ClientKind): Promise<EraClient> => {
    const client = await connectClient(clientKind, { kind: 'http', url: server.url });
    clients.push(client);
    return client;
  };
  const client = await connect(kind);
  let stopped: Promise<number | null> | undefined;
  return {
    client,
    url: server.url,
    connect,
    stderr: server.stderr,
    logs: () => parseLogs(server.stderr()),
    close: async () => {
      for (const connected of clients) await connected.close().catch(() => undefined);
      stopped ??= server.stop();
      await stopped;
    },
    exitCode: () => (stopped ??= server.stop()),
  };
}

export interface InProcessGithubOptions {
  /** Per-request timeout of the GitHub client. */
  requestTimeoutMs?: number;
}

/**
 * The server factory in this process on a fake GitHub API (default repository acme/widgets, a
 * token that may write): a 2025 client over linked in-memory transports, a 2026 client through
 * the SDK's HTTP handler. Every instance shares one change bus, as in a real process.
 */
export function inProcessTarget(apiUrl: string, options: InProcessGithubOptions = {}): ServerTarget {
  const logger = createLogger('github-test', 'silent');
  const changes = new InMemoryServerEventBus();
  const github = createGithubClient({
    apiUrl,
    token: FIXTURE_TOKENS.write,
    logger,
    maxRateLimitWaitSeconds: 5,
    retries: 0,
    requestTimeoutMs: options.requestTimeoutMs ?? 5000,
  });
  const deps = { github, apiUrl, authenticated: true, defaultRepository: { owner: 'acme', repo: 'widgets' }, logger, changes };
  return { kind: 'memory', createServer: (instance) => createGithubServer(deps, instance), changes };
}

/** A TCP port that nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Call a tool and return its result. */
export function callTool(client: EraClient, name: string, args: Record<string, unknown>, meta?: Record<string, unknown>): Promise<CallToolResult> {
  return client.callTool({ name, arguments: args, ...(meta ? { _meta: meta } : {}) });
}

export function textOf(result: CallToolResult): string {
  return result.content
    .filter((c): c is { type: 'text'; text: string } => c.type === 'text')
    .map((c) => c.text)
    .join('\n');
}

/** The structured content of a successful call (throws with the error text otherwise). */
export function structured<T = Record<string, unknown>>(result: CallToolResult): T {
  if (result.isError) throw new Error(`tool failed: ${textOf(result)}`);
  return result.structuredContent as T;
}

/** The `{ code, message }` of a failed call. */
export function failure(result: CallToolResult): { code: string; message: string } {
  if (!result.isError) throw new Error(`expected a failure, got: ${textOf(result)}`);
  return (result._meta as Record<string, { code: string; message: string }>)[FAILURE_META_KEY] as { code: string; message: string };
}

export function resourceText(result: ReadResourceResult, mimeType: string): string {
  const content = result.contents.find((c) => c.mimeType === mimeType);
  if (!content || !('text' in content) || typeof content.text !== 'string') throw new Error(`no ${mimeType} content`);
  return content.text;
}
