import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL, redisAvailable } from '../support/redis.js';
import { createTemporaryDatabase, postgresAvailable, type TemporaryDatabase } from '../support/databases.js';
import { RoundRobinProxy } from '../support/roundRobinProxy.js';
import { TestIssuer } from '../support/testIssuer.js';
import { ROOT, startGateway, waitReady, type RunningGateway } from '../gateway/harness.js';
import { waitFor } from '../support/waitFor.js';


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
          stdio: { command: process.execPath, args: [join(ROOT, 'dist', 'servers', 'project-management', 'main.js')], cwd: ROOT, env: { DATABASE_URL: database.url, LOG_LEVEL: 'warn' } },
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
      expect(result.isError).toBeFalsy();
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
    await waitFor('the continuation log line', () => instances.some((gateway) => gateway.logs.some((line) => String(line.msg).includes('session continued from another instance'))), 5000);

    // One instance goes away: the same session goes on through the other.
    await instances[0]!.stop();
    expect(await titles()).toEqual(['Written through one instance']);
    const after = (await client.callTool({ name: 'pm__create_task', arguments: { title: 'After the loss of an instance' } })) as CallToolResult;
    expect(after.isError).toBeFalsy();
    expect(await titles()).toEqual(['After the loss of an instance', 'Written through one instance']);
    await client.close();
  });
});
