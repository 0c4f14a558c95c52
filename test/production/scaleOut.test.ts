import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
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
