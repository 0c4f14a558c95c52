import type { CallToolResult } from '@modelcontextprotocol/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSuggestedSubtasks } from '../../servers/project-management/tools/breakdown.js';
import { CALLER_META_KEY } from '../../shared/callerContext.js';
import { CLIENT_KINDS, LEGACY_V1, MODERN_V2 } from '../support/eraClients.js';
import { matrix, samplingAnswer, startHarness, structured, textOf, type Harness, type TaskOut } from './harness.js';

const sqliteOnly = (transports: Array<'memory' | 'stdio' | 'http'>) => matrix(transports, CLIENT_KINDS).filter((row) => row.backend.name === 'sqlite');

describe.each(sqliteOnly(['memory', 'stdio', 'http']))('generate_task_breakdown (sampling) on $label', ({ backend, transport, client: kind }) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness(backend, { samplingTimeoutMs: 1_000, transport, client: kind });
  });
  afterAll(async () => harness?.close());

  it('asks the client to sample and stores the sub-tasks under a new parent', async () => {
    const requests: Array<Record<string, unknown>> = [];
    const answer =
      '```json\n[{"title":"Design the sync protocol","priority":"high","description":"Decide conflict rules."},{"title":"Build the local queue"},{"title":"Add retry UI","priority":"low"}]\n```';
    const client = await harness.connect({ capabilities: { sampling: {} }, handlers: samplingAnswer(answer, requests) });
    const result = await client.callTool({ name: 'generate_task_breakdown', arguments: { objective: 'Ship offline sync', max_subtasks: 5 } });
    expect(result.isError).toBeFalsy();
    const { parent, subtasks } = structured<{ parent: TaskOut; subtasks: TaskOut[] }>(result);
    expect(parent.title).toBe('Ship offline sync');
    expect(subtasks.map((s) => [s.title, s.priority, s.parent_id])).toEqual([
      ['Design the sync protocol', 'high', parent.id],
      ['Build the local queue', 'medium', parent.id],
      ['Add retry UI', 'low', parent.id],
    ]);
    expect(requests).toHaveLength(1);
    expect(JSON.stringify(requests[0])).toContain('Ship offline sync');
    expect(JSON.stringify(requests[0])).toContain('at most 5');
    const stored = await harness.store.getTaskDetails(Number(parent.id.slice(2)));
    expect(stored.subtasks).toHaveLength(3);
  });

  it('bounds the number and length of what the model suggests', async () => {
    const many = JSON.stringify(Array.from({ length: 30 }, (_, i) => ({ title: `Step ${i} ${'x'.repeat(300)}` })));
    const client = await harness.connect({ capabilities: { sampling: {} }, handlers: samplingAnswer(many) });
    const result = await client.callTool({ name: 'generate_task_breakdown', arguments: { objective: 'Big plan', max_subtasks: 4 } });
    const { subtasks } = structured<{ subtasks: TaskOut[] }>(result);
    expect(subtasks).toHaveLength(4);
    for (const s of subtasks) expect(s.title.length).toBeLessThanOrEqual(200);
  });

  it('attaches to an existing parent and refuses a sub-task as parent', async () => {
    const client = await harness.connect({ capabilities: { sampling: {} }, handlers: samplingAnswer('[{"title":"One"},{"title":"Two"}]') });
    const parent = structured<{ task: TaskOut }>(await client.callTool({ name: 'create_task', arguments: { title: 'Existing parent' } })).task;
    const ok = await client.callTool({ name: 'generate_task_breakdown', arguments: { objective: 'More detail', parent: parent.id } });
    expect(structured<{ parent: TaskOut; subtasks: TaskOut[] }>(ok).parent.id).toBe(parent.id);
    const child = structured<{ subtasks: TaskOut[] }>(ok).subtasks[0]!;
    const nested = await client.callTool({ name: 'generate_task_breakdown', arguments: { objective: 'Too deep', parent: child.id } });
    expect(nested.isError).toBe(true);
    expect(textOf(nested)).toContain('one level only');
  });

  it('fails clearly, writing nothing, when the client cannot sample', async () => {
    const client = await harness.connect({});
    const before = await harness.store.recentActivity(1);
    const result = await client.callTool({ name: 'generate_task_breakdown', arguments: { objective: 'Anything' } });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('does not support sampling');
    expect(textOf(result)).toContain('task_breakdown prompt');
    expect(await harness.store.recentActivity(1)).toEqual(before);
  });

  it('fails clearly, writing nothing, when the client declines or the model answers nonsense', async () => {
    const declining = await harness.connect({
      capabilities: { sampling: {} },
      handlers: {
        sampling: () => {
          throw new Error('User rejected sampling request');
        },
      },
    });
    const before = await harness.store.recentActivity(1);
    if (kind === MODERN_V2) {
      // The 2026 client answers the input request itself: its own refusal ends the call on its side.
      await expect(declining.callTool({ name: 'generate_task_breakdown', arguments: { objective: 'Anything' } })).rejects.toThrow(
        /User rejected sampling request/,
      );
    } else {
      // A 2025 client refuses the server's sampling/createMessage; the call ends with the reason.
      const declined = await declining.callTool({ name: 'generate_task_breakdown', arguments: { objective: 'Anything' } });
      expect(declined.isError).toBe(true);
      expect(textOf(declined)).toContain('User rejected sampling request');
    }

    const nonsense = await harness.connect({ capabilities: { sampling: {} }, handlers: samplingAnswer('I would rather write a poem.') });
    const garbled = await nonsense.callTool({ name: 'generate_task_breakdown', arguments: { objective: 'Anything' } });
    expect(garbled.isError).toBe(true);
    expect(textOf(garbled)).toContain('did not answer with a JSON array');
    expect(await harness.store.recentActivity(1)).toEqual(before);
  });

  // A 2026 client answers the input request itself, on its own time: nothing waits on the server.
  if (kind === LEGACY_V1)
    it('times out, writing nothing, when a 2025 client never answers', async () => {
      const silent = await harness.connect({ capabilities: { sampling: {} }, handlers: { sampling: () => new Promise(() => undefined) } });
      const before = await harness.store.recentActivity(1);
      const result: CallToolResult = await silent.callTool({ name: 'generate_task_breakdown', arguments: { objective: 'Anything' } });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(/timed out/i);
      expect(await harness.store.recentActivity(1)).toEqual(before);
    });

  it('parses fenced, bare and prose-wrapped JSON, and skips malformed items', () => {
    expect(parseSuggestedSubtasks('[{"title":"A"}]')).toEqual([{ title: 'A' }]);
    expect(parseSuggestedSubtasks('Here you go:\n[{"title":"A"},{"nope":1},{"title":"B","priority":"urgent"}]\nGood luck')).toEqual([
      { title: 'A' },
      { title: 'B', priority: 'urgent' },
    ]);
    expect(() => parseSuggestedSubtasks('{"title":"not a list"}')).toThrow(/JSON/);
  });
});

describe.each(sqliteOnly(['memory', 'stdio', 'http']))('acting user on $label', ({ backend, transport, client: kind }) => {
  it('records the gateway-supplied caller only when caller metadata is trusted', async () => {
    for (const trust of [true, false]) {
      const harness = await startHarness(backend, { trustCallerMeta: trust, transport, client: kind });
      try {
        const client = await harness.connect();
        const result = await client.callTool({
          name: 'create_task',
          arguments: { title: 'Who did this?' },
          _meta: { [CALLER_META_KEY]: { user: 'grace', email: 'grace@example.com', scopes: ['pm:write'], session: 's-1' } },
        });
        const expected = trust ? 'grace' : 'ada@example.com';
        expect(structured<{ task: TaskOut }>(result).task.created_by).toBe(expected);
        expect((await harness.store.recentActivity(1))[0]?.actor).toBe(expected);
      } finally {
        await harness.close();
      }
    }
  });
});
