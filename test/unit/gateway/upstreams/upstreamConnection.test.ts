import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, McpServer, ResourceTemplate } from '@modelcontextprotocol/server';
import { afterEach, describe, expect, it } from 'vitest';
import { UpstreamConnection } from '../../../../gateway/upstreams/upstreamConnection.js';
import { CALLER_META_KEY } from '../../../../shared/callerContext.js';
import { DomainError } from '../../../../shared/errors.js';
import { CALL_META_KEY } from '../../../../shared/relatedRequestMeta.js';
import { eventually, RecordingListener, RecordingSession, silentLogger, upstreamConfig } from '../../support/seams.js';

/**
 * UpstreamConnection builds its own transport from its settings (a stdio child or a URL), so it
 * cannot be handed an in-memory transport: the upstream here is a real SDK v2 server served by
 * `createMcpHandler` from a node:http server on loopback, in this process.
 */

const httpServers: HttpServer[] = [];
const connections: UpstreamConnection[] = [];
afterEach(async () => {
  for (const connection of connections.splice(0)) await connection.stop();
  for (const server of httpServers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** The `_meta` each tools/call reached the upstream with, and the served URL. */
async function sdkUpstream(): Promise<{ url: string; seenMeta: Array<Record<string, unknown>>; addTool(name: string): void }> {
  const seenMeta: Array<Record<string, unknown>> = [];
  const added: string[] = [];
  const handler = createMcpHandler(
    () => {
      const server = new McpServer({ name: 'tasks-upstream', version: '3.1.0' }, { instructions: 'Tasks of a team.' });
      server.registerTool('list_tasks', { description: 'List tasks.', annotations: { readOnlyHint: true } }, (ctx) => {
        seenMeta.push({ ...(ctx.mcpReq._meta as Record<string, unknown> | undefined) });
        return { content: [{ type: 'text', text: '2 open tasks' }] };
      });
      for (const name of added) server.registerTool(name, { description: `${name} (added later)` }, () => ({ content: [] }));
      server.registerTool('delete_all', { description: 'Delete every task.' }, () => ({ content: [{ type: 'text', text: 'deleted' }] }));
      server.registerPrompt('plan_sprint', { description: 'Plan the next sprint.' }, () => ({
        messages: [{ role: 'user', content: { type: 'text', text: 'Plan it.' } }],
      }));
      server.registerResource('task', new ResourceTemplate('project://tasks/{id}', { list: undefined }), { description: 'One task.' }, (uri) => ({
        contents: [{ uri: uri.href, text: 'task' }],
      }));
      return server;
    },
    { legacy: 'stateless' },
  );
  const serve = toNodeHandler(handler);
  const server = createServer((req, res) => void serve(req, res));
  httpServers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    seenMeta,
    addTool(name) {
      added.push(name);
      handler.notify.toolsChanged();
    },
  };
}

function connectionTo(url: string, overrides: Record<string, unknown> = {}): { connection: UpstreamConnection; listener: RecordingListener } {
  const listener = new RecordingListener();
  const connection = new UpstreamConnection(
    upstreamConfig('pm', {
      remote: { url, transport: 'streamable-http' },
      tools: { deny: ['delete_*'] },
      restart: { initialDelayMs: 600_000, maxDelayMs: 600_000 },
      ...overrides,
    }),
    silentLogger,
    listener,
  );
  connections.push(connection);
  return { connection, listener };
}

const ada = () => ({
  caller: { user: 'ada', email: 'ada@example.com', scopes: ['pm:read'], session: 'session-ada' },
  session: new RecordingSession('session-ada', { elicitation: {} }),
  requestId: 3,
});

describe('a connection to an SDK v2 upstream', () => {
  it('negotiates 2026-07-28, lists what the upstream serves minus denied tools, and announces it is ready', async () => {
    const upstream = await sdkUpstream();
    const { connection, listener } = connectionTo(upstream.url);
    await connection.start();

    expect(connection.state).toBe('ready');
    expect(connection.era).toBe('modern');
    expect(connection.tools.map((tool) => tool.name)).toEqual(['list_tasks']);
    expect(connection.isToolAllowed('delete_all')).toBe(false);
    expect(connection.prompts.map((prompt) => prompt.name)).toEqual(['plan_sprint']);
    expect(connection.resourceTemplates.map((template) => template.uriTemplate)).toEqual(['project://tasks/{id}']);
    expect(connection.status()).toMatchObject({
      namespace: 'pm',
      state: 'ready',
      protocolVersion: '2026-07-28',
      transport: 'remote',
      serverInfo: { name: 'tasks-upstream', version: '3.1.0' },
      restarts: 0,
      inFlight: 0,
      tools: 1,
      prompts: 1,
      resourceTemplates: 1,
    });
    expect(connection.instructions).toBe('Tasks of a team.');
    expect(listener.states).toEqual(['ready']);
    expect(listener.listsChanged).toEqual([{ namespace: 'pm', kinds: ['prompts', 'resourceTemplates', 'resources', 'tools'] }]);
  });

  it("forwards a call with the caller's identity and a call id in _meta, never what the client claimed", async () => {
    const upstream = await sdkUpstream();
    const { connection } = connectionTo(upstream.url);
    await connection.start();

    const result = await connection.forward(
      'tools/call',
      {
        name: 'list_tasks',
        arguments: {},
        _meta: { [CALLER_META_KEY]: { user: 'admin', scopes: ['pm:admin'] }, [CALL_META_KEY]: 'forged', 'example.com/tag': 'kept' },
      },
      ada(),
    );
    expect(result.content).toEqual([{ type: 'text', text: '2 open tasks' }]);
    const meta = upstream.seenMeta[0]!;
    expect(meta[CALLER_META_KEY]).toEqual({
      user: 'ada',
      email: 'ada@example.com',
      scopes: ['pm:read'],
      session: 'session-ada',
      clientCapabilities: { elicitation: {} },
    });
    expect(meta[CALL_META_KEY]).toMatch(/^c[0-9a-z]+$/);
    expect(meta[CALL_META_KEY]).not.toBe('forged');
    expect(meta['example.com/tag']).toBe('kept');
    expect(connection.inFlight.size).toBe(0);
  });

  it("forwards the gateway's own requests without a caller", async () => {
    const upstream = await sdkUpstream();
    const { connection } = connectionTo(upstream.url);
    await connection.start();
    await connection.forward('tools/call', { name: 'list_tasks', arguments: {}, _meta: { [CALLER_META_KEY]: { user: 'admin' } } }, undefined);
    expect(upstream.seenMeta[0]![CALLER_META_KEY]).toBeUndefined();
    expect(upstream.seenMeta[0]![CALL_META_KEY]).toBeUndefined();
  });

  it('lists the tools again when the upstream announces a change on its listen stream, and says which list changed', async () => {
    const upstream = await sdkUpstream();
    const { connection, listener } = connectionTo(upstream.url);
    await connection.start();
    upstream.addTool('archive_task');
    await eventually(() => expect(connection.tools.map((tool) => tool.name)).toEqual(['list_tasks', 'archive_task']));
    expect(listener.listsChanged.at(-1)).toEqual({ namespace: 'pm', kinds: ['tools'] });
  });

  it('speaks 2025-11-25 when pinned to it', async () => {
    const upstream = await sdkUpstream();
    const { connection } = connectionTo(upstream.url, { protocol: '2025-11-25' });
    await connection.start();
    expect(connection.era).toBe('legacy');
    expect(connection.status().protocolVersion).toBe('2025-11-25');
    const result = await connection.forward('tools/call', { name: 'list_tasks', arguments: {} }, ada());
    expect(result.content).toEqual([{ type: 'text', text: '2 open tasks' }]);
    expect(upstream.seenMeta[0]![CALLER_META_KEY]).toMatchObject({ user: 'ada' });
  });

  it('refuses calls once stopped, saying the upstream is unavailable', async () => {
    const upstream = await sdkUpstream();
    const { connection, listener } = connectionTo(upstream.url);
    await connection.start();
    await connection.stop();
    expect(listener.states).toEqual(['ready', 'stopped']);
    const refused = connection.forward('tools/call', { name: 'list_tasks', arguments: {} }, ada());
    await expect(refused).rejects.toBeInstanceOf(DomainError);
    await expect(refused).rejects.toMatchObject({ code: 'unavailable' });
    await expect(refused).rejects.toThrow(/^Upstream "pm" is unavailable/);
  });
});

describe('a connection to an upstream that does not answer', () => {
  it('reports the failure, names the URL and schedules a restart', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/mcp`;
    await new Promise((resolve) => closed.close(resolve));

    const { connection, listener } = connectionTo(url);
    await connection.start();
    expect(connection.state).toBe('restarting');
    expect(listener.states).toEqual(['restarting']);
    const status = connection.status();
    expect(status.lastError).toContain(`${url} failed to initialize`);
    expect(status.restarts).toBe(1);
    expect(status.nextRestartInMs).toBeGreaterThan(0);
    await expect(connection.forward('tools/call', { name: 'list_tasks' }, ada())).rejects.toMatchObject({ code: 'unavailable' });
  });
});
