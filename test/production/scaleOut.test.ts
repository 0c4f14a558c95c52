import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL, redisAvailable } from '../support/redis.js';
import { createTemporaryDatabase, postgresAvailable, type TemporaryDatabase } from '../support/databases.js';
import { RoundRobinProxy } from '../support/roundRobinProxy.js';
import { TestIssuer } from '../support/testIssuer.js';
import { ROOT, startGateway, waitReady, type RunningGateway } from '../gateway/harness.js';
import { waitFor } from '../support/waitFor.js';
import { connectClient, LEGACY_V1, MODERN_V2 } from '../support/eraClients.js';

const runnable = postgresAvailable() && (await redisAvailable('the scale-out test'));

describe.runIf(runnable)('two gateway instances behind a load balancer behave as one', () => {
  let issuer: TestIssuer;
  let proxy: RoundRobinProxy;
  let database: TemporaryDatabase;
  let instances: RunningGateway[] = [];
  let token: string;

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
    proxy = await new RoundRobinProxy().start();
    database = await createTemporaryDatabase();
    const config = {
      auth: { mode: 'oauth', issuer: issuer.issuer, publicUrl: proxy.url },
      cluster: { redis: true },
      upstreams: [
        {
          namespace: 'pm',
          stdio: {
            command: process.execPath,
            args: [join(ROOT, 'dist', 'servers', 'project-management', 'main.js')],
            cwd: ROOT,
            env: { DATABASE_URL: database.url, LOG_LEVEL: 'warn' },
          },
        },
      ],
    };
    instances = await Promise.all([startGateway(config, { env: { REDIS_URL } }), startGateway(config, { env: { REDIS_URL } })]);
    await Promise.all(instances.map((gateway) => waitReady({ ...gateway, base: gateway.direct })));
    proxy.backends = instances.map((gateway) => gateway.direct);
    token = await issuer.accessToken(`${proxy.url}/mcp`, { sub: 'grace', scope: 'pm:write' });
  });
  afterAll(async () => {
    await Promise.all(instances.map((gateway) => gateway.stop()));
    await proxy?.stop();
    await database?.drop();
    await issuer?.stop();
  });

  it('tells a session subscribed through one instance of a change made through the other', async () => {
    const connectTo = async (base: string, name: string, bearer = token): Promise<Client> => {
      const client = new Client({ name, version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers: { authorization: `Bearer ${bearer}` } } }));
      return client;
    };
    const watcher = await connectTo(instances[0]!.direct, 'watcher');
    const bystander = await connectTo(instances[0]!.direct, 'bystander');
    // An administrator, who may also delete what the test created.
    const writer = await connectTo(instances[1]!.direct, 'writer', await issuer.accessToken(`${proxy.url}/mcp`, { sub: 'hopper', scope: 'pm:admin' }));
    const updates: string[] = [];
    const unsolicited: string[] = [];
    watcher.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => void updates.push(notification.params.uri));
    bystander.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => void unsolicited.push(notification.params.uri));
    await watcher.subscribeResource({ uri: 'pm+project://status' });
    // The other instance subscribes its own child once it hears of the interest; write until the change is announced.
    const created: string[] = [];
    for (let attempt = 0; attempt < 20 && updates.length === 0; attempt++) {
      const result = (await writer.callTool({ name: 'pm__create_task', arguments: { title: `Seen from afar ${attempt}` } })) as CallToolResult;
      expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
      created.push((result.structuredContent as { task: { id: string } }).task.id);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(updates).toContain('pm+project://status');
    expect(unsolicited).toEqual([]);
    // Leave the shared database as it was for the next test.
    for (const id of created) {
      const asked = (await writer.callTool({ name: 'pm__delete_task', arguments: { id } })) as CallToolResult;
      const confirm = (asked.structuredContent as { confirm_token: string }).confirm_token;
      expect(((await writer.callTool({ name: 'pm__delete_task', arguments: { id, confirm } })) as CallToolResult).isError).toBeFalsy();
    }
    await Promise.all([watcher.close(), bystander.close(), writer.close()]);
  });

  it('delivers every update to a 2025 session whose GET stream is on one instance and whose subscribe went through the other', async () => {
    const a = `${instances[0]!.direct}/mcp`;
    const b = `${instances[1]!.direct}/mcp`;
    const headers = {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25',
    };
    const initialized = await fetch(a, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'split', version: '1' } },
      }),
    });
    const sessionId = initialized.headers.get('mcp-session-id')!;
    await initialized.text();
    const session = { ...headers, 'mcp-session-id': sessionId };
    await (await fetch(a, { method: 'POST', headers: session, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).text();
    // The GET stream is held by instance A…
    const updates: string[] = [];
    const stream = await new Promise<IncomingMessage>((resolve, reject) => {
      const get = httpRequest(a, { method: 'GET', headers: { ...session, accept: 'text/event-stream' } }, resolve);
      get.on('error', reject);
      get.end();
    });
    expect(stream.statusCode).toBe(200);
    let buffered = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffered += chunk;
      const events = buffered.split('\n\n');
      buffered = events.pop() ?? '';
      for (const event of events) {
        // The stream opens with a priming event (an id and empty data, 2025-11-25): no message in it.
        const data = event
          .split('\n')
          .find((line) => line.startsWith('data: '))
          ?.slice(6)
          .trim();
        const message = data ? (JSON.parse(data) as { method?: string; params?: { uri?: string } }) : undefined;
        if (message?.method === 'notifications/resources/updated' && message.params?.uri) updates.push(message.params.uri);
      }
    });
    // …and the subscribe goes through instance B, which continues the session there.
    const subscribed = await fetch(b, {
      method: 'POST',
      headers: session,
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'resources/subscribe', params: { uri: 'pm+project://status' } }),
    });
    expect(subscribed.status).toBe(200);
    expect(JSON.stringify(await subscribed.json())).not.toContain('error');
    await new Promise((resolve) => setTimeout(resolve, 500));

    // A user of its own: rate limits are per user and shared by the instances.
    const adminToken = await issuer.accessToken(`${proxy.url}/mcp`, { sub: `turing-${process.pid}`, scope: 'pm:admin' });
    const writers = await Promise.all(
      instances.map((gateway) =>
        connectClient(LEGACY_V1, { kind: 'http', url: `${gateway.direct}/mcp` }, { headers: { authorization: `Bearer ${adminToken}` } }),
      ),
    );
    const created: string[] = [];
    for (let write = 0; write < 6; write++) {
      const before = updates.length;
      // Writes alternate between the instances.
      const result = await writers[write % 2]!.callTool({ name: 'pm__create_task', arguments: { title: `Alternating ${write}` } });
      expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
      created.push((result.structuredContent as { task: { id: string } }).task.id);
      await waitFor(`the update after write ${write + 1}`, () => updates.length > before, 5000);
    }
    expect(new Set(updates)).toEqual(new Set(['pm+project://status']));
    stream.destroy();
    for (const id of created) {
      const asked = await writers[0]!.callTool({ name: 'pm__delete_task', arguments: { id } });
      const confirm = (asked.structuredContent as { confirm_token: string }).confirm_token;
      expect((await writers[0]!.callTool({ name: 'pm__delete_task', arguments: { id, confirm } })).isError).toBeFalsy();
    }
    await Promise.all(writers.map((writer) => writer.close()));
  });

  it('feeds a 2026 listen stream on one instance with changes made through the other', async () => {
    const adminToken = await issuer.accessToken(`${proxy.url}/mcp`, { sub: `lovelace-${process.pid}`, scope: 'pm:admin' });
    const listener = await connectClient(MODERN_V2, { kind: 'http', url: `${instances[0]!.direct}/mcp` }, { headers: { authorization: `Bearer ${token}` } });
    const writer = await connectClient(MODERN_V2, { kind: 'http', url: `${instances[1]!.direct}/mcp` }, { headers: { authorization: `Bearer ${adminToken}` } });
    const updates: string[] = [];
    let listChanges = 0;
    const stopUpdates = await listener.watchResources(['pm+project://status'], (uri) => updates.push(uri));
    const stopLists = await listener.watchListChanges('resources', () => {
      listChanges += 1;
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const created = await writer.callTool({ name: 'pm__create_task', arguments: { title: 'Heard on the other instance' } });
    expect(created.isError).toBeFalsy();
    await waitFor('the resource update from the other instance', () => updates.includes('pm+project://status'), 5000);
    const project = await writer.callTool({ name: 'pm__create_project', arguments: { key: `far-${Date.now() % 100000}`, name: 'Far away' } });
    expect(project.isError).toBeFalsy();
    await waitFor('the resources list change from the other instance', () => listChanges > 0, 5000);
    await stopUpdates();
    await stopLists();
    const id = (created.structuredContent as { task: { id: string } }).task.id;
    const asked = await writer.callTool({ name: 'pm__delete_task', arguments: { id } });
    const confirm = (asked.structuredContent as { confirm_token: string }).confirm_token;
    expect((await writer.callTool({ name: 'pm__delete_task', arguments: { id, confirm } })).isError).toBeFalsy();
    await Promise.all([listener.close(), writer.close()]);
  });

  it('continues one session across instances, shares data and cache invalidations, and survives losing an instance', async () => {
    const client = new Client({ name: 'behind-the-balancer', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${proxy.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    const titles = async (): Promise<string[]> => {
      const listed = (await client.callTool({ name: 'pm__list_tasks', arguments: {} })) as CallToolResult;
      expect(listed.isError, JSON.stringify(listed.content)).toBeFalsy();
      return (listed.structuredContent as { tasks: Array<{ title: string }> }).tasks.map((t) => t.title);
    };
    // Read twice so that both instances have the (empty) list cached.
    expect(await titles()).toEqual([]);
    expect(await titles()).toEqual([]);
    const created = (await client.callTool({ name: 'pm__create_task', arguments: { title: 'Written through one instance' } })) as CallToolResult;
    expect(created.isError).toBeFalsy();
    // Whichever instance answers, the write is visible: shared PostgreSQL, and the other
    // instance's cached list was invalidated over Redis.
    expect(await titles()).toEqual(['Written through one instance']);
    expect(await titles()).toEqual(['Written through one instance']);
    for (const gateway of instances) expect(proxy.served.get(gateway.direct) ?? 0).toBeGreaterThan(2);
    // Info lines are written in batches (within 100 ms).
    await waitFor(
      'the continuation log line',
      () => instances.some((gateway) => gateway.logs.some((line) => String(line.msg).includes('session continued from another instance'))),
      5000,
    );

    // One instance goes away: the same session goes on through the other.
    await instances[0]!.stop();
    expect(await titles()).toEqual(['Written through one instance']);
    const after = (await client.callTool({ name: 'pm__create_task', arguments: { title: 'After the loss of an instance' } })) as CallToolResult;
    expect(after.isError).toBeFalsy();
    expect(await titles()).toEqual(['After the loss of an instance', 'Written through one instance']);
    await client.close();
  });
});
