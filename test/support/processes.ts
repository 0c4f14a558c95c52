import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { packageRoot } from '../../shared/packageRoot.js';

export const ROOT = packageRoot();
export const distEntry = (relative: string): string => join(ROOT, 'dist', relative);

export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), `manifold-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A clean environment for a child server: PATH and HOME plus what the test sets. */
export function childEnv(extra: Record<string, string | undefined>): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'warn' };
  for (const [key, value] of Object.entries(extra)) if (value !== undefined) env[key] = value;
  return env;
}

export interface StdioConnection {
  client: Client;
  transport: StdioClientTransport;
  stderr: () => string;
  close: () => Promise<void>;
}

/** Spawn a built server entry over stdio and connect an SDK client to it. */
export async function connectStdio(
  entry: string,
  env: Record<string, string | undefined>,
  capabilities: ClientCapabilities = {},
  setup?: (client: Client) => void,
): Promise<StdioConnection> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [distEntry(entry)], env: childEnv(env), stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const client = new Client({ name: 'manifold-test', version: '1.0.0' }, { capabilities });
  setup?.(client);
  await client.connect(transport);
  return { client, transport, stderr: () => stderr, close: () => client.close() };
}

export interface HttpServerProcess {
  url: string;
  child: ChildProcess;
  stderr: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

/** Spawn a built server with --http on an ephemeral port and wait for the URL it logs. */
export async function startHttpServer(
  entry: string,
  env: Record<string, string | undefined>,
  args: string[] = [],
  /** Run the server as another user (the test runs as root). */
  user?: { uid: number; gid: number },
): Promise<HttpServerProcess> {
  const child = spawn(process.execPath, [distEntry(entry), '--http', '--port', '0', ...args], {
    env: childEnv({ LOG_LEVEL: 'info', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(user ?? {}),
  });
  let stderr = '';
  const url = await new Promise<string>((resolveUrl, reject) => {
    const lines = createInterface({ input: child.stderr! });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not log its URL in time:\n${stderr}`));
    }, 20_000);
    lines.on('line', (line) => {
      stderr += `${line}\n`;
      try {
        const record = JSON.parse(line) as { url?: string };
        if (record.url) {
          clearTimeout(timer);
          resolveUrl(record.url);
        }
      } catch {
        // not a JSON log line
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${stderr}`));
    });
  });
  return {
    url,
    child,
    stderr: () => stderr,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}

export async function connectHttp(
  url: string,
  capabilities: ClientCapabilities = {},
  headers: Record<string, string> = {},
  setup?: (client: Client) => void,
): Promise<Client> {
  const client = new Client({ name: 'manifold-test', version: '1.0.0' }, { capabilities });
  setup?.(client);
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}
