import { readFileSync, writeFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestIssuer } from '../support/testIssuer.js';
import { fixtureUpstream, startGateway, waitReady, type RunningGateway } from '../gateway/harness.js';
import { waitFor } from '../support/waitFor.js';

const MINI = {
  name: 'mini',
  description: 'Just enough to greet and echo.',
  tools: ['fx__echo', { tool: 'fx__pid', as: 'process_id', description: 'The process id of the fixture server, as a decimal string.' }],
  prompts: ['fx__greet'],
  resources: ['fx'],
};

async function connectTo(url: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'views-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}

describe('curated views', () => {
  let gateway: RunningGateway;
  beforeAll(async () => {
    gateway = await startGateway({ upstreams: [fixtureUpstream('fx'), fixtureUpstream('other')], views: [MINI] });
    await waitReady(gateway);
  });
  afterAll(async () => gateway?.stop());

  it('serves only the selection, renamed and re-described, and routes calls to the owner', async () => {
    const client = await connectTo(`${gateway.base}/views/mini/mcp`);
    const tools = (await client.listTools()).tools;
    expect(tools.map((t) => t.name)).toEqual(['fx__echo', 'process_id']);
    expect(tools[1]?.description).toBe('The process id of the fixture server, as a decimal string.');
    const pid = (await client.callTool({ name: 'process_id', arguments: {} })) as CallToolResult;
    expect(pid.content[0]).toMatchObject({ type: 'text', text: expect.stringMatching(/^\d+$/) });
    await expect(client.callTool({ name: 'fx__whoami', arguments: {} })).rejects.toThrow(/Unknown tool/);
    await expect(client.callTool({ name: 'fx__pid', arguments: {} })).rejects.toThrow(/Unknown tool/);
    expect((await client.listPrompts()).prompts.map((p) => p.name)).toEqual(['fx__greet']);
    const resources = (await client.listResources()).resources.map((r) => r.uri);
    expect(resources.length).toBeGreaterThan(0);
    expect(resources.every((uri) => uri.startsWith('fx+'))).toBe(true);
    // The default endpoint still shows everything.
    const everything = await connectTo(gateway.url);
    expect((await everything.listTools()).tools.map((t) => t.name)).toEqual(expect.arrayContaining(['fx__whoami', 'other__echo']));
    await everything.close();
    await client.close();
  });

  it('answers 404 for a view that does not exist', async () => {
    const response = await fetch(`${gateway.base}/views/nope/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: '{}',
    });
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain('No view named "nope". Known: mini');
  });

  it('reloads views without a restart and tells connected sessions; a bad reload changes nothing', async () => {
    const client = await connectTo(`${gateway.base}/views/mini/mcp`);
    let changed = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      changed += 1;
    });
    await client.listTools();
    const config = JSON.parse(readFileSync(gateway.configFile, 'utf8')) as { views: Array<typeof MINI> };
    writeFileSync(gateway.configFile, JSON.stringify({ ...config, views: [{ ...MINI, tools: [...MINI.tools, 'fx__whoami'] }] }));
    await waitFor('tools/list_changed after the reload', () => changed > 0 || undefined, 10_000);
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['fx__echo', 'process_id', 'fx__whoami']);

    writeFileSync(gateway.configFile, JSON.stringify({ ...config, views: [{ ...MINI, tools: ['fx__echo', 'fx__nope'] }] }));
    await waitFor('the refused reload', () => gateway.logs.find((line) => String(line.msg).includes('configuration reload refused')), 10_000);
    const refused = gateway.logs.find((line) => String(line.msg).includes('configuration reload refused'));
    expect(JSON.stringify(refused)).toContain('views[0].tools[1]: \\"fx__nope\\" does not exist');
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['fx__echo', 'process_id', 'fx__whoami']);
    await client.close();
  });
});

describe('curated views at start', () => {
  it('refuses to start when a view names a tool that does not exist, naming the reference', async () => {
    const gateway = await startGateway({ upstreams: [fixtureUpstream('fx')], views: [{ name: 'broken', tools: ['fx__echo', 'fx__nope'] }] });
    const exit = await gateway.exited;
    expect(exit.code).toBe(2);
    expect(JSON.stringify(gateway.logs)).toContain('views[0].tools[1]: \\"fx__nope\\" does not exist');
  });

  it('rejects a view that renames two tools to the same name, with the exact place', async () => {
    const gateway = startGateway({ upstreams: [fixtureUpstream('fx')], views: [{ name: 'dup', tools: ['fx__echo', { tool: 'fx__pid', as: 'fx__echo' }] }] });
    await expect(gateway).rejects.toThrow(/views\[0\]\.tools\[1\]: "fx__echo" is already the name of tools\[0\]/);
  });
});

describe('curated views with their own scopes', () => {
  let issuer: TestIssuer;
  let gateway: RunningGateway;
  beforeAll(async () => {
    issuer = await new TestIssuer().start();
    gateway = await startGateway({
      auth: { mode: 'oauth', issuer: issuer.issuer },
      upstreams: [fixtureUpstream('fx')],
      views: [{ ...MINI, scopes: ['view:mini'] }],
    });
    await waitReady(gateway);
  });
  afterAll(async () => {
    await gateway?.stop();
    await issuer?.stop();
  });

  it("requires the view's scope, then each tool's own", async () => {
    const viewUrl = `${gateway.base}/views/mini/mcp`;
    const without = await fetch(viewUrl, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await issuer.accessToken(gateway.url, { scope: 'fx:admin' })}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
      }),
    });
    expect(without.status).toBe(403);
    // Step-up asks for what the token holds plus what the view needs.
    expect(without.headers.get('www-authenticate')).toContain('scope="fx:admin view:mini"');

    const viewOnly = await connectTo(viewUrl, { authorization: `Bearer ${await issuer.accessToken(viewUrl, { scope: 'view:mini' })}` });
    expect((await viewOnly.listTools()).tools).toEqual([]);
    await viewOnly.close();

    const full = await connectTo(viewUrl, { authorization: `Bearer ${await issuer.accessToken(viewUrl, { scope: 'view:mini fx:admin' })}` });
    expect((await full.listTools()).tools.map((t) => t.name)).toEqual(['fx__echo', 'process_id']);
    await full.close();

    // A token for this view opens nothing else.
    const elsewhere = await fetch(gateway.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${await issuer.accessToken(viewUrl, { scope: 'view:mini fx:admin' })}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(elsewhere.status).toBe(401);

    // Without a token: the view's own least-privilege set, what opens it and its namespaces' read and write.
    const anonymous = await fetch(viewUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toContain('scope="view:mini fx:read fx:write"');
  });
});
