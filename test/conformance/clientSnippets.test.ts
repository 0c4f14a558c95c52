import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startGateway, waitReady, type RunningGateway } from '../gateway/harness.js';

interface ServerEntry {
  command?: string;
  args?: string[];
  env?: Record<string, string>;
  url?: string;
  type?: string;
}

/** Every `mcpServers` JSON block of the client guide, with the checkout path filled in. */
function snippets(): Array<{ name: string; entry: ServerEntry }> {
  const text = readFileSync(join(ROOT, 'docs', 'guides', 'connecting-clients.md'), 'utf8').replaceAll('/path/to/manifold', ROOT);
  const blocks = [...text.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]!) as { mcpServers: Record<string, ServerEntry> });
  return blocks.flatMap((block) => Object.entries(block.mcpServers).map(([name, entry]) => ({ name, entry })));
}

describe('client configuration snippets in docs/guides/connecting-clients.md', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'manifold-snippets-'));
  let gateway: RunningGateway;
  let token: string;

  beforeAll(async () => {
    // The shipped configuration (OAuth with the embedded server), as `npm start` runs it.
    gateway = await startGateway(
      {},
      { env: { MANIFOLD_DATA_DIR: dataDir, GITHUB_API_URL: 'http://127.0.0.1:9', DOCS_WATCH: '0' }, configFile: join(ROOT, 'config', 'gateway.json') },
    );
    await waitReady(gateway);
    token = execFileSync(
      process.execPath,
      [join(ROOT, 'dist', 'gateway', 'tokenCommand.js'), '--user', 'admin', '--scope', 'pm:read docs:read', '--public-url', gateway.base],
      {
        env: { ...process.env, MANIFOLD_DATA_DIR: dataDir },
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    )
      .toString()
      .trim();
  });
  afterAll(async () => {
    await gateway?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('documents the gateway URL for remote clients, and it answers with an OAuth challenge', async () => {
    const remote = snippets().filter((s) => s.entry.url);
    expect(remote.length).toBeGreaterThanOrEqual(2);
    for (const { entry } of remote) {
      expect(entry.url).toBe('http://127.0.0.1:8080/mcp');
      // Our gateway listens on another port in tests; the path and the challenge are what matter.
      const response = await fetch(gateway.url.replace(/\/mcp$/, new URL(entry.url!).pathname), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toContain('resource_metadata=');
    }
  });

  it('every stdio snippet starts a server that answers tools/list', async () => {
    const local = snippets().filter((s) => s.entry.command);
    expect(local.map((s) => s.name).sort()).toEqual(['manifold', 'manifold-docs', 'manifold-github', 'manifold-pm']);
    for (const { name, entry } of local) {
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        LOG_LEVEL: 'warn',
        MANIFOLD_DATA_DIR: dataDir,
        DOCS_WATCH: '0',
      };
      for (const [key, value] of Object.entries(entry.env ?? {})) env[key] = value === '<access token>' ? token : value;
      const args = (entry.args ?? []).map((arg) => (arg === 'http://127.0.0.1:8080/mcp' ? gateway.url : arg));
      const transport = new StdioClientTransport({ command: entry.command === 'node' ? process.execPath : entry.command!, args, env, stderr: 'pipe' });
      const client = new Client({ name: `snippet-${name}`, version: '1.0.0' });
      await client.connect(transport);
      const tools = (await client.listTools()).tools;
      expect(tools.length, name).toBeGreaterThan(0);
      await client.close();
    }
  });
});
