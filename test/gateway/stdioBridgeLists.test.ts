import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  ListPromptsResultSchema,
  ListResourcesResultSchema,
  ListResourceTemplatesResultSchema,
  ListToolsResultSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, fixtureUpstream, ROOT, startGateway, waitReady, type RunningGateway } from './harness.js';

type ListMethod = 'tools/list' | 'prompts/list' | 'resources/list' | 'resources/templates/list';
const ITEMS: Record<ListMethod, string> = {
  'tools/list': 'tools',
  'prompts/list': 'prompts',
  'resources/list': 'resources',
  'resources/templates/list': 'resourceTemplates',
};
const METHODS = Object.keys(ITEMS) as ListMethod[];
const SCHEMAS = {
  'tools/list': ListToolsResultSchema,
  'prompts/list': ListPromptsResultSchema,
  'resources/list': ListResourcesResultSchema,
  'resources/templates/list': ListResourceTemplatesResultSchema,
} as const;

interface ListPage {
  nextCursor?: string;
  [key: string]: unknown;
}

/** One raw list request, so the test sees the result as the client got it (cursor included). */
async function listPage(client: Client, method: ListMethod, cursor?: string): Promise<ListPage> {
  return (await client.request({ method, params: cursor ? { cursor } : {} }, SCHEMAS[method])) as ListPage;
}

function keysOf(method: ListMethod, items: unknown): string[] {
  return (items as Array<{ name?: string; uri?: string; uriTemplate?: string }>).map(
    (item) => (method === 'resources/list' ? item.uri : (item.uriTemplate ?? item.name)) ?? '',
  );
}

/** Every page, following cursors, as a client that pages does. */
async function followCursors(client: Client, method: ListMethod): Promise<{ keys: string[]; pages: number }> {
  const keys: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await listPage(client, method, cursor);
    keys.push(...keysOf(method, page[ITEMS[method]]));
    cursor = page.nextCursor;
    pages += 1;
  } while (cursor);
  return { keys, pages };
}

async function bridgeClient(gateway: RunningGateway, extraArgs: string[] = []): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [join(ROOT, 'dist', 'gateway', 'stdioBridge.js'), '--url', gateway.url, ...extraArgs],
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'error' },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'stdio-only-client', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

describe('the stdio bridge gathers every page for clients that do not follow cursors', () => {
  let gateway: RunningGateway;
  let direct: Client;
  const bridged: Client[] = [];

  beforeAll(async () => {
    gateway = await startGateway({
      http: { pageSize: 3 },
      upstreams: [fixtureUpstream('fx', {}, { FIXTURE_RESOURCES: '4' }), fixtureUpstream('fy', {}, { FIXTURE_RESOURCES: '4', FIXTURE_EXTRA_TOOLS: '12' })],
    });
    await waitReady(gateway);
    direct = await connect(gateway.url);
  });
  afterAll(async () => {
    await Promise.all([direct, ...bridged].map((c) => c?.close().catch(() => undefined)));
    await gateway?.stop();
  });

  it.each(METHODS)('%s without a cursor answers with the whole list and no cursor', async (method) => {
    const client = await bridgeClient(gateway);
    bridged.push(client);
    const paged = await followCursors(direct, method);
    // Several pages exist, or the test would prove nothing.
    expect(paged.pages).toBeGreaterThan(1);
    const whole = await listPage(client, method);
    expect(whole.nextCursor).toBeUndefined();
    expect(keysOf(method, whole[ITEMS[method]])).toEqual(paged.keys);
  });

  it('a client that sends a cursor still gets one page at a time', async () => {
    const client = await bridgeClient(gateway);
    bridged.push(client);
    const first = await listPage(direct, 'tools/list');
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await listPage(client, 'tools/list', first.nextCursor);
    const secondDirect = await listPage(direct, 'tools/list', first.nextCursor);
    expect(keysOf('tools/list', second.tools)).toEqual(keysOf('tools/list', secondDirect.tools));
    expect(keysOf('tools/list', second.tools)).toHaveLength(3);
    expect(second.nextCursor).toBe(secondDirect.nextCursor);
    // A cursor the gateway never issued is the gateway's own error, passed on as it is.
    const refused = await listPage(client, 'tools/list', 'not-a-cursor').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(McpError);
    expect((refused as McpError).message).toContain('Invalid or expired cursor');
  });

  it('a list longer than --max-list-pages is a clear error, and the bridge keeps working', async () => {
    const client = await bridgeClient(gateway, ['--max-list-pages', '2']);
    bridged.push(client);
    const refused = await listPage(client, 'tools/list').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(McpError);
    expect((refused as McpError).message).toMatch(/tools\/list is longer than the bridge gathers \(2 pages .*\)\. Send the request with a cursor/);
    // Lists within the cap, and calls, still work on the same bridge.
    const templates = await listPage(client, 'resources/templates/list');
    expect(keysOf('resources/templates/list', templates.resourceTemplates).length).toBeGreaterThan(3);
    const echoed = await client.callTool({ name: 'fx__echo', arguments: { text: 'still here' } });
    expect(echoed.isError).toBeFalsy();
  });
});
