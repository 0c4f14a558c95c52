import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult, ReadResourceResult } from '@modelcontextprotocol/sdk/types.js';
import { FAILURE_META_KEY } from '../../shared/errors.js';
import { connectHttp, connectStdio, distEntry, startHttpServer } from '../support/processes.js';

/** The built entry point; `npm test` builds it first (pretest), or run `npx tsc -p .`. */
export const GITHUB_ENTRY = 'servers/github/main.js';

function assertBuilt(): void {
  if (!existsSync(distEntry(GITHUB_ENTRY))) {
    throw new Error(`${distEntry(GITHUB_ENTRY)} does not exist: build first with "npx tsc -p ." (npm test does it in pretest).`);
  }
}

export interface RunningGithubServer {
  client: Client;
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

/** Start the built server over stdio (info-level logs) and connect an SDK client. */
export async function startStdioServer(env: Record<string, string>): Promise<RunningGithubServer> {
  assertBuilt();
  const connection = await connectStdio(GITHUB_ENTRY, { LOG_LEVEL: 'info', ...env });
  return { client: connection.client, stderr: connection.stderr, logs: () => parseLogs(connection.stderr()), close: connection.close };
}

/** Start the built server with --http --port 0, read its URL from the startup log, and connect over Streamable HTTP. */
export async function startStreamableHttpServer(env: Record<string, string>): Promise<RunningGithubServer & { url: string; exitCode: () => Promise<number | null> }> {
  assertBuilt();
  const process = await startHttpServer(GITHUB_ENTRY, env);
  const client = await connectHttp(process.url);
  let stopped: Promise<number | null> | undefined;
  return {
    client,
    url: process.url,
    stderr: process.stderr,
    logs: () => parseLogs(process.stderr()),
    close: async () => {
      await client.close();
      stopped ??= process.stop();
      await stopped;
    },
    exitCode: () => (stopped ??= process.stop()),
  };
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

/** Call a tool and return its result, typed. */
export async function callTool(client: Client, name: string, args: Record<string, unknown>, meta?: Record<string, unknown>): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args, ...(meta ? { _meta: meta } : {}) })) as CallToolResult;
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
