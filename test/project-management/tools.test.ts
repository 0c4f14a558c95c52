import type { CallToolResult } from '@modelcontextprotocol/server';
import type { EraClient } from '../support/eraClients.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matrix, startHarness, structured, textOf, type Harness, type TaskOut } from './harness.js';

describe.each(matrix(['memory', 'stdio', 'http']))('project-management tools on $label', ({ backend, transport, client: kind }) => {
  let harness: Harness;
  let client: EraClient;
  const call = async (name: string, args: Record<string, unknown> = {}) => (await client.callTool({ name, arguments: args })) as CallToolResult;
  const task = (result: CallToolResult) => structured<{ task: TaskOut }>(result).task;

  beforeAll(async () => {
    harness = await startHarness(backend, { transport, client: kind });
    client = await harness.connect();
  });
  afterAll(async () => harness?.close());

  it('lists every tool with a description, schemas and honest annotations', async () => {
    const { tools } = await client.listTools();
    const byName = new Map(tools.map((t) => [t.name, t]));
    expect([...byName.keys()].sort()).toEqual(
      [
        'assign_task',
        'create_project',
        'create_task',
        'delete_task',
        'generate_task_breakdown',
        'get_task_details',
        'list_projects',
        'list_tasks',
        'update_task',
      ].sort(),
    );
    for (const tool of tools) {
      expect(tool.description?.length, tool.name).toBeGreaterThan(60);
      expect(tool.inputSchema.type).toBe('object');
      expect(tool.outputSchema?.type, tool.name).toBe('object');
      expect(tool.annotations, tool.name).toBeDefined();
    }
    expect(byName.get('list_tasks')?.annotations).toMatchObject({ readOnlyHint: true, idempotentHint: true });
    expect(byName.get('delete_task')?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    expect(byName.get('create_task')?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false, idempotentHint: false });
    expect(byName.get('create_task')?.inputSchema.additionalProperties).toBe(false);
  });

  it('creates a project and a task in it, with ids from T-101, recorded as the acting user', async () => {
    const project = await call('create_project', { key: 'payments', name: 'Payments platform', description: 'Card and bank flows' });
    expect(project.isError).toBeFalsy();
    expect(structured<{ project: { key: string } }>(project).project.key).toBe('payments');

    const created = await call('create_task', {
      title: 'Retry failed card captures',
      project: 'payments',
      description: 'Captures that time out are never retried.',
      priority: 'high',
      assignee: 'grace@example.com',
      external_ref: 'https://github.com/acme/payments/issues/42',
    });
    expect(created.isError).toBeFalsy();
    const t = task(created);
    expect(t).toMatchObject({
      id: 'T-101',
      project: 'payments',
      title: 'Retry failed card captures',
      status: 'open',
      priority: 'high',
      assignee: 'grace@example.com',
      external_ref: 'https://github.com/acme/payments/issues/42',
      created_by: 'ada@example.com',
    });
    expect(textOf(created)).toContain('T-101');

    const details = await call('get_task_details', { id: 'T-101' });
    const d = structured<{ task: TaskOut; activity: Array<{ actor: string; action: string }> }>(details);
    expect(d.task.title).toBe('Retry failed card captures');
    expect(d.activity).toEqual([expect.objectContaining({ actor: 'ada@example.com', action: 'task.created' })]);
  });

  it('defaults to the general project and medium priority', async () => {
    const t = task(await call('create_task', { title: 'Write the on-call guide' }));
    expect(t).toMatchObject({ project: 'general', priority: 'medium', assignee: null, status: 'open' });
  });

  it('refuses a second task for the same external reference in a project and names the existing task', async () => {
    const again = await call('create_task', { title: 'Duplicate', project: 'payments', external_ref: 'https://github.com/acme/payments/issues/42' });
    expect(again.isError).toBe(true);
    expect(textOf(again)).toMatch(/T-101.*already tracks/);
    expect(again._meta?.['io.manifold/failure']).toMatchObject({ code: 'conflict', field: 'external_ref' });
    // The same reference in another project is allowed.
    const elsewhere = await call('create_task', { title: 'Track in general too', external_ref: 'https://github.com/acme/payments/issues/42' });
    expect(elsewhere.isError).toBeFalsy();
  });

  it('updates fields, follows the status transitions, and reports what changed', async () => {
    const moved = await call('update_task', { id: 'T-101', status: 'in_progress', priority: 'urgent' });
    expect(structured<{ changed: string[] }>(moved).changed.sort()).toEqual(['priority', 'status']);
    expect(task(moved)).toMatchObject({ status: 'in_progress', priority: 'urgent' });

    const same = await call('update_task', { id: 't-101', status: 'in_progress' });
    expect(structured<{ changed: string[] }>(same).changed).toEqual([]);
    expect(textOf(same)).toMatch(/No change/);

    const done = await call('update_task', { id: 'T-101', status: 'done' });
    expect(task(done).status).toBe('done');
    const illegal = await call('update_task', { id: 'T-101', status: 'in_progress' });
    expect(illegal.isError).toBe(true);
    expect(textOf(illegal)).toContain('cannot move from "done" to "in_progress"');
    expect(textOf(illegal)).toContain('"open"');
    const reopened = await call('update_task', { id: 'T-101', status: 'open', assignee: null });
    expect(task(reopened)).toMatchObject({ status: 'open', assignee: null });

    const history = structured<{ activity: Array<{ action: string; details: Record<string, unknown> }> }>(
      await call('get_task_details', { id: 'T-101' }),
    ).activity;
    expect(history.map((a) => a.action)).toEqual(['task.updated', 'task.updated', 'task.updated', 'task.created']);
    expect(history[0]?.details).toMatchObject({ status: { from: 'done', to: 'open' }, assignee: { from: 'grace@example.com', to: null } });
  });

  it('assigns and unassigns', async () => {
    const assigned = await call('assign_task', { id: 'T-101', assignee: 'linus@example.com' });
    expect(task(assigned).assignee).toBe('linus@example.com');
    expect(textOf(assigned)).toContain('Assigned T-101 to linus@example.com');
    const unassigned = await call('assign_task', { id: 'T-101', assignee: null });
    expect(task(unassigned).assignee).toBeNull();
    const history = structured<{ activity: Array<{ action: string }> }>(await call('get_task_details', { id: 'T-101' })).activity;
    expect(history.slice(0, 2).map((a) => a.action)).toEqual(['task.assigned', 'task.assigned']);
  });

  it.each([
    ['an empty title', 'create_task', { title: '   ' }, /title: title must not be empty/],
    ['an over-long title', 'create_task', { title: 'x'.repeat(201) }, /title must be at most 200 characters/],
    ['a wrong type', 'create_task', { title: 42 }, /title/],
    ['an unknown status', 'update_task', { id: 'T-101', status: 'blocked' }, /status must be one of open, in_progress, done/],
    ['an unknown priority', 'create_task', { title: 'x', priority: 'asap' }, /priority must be one of low, medium, high, urgent/],
    ['a bad email', 'assign_task', { id: 'T-101', assignee: 'not-an-email' }, /assignee must be an email address/],
    ['a bad task id', 'get_task_details', { id: 'DROP TABLE tasks' }, /must be a task id such as "T-101"/],
    ['an unknown field', 'create_task', { title: 'x', asignee: 'a@b.co' }, /asignee/],
    ['an empty update', 'update_task', { id: 'T-101' }, /nothing to update.*Pass at least one of/],
    ['an unknown task', 'update_task', { id: 'T-9999', title: 'x' }, /Task T-9999 does not exist.*list_tasks/],
    ['an unknown project', 'create_task', { title: 'x', project: 'nope' }, /Project "nope" does not exist.*Known projects: general, payments/],
    ['a bad project key', 'create_task', { title: 'x', project: 'Bad Key!' }, /project must be a project key/],
    ['a limit over 100', 'list_tasks', { limit: 101 }, /limit must be at most 100/],
    ['a forged cursor', 'list_tasks', { cursor: 'bm90LWEtY3Vyc29y' }, /cursor is not one this server issued/],
    ['a duplicate project', 'create_project', { key: 'payments', name: 'Again' }, /"payments" already exists/],
    ['a control character in a title', 'create_task', { title: 'bad\u0007bell' }, /control characters/],
  ])('rejects %s with a clear error naming the field', async (_label, tool, args, message) => {
    const before = await harness.store.recentActivity(1);
    const result = await call(tool, args);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(message);
    expect(textOf(result)).not.toMatch(/\bat \S+\.(js|ts):\d+/); // no stack trace
    // Nothing was written.
    expect(await harness.store.recentActivity(1)).toEqual(before);
  });

  it('stores injection attempts literally', async () => {
    const nasty = "Robert'); DROP TABLE tasks;-- %_\\";
    const t = task(await call('create_task', { title: nasty, description: "' OR '1'='1" }));
    expect(t.title).toBe(nasty);
    const found = structured<{ tasks: TaskOut[] }>(await call('list_tasks', { text: 'drop table tasks;-- %_\\' })).tasks;
    expect(found.map((x) => x.id)).toEqual([t.id]);
    // A wildcard in the filter matches only the literal character.
    const percent = structured<{ tasks: TaskOut[] }>(await call('list_tasks', { text: '%' })).tasks;
    expect(percent.map((x) => x.id)).toEqual([t.id]);
  });

  it('filters by status, assignee, project, text and external reference', async () => {
    await call('create_project', { key: 'search', name: 'Search' });
    const ids: string[] = [];
    for (const [title, priority, assignee] of [
      ['Index documents incrementally', 'high', 'ada@example.com'],
      ['Tune ranking for headings', 'low', 'grace@example.com'],
      ['Fix the flaky indexer test', 'medium', undefined],
    ] as const) {
      ids.push(task(await call('create_task', { title, priority, project: 'search', ...(assignee ? { assignee } : {}) })).id);
    }
    await call('update_task', { id: ids[1], status: 'in_progress' });

    const titles = async (args: Record<string, unknown>) => structured<{ tasks: TaskOut[] }>(await call('list_tasks', args)).tasks.map((t) => t.title);
    expect(await titles({ project: 'search' })).toEqual(['Fix the flaky indexer test', 'Tune ranking for headings', 'Index documents incrementally']);
    expect(await titles({ project: 'search', status: 'in_progress' })).toEqual(['Tune ranking for headings']);
    expect(await titles({ project: 'search', status: ['open', 'done'] })).toEqual(['Fix the flaky indexer test', 'Index documents incrementally']);
    expect(await titles({ project: 'search', assignee: 'unassigned' })).toEqual(['Fix the flaky indexer test']);
    expect(await titles({ assignee: 'grace@example.com' })).toEqual(['Tune ranking for headings']);
    expect(await titles({ project: 'search', text: 'INDEX' })).toEqual(['Fix the flaky indexer test', 'Index documents incrementally']);
    expect(await titles({ external_ref: 'https://github.com/acme/payments/issues/42', project: 'payments' })).toEqual(['Retry failed card captures']);
  });

  it('paginates across pages with cursors, without gaps or repeats', async () => {
    await call('create_project', { key: 'pages', name: 'Pagination' });
    const created: string[] = [];
    for (let i = 0; i < 45; i += 1) created.push(task(await call('create_task', { title: `Page task ${i}`, project: 'pages' })).id);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { tasks: TaskOut[]; next_cursor: string | null } = structured(
        await call('list_tasks', { project: 'pages', limit: 20, ...(cursor ? { cursor } : {}) }),
      );
      seen.push(...page.tasks.map((t) => t.id));
      cursor = page.next_cursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...created].reverse());

    const first = structured<{ next_cursor: string }>(await call('list_tasks', { project: 'pages', limit: 5 }));
    const mismatched = await call('list_tasks', { project: 'payments', limit: 5, cursor: first.next_cursor });
    expect(mismatched.isError).toBe(true);
    expect(textOf(mismatched)).toContain('different filters');
  });

  it('deletes in two steps: describe and token, then delete with the token', async () => {
    const parent = task(await call('create_task', { title: 'Parent to delete' }));
    const child = task(await call('create_task', { title: 'Child to delete', parent: parent.id }));

    const first = await call('delete_task', { id: parent.id });
    const pending = structured<{ status: string; confirm_token: string; subtasks: TaskOut[] }>(first);
    expect(pending.status).toBe('confirmation_required');
    expect(pending.subtasks.map((s) => s.id)).toEqual([child.id]);
    expect(textOf(first)).toContain('Not deleted yet');
    // Still there after the first call.
    expect((await call('get_task_details', { id: parent.id })).isError).toBeFalsy();

    const wrong = await call('delete_task', { id: parent.id, confirm: 'not-the-token' });
    expect(wrong.isError).toBe(true);
    expect(textOf(wrong)).toContain('not valid');

    const second = await call('delete_task', { id: parent.id, confirm: pending.confirm_token });
    expect(structured<{ status: string; deleted_ids: string[] }>(second)).toMatchObject({ status: 'deleted', deleted_ids: [parent.id, child.id] });
    expect(textOf(await call('get_task_details', { id: child.id }))).toContain('does not exist');

    const reused = await call('delete_task', { id: parent.id, confirm: pending.confirm_token });
    expect(reused.isError).toBe(true);
    const log = await harness.store.recentActivity(5);
    expect(log[0]).toMatchObject({ action: 'task.deleted', actor: 'ada@example.com' });
    expect((log[0]?.details as { snapshot: { title: string } }).snapshot.title).toBe('Parent to delete');
  });

  it('refuses a confirmation token when the task changed after it was issued', async () => {
    const t = task(await call('create_task', { title: 'Changes before deletion' }));
    const { confirm_token } = structured<{ confirm_token: string }>(await call('delete_task', { id: t.id }));
    await new Promise((r) => setTimeout(r, 5));
    await call('update_task', { id: t.id, title: 'Changed meanwhile' });
    const result = await call('delete_task', { id: t.id, confirm: confirm_token });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('changed after deletion was requested');
    expect(task(await call('get_task_details', { id: t.id })).title).toBe('Changed meanwhile');
  });

  it('nests tasks one level only', async () => {
    const parent = task(await call('create_task', { title: 'Top level' }));
    const child = task(await call('create_task', { title: 'Second level', parent: parent.id }));
    const grandchild = await call('create_task', { title: 'Third level', parent: child.id });
    expect(grandchild.isError).toBe(true);
    expect(textOf(grandchild)).toContain(`Use ${parent.id} as the parent instead`);
  });

  it('lists projects with their unfinished task counts', async () => {
    const { projects } = structured<{ projects: Array<{ key: string; open_tasks: number }> }>(await call('list_projects'));
    expect(projects.map((p) => p.key)).toEqual(['general', 'pages', 'payments', 'search']);
    expect(projects.find((p) => p.key === 'search')?.open_tasks).toBe(3);
  });
});
