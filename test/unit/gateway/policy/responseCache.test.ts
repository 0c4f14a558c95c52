import { describe, expect, it } from 'vitest';
import { cacheSchema } from '../../../../gateway/policy/policySettings.js';
import { canonicalJson, ResponseCache, type InvalidationReason } from '../../../../gateway/policy/responseCache.js';
import { eventually } from '../../support/seams.js';

const answer = (text: string) => ({ content: [{ type: 'text', text }] });

function cacheWith(settings: Record<string, unknown> = {}): ResponseCache {
  return new ResponseCache(cacheSchema.parse(settings));
}

describe('which results are cached, and how', () => {
  it('layers the rule: defaults, then the namespace, then the tool', () => {
    const cache = cacheWith({ ttlMs: 30_000, perUser: true, namespaces: { docs: { perUser: false, tools: { search_docs: { ttlMs: 5_000 } } } } });
    expect(cache.toolRule('pm', 'list_tasks')).toEqual({ ttlMs: 30_000, perUser: true });
    expect(cache.toolRule('docs', 'get_section')).toEqual({ ttlMs: 30_000, perUser: false });
    expect(cache.toolRule('docs', 'search_docs')).toEqual({ ttlMs: 5_000, perUser: false });
  });

  it('caches nothing where the TTL is 0 or caching is off', () => {
    const cache = cacheWith({ namespaces: { gh: { ttlMs: 0 }, pm: { resources: { ttlMs: 0 } } } });
    expect(cache.toolRule('gh', 'list_issues')).toBeUndefined();
    expect(cache.resourceRule('pm')).toBeUndefined();
    expect(cache.toolRule('pm', 'list_tasks')).toBeDefined();
    const off = cacheWith({ enabled: false });
    expect(off.toolRule('pm', 'list_tasks')).toBeUndefined();
    expect(off.resourceRule('pm')).toBeUndefined();
  });
});

describe('hits', () => {
  it('serves a stored result for the same tool and arguments, whatever their key order', () => {
    const cache = cacheWith();
    const rule = cache.toolRule('pm', 'list_tasks')!;
    const slot = cache.toolSlot('pm', 'list_tasks', 'ada', { status: 'open', limit: 10, filter: { a: 1, b: 2 } }, rule);
    expect(cache.get(slot)).toBeUndefined();
    expect(cache.store(slot, answer('3 tasks'), 40, slot)).toBe(true);

    const same = cache.toolSlot('pm', 'list_tasks', 'ada', { filter: { b: 2, a: 1 }, limit: 10, status: 'open' }, rule);
    const hit = cache.get(same);
    expect(hit?.value).toEqual(answer('3 tasks'));
    expect(hit?.bytes).toBe(40);
    expect(hit?.ageMs).toBeGreaterThanOrEqual(0);
    expect(cache.size).toBe(1);

    expect(cache.get(cache.toolSlot('pm', 'list_tasks', 'ada', { status: 'closed', limit: 10 }, rule))).toBeUndefined();
    expect(cache.get(cache.toolSlot('pm', 'get_task', 'ada', { status: 'open', limit: 10, filter: { a: 1, b: 2 } }, rule))).toBeUndefined();
    expect(cache.get(cache.toolSlot('docs', 'list_tasks', 'ada', { status: 'open', limit: 10, filter: { a: 1, b: 2 } }, rule))).toBeUndefined();
  });

  it('never serves a per-user result to another user', () => {
    const cache = cacheWith({ perUser: true });
    const rule = cache.toolRule('pm', 'my_tasks')!;
    cache.store(cache.toolSlot('pm', 'my_tasks', 'ada', {}, rule), answer("ada's tasks"), 10, cache.toolSlot('pm', 'my_tasks', 'ada', {}, rule));
    expect(cache.get(cache.toolSlot('pm', 'my_tasks', 'bob', {}, rule))).toBeUndefined();
    expect(cache.get(cache.toolSlot('pm', 'my_tasks', 'ada', {}, rule))?.value).toEqual(answer("ada's tasks"));

    const readRule = cache.resourceRule('pm')!;
    const adaRead = cache.resourceSlot('pm', 'project://status', 'ada', readRule);
    cache.store(adaRead, answer('status for ada'), 10, adaRead);
    expect(cache.get(cache.resourceSlot('pm', 'project://status', 'bob', readRule))).toBeUndefined();
  });

  it('shares a result between users where the rule says so', () => {
    const cache = cacheWith({ namespaces: { docs: { perUser: false } } });
    const rule = cache.toolRule('docs', 'search_docs')!;
    const slot = cache.toolSlot('docs', 'search_docs', 'ada', { query: 'port' }, rule);
    cache.store(slot, answer('3 sections'), 10, slot);
    expect(cache.get(cache.toolSlot('docs', 'search_docs', 'bob', { query: 'port' }, rule))?.value).toEqual(answer('3 sections'));
  });
});

