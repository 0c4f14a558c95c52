import { Client } from '@modelcontextprotocol/client';
import { InMemoryTransport, Server } from '@modelcontextprotocol/server';
import { afterEach, describe, expect, it } from 'vitest';
import { listAll, ToolFilter } from '../../../../gateway/upstreams/upstreamLists.js';

describe("an upstream's tools.allow / tools.deny globs", () => {
  it('allows everything with no allow list and no deny list', () => {
    const filter = new ToolFilter({ deny: [] });
    expect(['create_task', 'delete_project', 'x'].every((name) => filter.allows(name))).toBe(true);
  });

  it('allows only what an allow pattern matches, whole names only', () => {
    const filter = new ToolFilter({ allow: ['list_*', 'get_task'], deny: [] });
    expect(filter.allows('list_tasks')).toBe(true);
    expect(filter.allows('list_')).toBe(true);
    expect(filter.allows('get_task')).toBe(true);
    expect(filter.allows('get_tasks')).toBe(false);
    expect(filter.allows('xlist_tasks')).toBe(false);
    expect(filter.allows('create_task')).toBe(false);
  });

  it('denies after allowing', () => {
    const filter = new ToolFilter({ allow: ['*'], deny: ['delete_*', '*_admin'] });
    expect(filter.allows('delete_project')).toBe(false);
    expect(filter.allows('grant_admin')).toBe(false);
    expect(filter.allows('create_task')).toBe(true);
  });

  it('reads every character but * literally', () => {
    const filter = new ToolFilter({ allow: ['repo.read', 'a/b*'], deny: [] });
    expect(filter.allows('repo.read')).toBe(true);
    expect(filter.allows('repoXread')).toBe(false);
    expect(filter.allows('a/b/c')).toBe(true);
    expect(new ToolFilter({ deny: ['(x|y)+'] }).allows('x')).toBe(true);
    expect(new ToolFilter({ deny: ['(x|y)+'] }).allows('(x|y)+')).toBe(false);
  });
});

describe('listing every page of an upstream list', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  /** A real SDK server that lists `count` tools `pageSize` at a time, and the cursors it was asked for. */
  async function pagedUpstream(count: number, pageSize: number, endless = false): Promise<{ client: Client; cursorsAsked: Array<string | undefined> }> {
    const tools = Array.from({ length: count }, (_, i) => ({ name: `tool_${i}`, inputSchema: { type: 'object' as const } }));
    const cursorsAsked: Array<string | undefined> = [];
    const server = new Server({ name: 'paged', version: '1.0.0' }, { capabilities: { tools: {}, prompts: {} } });
    server.setRequestHandler('tools/list', (request) => {
      const cursor = request.params?.cursor;
      cursorsAsked.push(cursor);
      const start = cursor === undefined ? 0 : Number(cursor.slice('after-'.length));
      const end = start + pageSize;
      if (endless) return { tools: [], nextCursor: `after-${start}` };
      return { tools: tools.slice(start, end), ...(end < tools.length ? { nextCursor: `after-${end}` } : {}) };
    });
    server.setRequestHandler('prompts/list', () => ({ prompts: [] }));
    const [clientEnd, serverEnd] = InMemoryTransport.createLinkedPair();
    await server.connect(serverEnd);
    const client = new Client({ name: 'gateway-under-test', version: '0.0.0' });
    await client.connect(clientEnd);
    closers.push(async () => {
      await client.close();
      await server.close();
    });
    return { client, cursorsAsked };
  }

  it('follows nextCursor until the last page and returns the items in order', async () => {
    const { client, cursorsAsked } = await pagedUpstream(7, 3);
    const items = (await listAll(client, 'tools/list', 'tools', 5_000)) as Array<{ name: string }>;
    expect(items.map((item) => item.name)).toEqual(['tool_0', 'tool_1', 'tool_2', 'tool_3', 'tool_4', 'tool_5', 'tool_6']);
    expect(cursorsAsked).toEqual([undefined, 'after-3', 'after-6']);
  });

  it('asks once when everything fits one page, and returns an empty list as empty', async () => {
    const { client, cursorsAsked } = await pagedUpstream(2, 10);
    expect(await listAll(client, 'tools/list', 'tools', 5_000)).toHaveLength(2);
    expect(cursorsAsked).toEqual([undefined]);
    expect(await listAll(client, 'prompts/list', 'prompts', 5_000)).toEqual([]);
  });

  it('stops after 1,000 pages of an upstream that never stops paging', async () => {
    const { client, cursorsAsked } = await pagedUpstream(0, 1, true);
    expect(await listAll(client, 'tools/list', 'tools', 5_000)).toEqual([]);
    expect(cursorsAsked).toHaveLength(1_000);
  });
});
