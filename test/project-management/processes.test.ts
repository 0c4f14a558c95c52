import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childEnv, connectHttp, connectStdio, distEntry, startHttpServer, tempDir, type HttpServerProcess } from '../support/processes.js';
import { waitFor } from '../support/waitFor.js';
import { resourceText, structured, textOf, type TaskOut } from './harness.js';

const ENTRY = 'servers/project-management/main.js';

async function runToExit(args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const child = spawn(process.execPath, [distEntry(ENTRY), ...args], { env: childEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stderr, stdout };
}

describe('project-management server as a process', () => {
  const data = tempDir('pm-proc');
  afterAll(() => data.remove());

  it('serves over stdio, keeps stdout for the protocol, and persists in its data directory', async () => {
    const first = await connectStdio(ENTRY, { MANIFOLD_DATA_DIR: data.path, LOG_LEVEL: 'debug', MANIFOLD_USER: 'linus@example.com' });
    const created = (await first.client.callTool({ name: 'create_task', arguments: { title: 'Survives a restart', priority: 'high' } })) as CallToolResult;
    expect(structured<{ task: TaskOut }>(created).task).toMatchObject({ id: 'T-101', created_by: 'linus@example.com' });
    expect(first.client.getServerVersion()?.name).toBe('manifold-project-management');
    expect(first.client.getInstructions()).toContain('T-101');
    await first.close();
    // Every stderr line is a JSON log record: nothing else is mixed in.
    for (const line of first.stderr().trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
    expect(first.stderr()).toContain('"database":"sqlite"');

    const second = await connectStdio(ENTRY, { MANIFOLD_DATA_DIR: data.path });
    const list = (await second.client.callTool({ name: 'list_tasks', arguments: {} })) as CallToolResult;
    expect(structured<{ tasks: TaskOut[] }>(list).tasks.map((t) => t.title)).toEqual(['Survives a restart']);
    const resource = await second.client.readResource({ uri: 'project://general/status' });
    expect(resourceText(resource)).toContain('Survives a restart');
    await second.close();
  });

  it('rejects bad configuration with the variable named and exit status 2', async () => {
    const badUrl = await runToExit([], { DATABASE_URL: 'mysql://root@localhost/db', MANIFOLD_DATA_DIR: data.path });
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toContain('DATABASE_URL: must be a PostgreSQL URL');
    expect(badUrl.stderr).not.toContain('    at ');
    expect(badUrl.stdout).toBe('');

    const badFlag = await runToExit(['--prot', '9'], { MANIFOLD_DATA_DIR: data.path });
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain("Unknown option '--prot'");
    expect(badFlag.stderr).toContain('Usage:');

    const badLevel = await runToExit([], { LOG_LEVEL: 'loud' });
    expect(badLevel.code).toBe(2);
    expect(badLevel.stderr).toContain('LOG_LEVEL: must be one of');
  });

  it('refuses to listen off loopback without a bearer token', async () => {
    const result = await runToExit(['--http', '--host', '0.0.0.0', '--port', '0'], { MANIFOLD_DATA_DIR: data.path });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('refusing to serve without authentication');
    expect(result.stderr).toContain('MANIFOLD_HTTP_BEARER_TOKEN');
  });
});

describe('project-management server over Streamable HTTP', () => {
  const data = tempDir('pm-http');
  let server: HttpServerProcess;
  beforeAll(async () => {
    server = await startHttpServer(ENTRY, { MANIFOLD_DATA_DIR: data.path });
  });
  afterAll(async () => {
    await server?.stop();
    data.remove();
  });

  it("binds to loopback and serves sessions that see each other's changes", async () => {
    expect(new URL(server.url).hostname).toBe('127.0.0.1');
    const updates: string[] = [];
    const watcher = await connectHttp(server.url);
    watcher.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updates.push(n.params.uri);
    });
    await watcher.subscribeResource({ uri: 'project://status' });

    const writer = await connectHttp(server.url);
    const created = (await writer.callTool({ name: 'create_task', arguments: { title: 'Over HTTP' } })) as CallToolResult;
    expect(textOf(created)).toContain('Over HTTP');
    await waitFor('update delivered to the other session', () => updates.includes('project://status'));

    const listed = (await watcher.callTool({ name: 'list_tasks', arguments: {} })) as CallToolResult;
    expect(structured<{ tasks: TaskOut[] }>(listed).tasks.map((t) => t.title)).toContain('Over HTTP');
    await watcher.close();
    await writer.close();
  });

  it('rejects foreign origins, unknown sessions and non-initialize first requests', async () => {
    const post = (headers: Record<string, string>, body: unknown) =>
      fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
        body: JSON.stringify(body),
      });
    const initialize = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
    };

    const foreign = await post({ origin: 'https://evil.example' }, initialize);
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { error: { message: string } }).error.message).toContain('Origin https://evil.example is not allowed');

    const unknown = await post({ 'mcp-session-id': 'no-such-session' }, { jsonrpc: '2.0', id: 2, method: 'tools/list' });
    expect(unknown.status).toBe(404);

    const noInit = await post({}, { jsonrpc: '2.0', id: 3, method: 'tools/list' });
    expect(noInit.status).toBe(400);

    const notJson = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope' });
    expect(notJson.status).toBe(400);

    const huge = await post({}, { ...initialize, padding: 'x'.repeat(1024 * 1024 + 1) });
    expect(huge.status).toBe(413);

    const health = await fetch(new URL('/healthz', server.url));
    expect(await health.json()).toMatchObject({ status: 'ok' });
  });

  it('stops cleanly on SIGTERM', async () => {
    expect(await server.stop('SIGTERM')).toBe(0);
    expect(server.stderr()).toContain('shutting down');
  });
});

describe('project-management server with a bearer token', () => {
  it('requires the token on every request', async () => {
    const data = tempDir('pm-token');
    const token = 'a-very-long-test-token-123';
    const server = await startHttpServer(ENTRY, { MANIFOLD_DATA_DIR: data.path, MANIFOLD_HTTP_BEARER_TOKEN: token });
    try {
      await expect(connectHttp(server.url)).rejects.toThrow();
      await expect(connectHttp(server.url, {}, { authorization: 'Bearer wrong-token-of-some-length' })).rejects.toThrow();
      const client = await connectHttp(server.url, {}, { authorization: `Bearer ${token}` });
      expect((await client.listTools()).tools.length).toBeGreaterThan(5);
      await client.close();
      expect(server.stderr()).not.toContain(token);
    } finally {
      await server.stop();
      data.remove();
    }
  });
});
