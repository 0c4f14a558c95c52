import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALLER_META_KEY } from '../../shared/callerContext.js';
import { CLIENT_KINDS } from '../support/eraClients.js';
import { envelope, postModern } from '../support/modernWire.js';
import { backends, matrix, startHarness, structured, textOf, type Harness, type TaskOut } from './harness.js';

const sqlite = backends[0]!;
const SAMPLING = { sampling: {} };
const SUBTASKS = '[{"title":"Write the migration"},{"title":"Backfill the data"}]';

function samplingResponse(text: string): Record<string, unknown> {
  return { role: 'assistant', model: 'test-model', content: { type: 'text', text } };
}

/**
 * The 2026-07-28 multi round-trip on the wire: what a client that is not the SDK sees and may do
 * with `requestState`, which comes back from it and so is attacker-controlled.
 */
describe('multi round-trip state (2026-07-28 wire, in-process endpoint)', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness(sqlite, { trustCallerMeta: true, pendingInputTtlSeconds: 1 });
  });
  afterAll(async () => harness?.close());

  const breakdown = { name: 'generate_task_breakdown', arguments: { objective: 'Split the users table' } };
  const grace = { [CALLER_META_KEY]: { user: 'grace', scopes: ['pm:write'] } };
  const firstRound = async () => {
    const answer = await postModern(harness.modernEndpoint, 'tools/call', { ...breakdown, _meta: grace }, { clientCapabilities: SAMPLING });
    expect(answer.status).toBe(200);
    const result = answer.message.result!;
    expect(result.resultType).toBe('input_required');
    return result as { inputRequests: Record<string, { method: string; params: Record<string, unknown> }>; requestState: string };
  };
  const retry = (requestState: string, params: Record<string, unknown> = breakdown, meta: Record<string, unknown> = grace) =>
    postModern(
      harness.modernEndpoint,
      'tools/call',
      { ...params, _meta: meta, requestState, inputResponses: { breakdown: samplingResponse(SUBTASKS) } },
      { id: 2, clientCapabilities: SAMPLING },
    );

  it('asks for sampling with input_required and finishes on the retry with the answer', async () => {
    const { inputRequests, requestState } = await firstRound();
    expect(inputRequests.breakdown?.method).toBe('sampling/createMessage');
    expect(JSON.stringify(inputRequests.breakdown?.params)).toContain('Split the users table');
    expect(requestState.length).toBeGreaterThan(20);

    const done = await retry(requestState);
    expect(done.status).toBe(200);
    expect(done.message.result?.resultType).toBe('complete');
    const { parent, subtasks } = structured<{ parent: TaskOut; subtasks: TaskOut[] }>(done.message.result!);
    expect(parent.created_by).toBe('grace');
    expect(subtasks.map((t) => t.title)).toEqual(['Write the migration', 'Backfill the data']);
  });

  it('refuses a tampered requestState with -32602 and writes nothing', async () => {
    const { requestState } = await firstRound();
    const before = await harness.store.recentActivity(5);
    const tampered = `${requestState.slice(0, -4)}${requestState.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    const refused = await retry(tampered);
    expect(refused.message.error).toMatchObject({ code: -32602, message: expect.stringMatching(/Invalid or expired requestState/) });
    expect(await harness.store.recentActivity(5)).toEqual(before);
  });

  it('refuses a requestState issued to another user, and one replayed after it expired', async () => {
    const { requestState } = await firstRound();
    const before = await harness.store.recentActivity(5);
    const foreign = await retry(requestState, breakdown, { [CALLER_META_KEY]: { user: 'mallory', scopes: ['pm:write'] } });
    expect(foreign.message.error).toMatchObject({ code: -32602 });

    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const expired = await retry(requestState);
    expect(expired.message.error).toMatchObject({ code: -32602, message: expect.stringMatching(/Invalid or expired requestState/) });
    expect(await harness.store.recentActivity(5)).toEqual(before);
  });

  it('refuses a requestState aimed at another call of the same tool, saying how to start over', async () => {
    const { requestState } = await firstRound();
    const before = await harness.store.recentActivity(5);
    const other = await retry(requestState, { name: 'generate_task_breakdown', arguments: { objective: 'Something else entirely' } });
    expect(other.message.result?.isError).toBe(true);
    expect(textOf(other.message.result!)).toMatch(/issued for another call.*without requestState/);
    expect(await harness.store.recentActivity(5)).toEqual(before);
  });

  it('refuses a request without the envelope, or naming another revision, before anything runs', async () => {
    const before = await harness.store.recentActivity(5);
    const create = { name: 'create_task', arguments: { title: 'Should not exist' } };
    const noCapabilities = await postModern(harness.modernEndpoint, 'tools/call', create, {
      meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' },
    });
    expect(noCapabilities.status).toBe(400);
    expect(noCapabilities.message.error?.code).toBe(-32602);

    const future = await postModern(harness.modernEndpoint, 'tools/call', create, {
      meta: { ...envelope(), 'io.modelcontextprotocol/protocolVersion': '2099-01-01' },
      headers: { 'MCP-Protocol-Version': '2099-01-01' },
    });
    expect(future.status).toBe(400);
    expect(future.message.error).toMatchObject({ code: -32022, data: { supported: ['2026-07-28'], requested: '2099-01-01' } });

    const mismatched = await postModern(harness.modernEndpoint, 'tools/call', create, { headers: { 'Mcp-Name': 'delete_task' } });
    expect(mismatched.status).toBe(400);
    expect(mismatched.message.error?.code).toBe(-32020);

    const removed = await postModern(harness.modernEndpoint, 'ping', {});
    expect(removed.status).toBe(404);
    expect(removed.message.error?.code).toBe(-32601);
    expect(await harness.store.recentActivity(5)).toEqual(before);
  });

  it('confirms a deletion with an elicitation form whose state names the pending deletion', async () => {
    const created = structured<{ task: TaskOut }>(await (await harness.connect()).callTool({ name: 'create_task', arguments: { title: 'Old spike' } })).task;
    const ask = await postModern(
      harness.modernEndpoint,
      'tools/call',
      { name: 'delete_task', arguments: { id: created.id } },
      { clientCapabilities: { elicitation: {} } },
    );
    const first = ask.message.result as {
      resultType: string;
      inputRequests: Record<string, { method: string; params: { message: string } }>;
      requestState: string;
    };
    expect(first.resultType).toBe('input_required');
    expect(first.inputRequests.confirm?.method).toBe('elicitation/create');
    expect(first.inputRequests.confirm?.params.message).toContain(`Delete ${created.id}`);

    // The task changes before the user answers: the confirmation no longer holds.
    const client = await harness.connect();
    await client.callTool({ name: 'update_task', arguments: { id: created.id, priority: 'urgent' } });
    const stale = await postModern(
      harness.modernEndpoint,
      'tools/call',
      {
        name: 'delete_task',
        arguments: { id: created.id },
        requestState: first.requestState,
        inputResponses: { confirm: { action: 'accept', content: { confirm: true } } },
      },
      { id: 2, clientCapabilities: { elicitation: {} } },
    );
    expect(stale.message.result?.isError).toBe(true);
    expect(textOf(stale.message.result!)).toMatch(/changed/);
    expect((await harness.store.getTaskDetails(Number(created.id.slice(2)))).task.id).toBe(created.id);
  });
});

describe.each(matrix(['memory', 'stdio', 'http'], CLIENT_KINDS).filter((row) => row.backend.name === 'sqlite'))(
  'delete_task confirmed by elicitation on $label',
  ({ backend, transport, client: kind }) => {
    let harness: Harness;
    beforeAll(async () => {
      harness = await startHarness(backend, { transport, client: kind });
    });
    afterAll(async () => harness?.close());

    it('asks the user and deletes on acceptance, or keeps everything when the user declines', async () => {
      const messages: string[] = [];
      let accept = false;
      const client = await harness.connect({
        capabilities: { elicitation: {} },
        handlers: {
          elicitation: (params) => {
            messages.push(String(params.message));
            return accept ? { action: 'accept', content: { confirm: true } } : { action: 'decline' };
          },
        },
      });
      const parent = structured<{ task: TaskOut }>(await client.callTool({ name: 'create_task', arguments: { title: 'Legacy importer' } })).task;
      await client.callTool({ name: 'create_task', arguments: { title: 'Importer tests', parent: parent.id } });

      const declined = await client.callTool({ name: 'delete_task', arguments: { id: parent.id } });
      expect(declined.isError).toBe(true);
      expect(textOf(declined)).toMatch(/Not deleted: the user did not confirm/);
      expect(messages[0]).toMatch(new RegExp(`Delete ${parent.id} .*Legacy importer.* and its 1 sub-task`));
      expect((await harness.store.getTaskDetails(Number(parent.id.slice(2)))).subtasks).toHaveLength(1);

      accept = true;
      const deleted = await client.callTool({ name: 'delete_task', arguments: { id: parent.id } });
      expect(deleted.isError).toBeFalsy();
      expect(structured<{ status: string; deleted_ids: string[] }>(deleted)).toMatchObject({
        status: 'deleted',
        deleted_ids: [parent.id, expect.stringMatching(/^T-/)],
      });
      await expect(harness.store.getTaskDetails(Number(parent.id.slice(2)))).rejects.toThrow(/does not exist/);
    });

    it('keeps the two-step token for a client that cannot be asked', async () => {
      const client = await harness.connect();
      const task = structured<{ task: TaskOut }>(await client.callTool({ name: 'create_task', arguments: { title: 'Keep me' } })).task;
      const first = await client.callTool({ name: 'delete_task', arguments: { id: task.id } });
      expect(structured<{ status: string; confirm_token: string }>(first)).toMatchObject({
        status: 'confirmation_required',
        confirm_token: expect.any(String),
      });
      const confirmed = await client.callTool({
        name: 'delete_task',
        arguments: { id: task.id, confirm: structured<{ confirm_token: string }>(first).confirm_token },
      });
      expect(structured<{ status: string }>(confirmed).status).toBe('deleted');
    });
  },
);