describe('time to live', () => {
  it('drops an entry once its TTL has passed, and keeps the others', async () => {
    const cache = cacheWith();
    const rule = cache.toolRule('pm', 'list_tasks')!;
    const short = cache.toolSlot('pm', 'list_tasks', 'ada', { page: 1 }, rule);
    const long = cache.toolSlot('pm', 'list_tasks', 'ada', { page: 2 }, rule);
    cache.store(short, answer('page 1'), 10, short, 1);
    cache.store(long, answer('page 2'), 10, long);
    await eventually(() => expect(cache.get(short)).toBeUndefined());
    expect(cache.get(long)?.value).toEqual(answer('page 2'));
  });

  it('never keeps an entry longer than its rule, whatever TTL it is stored with', async () => {
    const cache = cacheWith({ ttlMs: 1 });
    const rule = cache.toolRule('pm', 'list_tasks')!;
    const slot = cache.toolSlot('pm', 'list_tasks', 'ada', {}, rule);
    cache.store(slot, answer('x'), 10, slot, 60_000);
    await eventually(() => expect(cache.get(slot)).toBeUndefined());
  });
});

describe('invalidation', () => {
  it('a write or list change drops every tool result and read of the namespace, and no other', () => {
    const cache = cacheWith();
    const rule = cache.toolRule('pm', 'list_tasks')!;
    const pmTool = cache.toolSlot('pm', 'list_tasks', 'ada', {}, rule);
    const pmRead = cache.resourceSlot('pm', 'project://status', 'ada', rule);
    const docsTool = cache.toolSlot('docs', 'search_docs', 'ada', {}, rule);
    for (const slot of [pmTool, pmRead, docsTool]) cache.store(slot, answer(slot.key), 10, slot);

    cache.invalidateNamespace('pm', 'write');
    expect(cache.get(cache.toolSlot('pm', 'list_tasks', 'ada', {}, rule))).toBeUndefined();
    expect(cache.get(cache.resourceSlot('pm', 'project://status', 'ada', rule))).toBeUndefined();
    expect(cache.get(cache.toolSlot('docs', 'search_docs', 'ada', {}, rule))).toBeDefined();
  });

  it("a resource update drops that resource's reads and the namespace's tool results, not other resources", () => {
    const cache = cacheWith();
    const rule = cache.resourceRule('pm')!;
    const status = cache.resourceSlot('pm', 'project://status', 'ada', rule);
    const board = cache.resourceSlot('pm', 'project://board', 'ada', rule);
    const tool = cache.toolSlot('pm', 'list_tasks', 'ada', {}, rule);
    for (const slot of [status, board, tool]) cache.store(slot, answer(slot.key), 10, slot);

    cache.invalidateResource('pm', 'project://status', 'resource_updated');
    expect(cache.get(cache.resourceSlot('pm', 'project://status', 'ada', rule))).toBeUndefined();
    expect(cache.get(cache.toolSlot('pm', 'list_tasks', 'ada', {}, rule))).toBeUndefined();
    expect(cache.get(cache.resourceSlot('pm', 'project://board', 'ada', rule))?.value).toEqual(answer(board.key));
  });

  it('refuses to store an answer fetched from before an invalidation', () => {
    const cache = cacheWith();
    const rule = cache.toolRule('pm', 'list_tasks')!;
    const before = cache.toolSlot('pm', 'list_tasks', 'ada', {}, rule);
    // A write lands while the read is at the upstream.
    cache.invalidateNamespace('pm', 'write');
    const now = cache.toolSlot('pm', 'list_tasks', 'ada', {}, rule);
    expect(cache.store(before, answer('stale'), 10, now)).toBe(false);
    expect(cache.get(now)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('tells its listeners of every invalidation and why', () => {
    const cache = cacheWith();
    const heard: Array<[string, string | undefined, InvalidationReason]> = [];
    cache.onInvalidate((namespace, uri, reason) => heard.push([namespace, uri, reason]));
    cache.invalidateNamespace('pm', 'list_changed');
    cache.invalidateResource('docs', 'docs://a.md', 'remote');
    expect(heard).toEqual([
      ['pm', undefined, 'list_changed'],
      ['docs', 'docs://a.md', 'remote'],
    ]);
  });
});

describe('bounds', () => {
  it('evicts the least recently used entry past maxEntries', () => {
    const cache = cacheWith({ maxEntries: 2 });
    const rule = cache.toolRule('pm', 't')!;
    const slots = [1, 2, 3].map((page) => cache.toolSlot('pm', 't', 'ada', { page }, rule));
    cache.store(slots[0]!, answer('1'), 10, slots[0]!);
    cache.store(slots[1]!, answer('2'), 10, slots[1]!);
    cache.get(slots[0]!);
    cache.store(slots[2]!, answer('3'), 10, slots[2]!);
    expect(cache.size).toBe(2);
    expect(cache.get(slots[1]!)).toBeUndefined();
    expect(cache.get(slots[0]!)).toBeDefined();
  });

  it('keeps the total size under maxBytes', () => {
    const cache = cacheWith({ maxBytes: 1024 });
    const rule = cache.toolRule('pm', 't')!;
    for (let page = 0; page < 5; page++) {
      const slot = cache.toolSlot('pm', 't', 'ada', { page }, rule);
      cache.store(slot, answer(String(page)), 400, slot);
    }
    expect(cache.size).toBe(2);
  });
});

describe('canonical JSON', () => {
  it('sorts object keys at every level and leaves arrays in order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null } })).toBe('{"a":{"c":null,"d":[2,1]},"b":1}');
  });
});
