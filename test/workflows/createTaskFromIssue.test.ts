import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTaskId } from '../../servers/project-management/domain.js';
import { connect } from '../gateway/harness.js';
import { callFlow, FIXTURES, issueUrl, REPOSITORY, startWorkflowEnvironment, type WorkflowEnvironment } from './workflowHarness.js';

/** A composite's structuredContent, read freely: toMatchObject and toEqual check its shape against what the output schema promises. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- nested fields are asserted, not typed, here
type Structured = Record<string, any>;

describe('composite tools through the running gateway', () => {
  let env: WorkflowEnvironment;
  let client: Client;

  beforeAll(async () => {
    env = await startWorkflowEnvironment();
    client = await connect(env.gateway.url);
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await env?.stop();
  });

  const writesToGithub = () => env.github.requests.filter((r) => r.method !== 'GET');

  it('lists the composite tools with schemas, annotations and their steps', async () => {
    const { tools } = await client.listTools();
    const flow = tools
      .filter((t) => t.name.startsWith('flow__'))
      .map((t) => t.name)
      .sort();
    expect(flow).toEqual(['flow__create_task_from_issue', 'flow__sync_task_with_issue', 'flow__task_context', 'flow__triage_issues']);
    const create = tools.find((t) => t.name === 'flow__create_task_from_issue')!;
    expect(create.inputSchema.required).toEqual(['issue']);
    expect(create.outputSchema?.type).toBe('object');
    expect(create.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false, idempotentHint: true });
    expect((create._meta?.['io.manifold/composite'] as { steps: string[] }).steps).toContain('pm__create_task');
    const context = tools.find((t) => t.name === 'flow__task_context')!;
    expect(context.annotations?.readOnlyHint).toBe(true);
  });

  it('creates a task from an issue: owner, priority, docs section, links, comment and progress', async () => {
    const outcome = await callFlow(client, 'create_task_from_issue', { issue: issueUrl(1), comment: true });
    expect(outcome.result.isError, outcome.text).toBeFalsy();
    const s = outcome.structured as Structured;
    expect(s.status).toBe('created');
    expect(s.issue).toMatchObject({ repository: REPOSITORY, number: 1, url: issueUrl(1), labels: ['bug'] });
    expect(s.pull_requests).toEqual([expect.objectContaining({ number: 2, url: `https://github.com/${REPOSITORY}/pull/2` })]);
    expect(s.code_paths).toEqual([
      { path: 'src/server/config.ts', source: 'issue_text' },
      { path: 'src/server/listen.ts', source: 'pull_request' },
    ]);
    expect(s.owners).toEqual([{ owner: '@acme/backend', kind: 'team', people: ['bob@acme.example', 'alice@acme.example'] }]);
    expect(s.assignee).toEqual({ email: 'bob@acme.example', source: 'code_owner' });
    expect(s.priority).toBe('high');
    expect(s.docs_section).toMatchObject({ path: 'configuration.md', anchor: 'port-setting', heading: 'Port setting' });
    expect(s.docs_section.uri).toBe('docs+docs://configuration.md#port-setting');
    expect(s.links).toMatchObject({
      issue: issueUrl(1),
      docs_section: 'docs+docs://configuration.md#port-setting',
      pull_requests: [`https://github.com/${REPOSITORY}/pull/2`],
    });
    expect(s.comment.url).toMatch(/^https:\/\/github\.com\/acme\/tracker\/issues\/1#issuecomment-/);

    // The database holds exactly the task the result describes.
    const [task, ...others] = await env.tasksTracking(issueUrl(1));
    expect(others).toEqual([]);
    expect(task).toMatchObject({
      id: s.task.id,
      project: 'general',
      assignee: 'bob@acme.example',
      priority: 'high',
      externalRef: issueUrl(1),
      title: 'Gateway port setting is ignored',
      createdBy: 'local-dev',
    });
    expect(task!.description).toContain(issueUrl(1));
    expect(task!.description).toContain('Port setting — docs+docs://configuration.md#port-setting');
    expect(task!.description).toContain('https://github.com/acme/tracker/pull/2');

    // The fake GitHub got one comment naming the task.
    expect(env.github.comments(REPOSITORY, 1).map((c) => c.body)).toEqual([expect.stringContaining(`**${s.task.id}**`)]);

    // Progress for every step, in order, ending at the total.
    const messages = outcome.progress.map((p) => p.message);
    expect(messages[0]).toBe('Reading the issue');
    expect(messages).toContain('Creating the task');
    expect(messages.some((m) => m?.startsWith('Commenting'))).toBe(true);
    const last = outcome.progress[outcome.progress.length - 1]!;
    expect(last.progress).toBe(last.total);
    for (let i = 1; i < outcome.progress.length; i++) expect(outcome.progress[i]!.progress).toBeGreaterThanOrEqual(outcome.progress[i - 1]!.progress);
  });

  it('is idempotent: a second call returns the existing task and writes nothing', async () => {
    const before = writesToGithub().length;
    const outcome = await callFlow(client, 'create_task_from_issue', { issue: 1, comment: true });
    expect(outcome.result.isError).toBeFalsy();
    expect(outcome.structured.status).toBe('existing');
    expect(outcome.text).toMatch(/^Nothing created: task T-\d+ .* already tracks acme\/tracker#1/);
    expect(await env.tasksTracking(issueUrl(1))).toHaveLength(1);
    expect(writesToGithub().length).toBe(before);
  });

  it('creates an unassigned task when no owner is found, and says when no docs section matches', async () => {
    const outcome = await callFlow(client, 'create_task_from_issue', { issue: `${REPOSITORY}#3` });
    expect(outcome.result.isError, outcome.text).toBeFalsy();
    const s = outcome.structured as Structured;
    expect(s).toMatchObject({
      status: 'created',
      owners: [],
      code_paths: [],
      pull_requests: [],
      docs_section: null,
      assignee: { email: null, source: 'none' },
      priority: 'medium',
      comment: null,
    });
    expect(outcome.text).toContain('unassigned: no owner found');
    expect(outcome.text).toContain('Docs: no matching section.');
    const [task] = await env.tasksTracking(issueUrl(3));
    expect(task).toMatchObject({ assignee: null, priority: 'medium' });
    expect(task!.description).toContain('Documentation: no matching section found.');
  });

  it('honours an assignee override and a project', async () => {
    const { store, close } = await env.store();
    await store.createProject({ key: 'platform', name: 'Platform' }, 'test');
    await close();
    const outcome = await callFlow(client, 'create_task_from_issue', { issue: 4, project: 'platform', assignee: 'alice@acme.example' });
    expect(outcome.structured).toMatchObject({
      status: 'created',
      assignee: { email: 'alice@acme.example', source: 'override' },
      task: { project: 'platform' },
    });
  });

  describe('a failure at each step leaves nothing behind and names the step', () => {
    const cases: Array<{ step: string; issue: number; inject: (env: WorkflowEnvironment) => void; args?: Record<string, unknown> }> = [
      {
        step: 'read_issue',
        issue: 10,
        inject: (e) => e.github.inject({ method: 'GET', path: '/repos/acme/tracker/issues/10', status: 502, body: { message: 'Server Error' } }),
      },
      {
        step: 'find_code',
        issue: 11,
        inject: (e) => e.github.inject({ method: 'GET', path: '/repos/acme/tracker/pulls/2', status: 502, body: { message: 'Server Error' } }),
      },
      {
        step: 'resolve_owners',
        issue: 12,
        inject: (e) =>
          e.github.inject({
            method: 'GET',
            path: /^\/repos\/acme\/tracker\/contents\/\.github(%2F|\/)CODEOWNERS$/i,
            status: 502,
            body: { message: 'Server Error' },
          }),
      },
      { step: 'create_task', issue: 13, inject: () => undefined, args: { project: 'no-such-project' } },
    ];
    for (const c of cases) {
      it(`fails at ${c.step}`, async () => {
        c.inject(env);
        const before = writesToGithub().length;
        const outcome = await callFlow(client, 'create_task_from_issue', { issue: c.issue, comment: true, ...c.args });
        expect(outcome.result.isError).toBe(true);
        expect(outcome.failure?.step).toBe(c.step);
        expect(outcome.text).toContain(`Step "${c.step}" failed:`);
        expect(await env.tasksTracking(issueUrl(c.issue))).toEqual([]);
        expect(writesToGithub().length).toBe(before);
        expect(env.github.comments(REPOSITORY, c.issue)).toEqual([]);
      });
    }

    it('undoes the created task when the comment fails', async () => {
      env.github.inject({
        method: 'POST',
        path: '/repos/acme/tracker/issues/14/comments',
        status: 403,
        body: { message: 'Resource not accessible by integration' },
      });
      const outcome = await callFlow(client, 'create_task_from_issue', { issue: 14, comment: true });
      expect(outcome.result.isError).toBe(true);
      expect(outcome.failure).toMatchObject({ step: 'comment_on_issue' });
      expect(outcome.failure?.aftermath).toMatch(/^Undone: task T-\d+ was deleted again/);
      expect(outcome.text).toContain('Step "comment_on_issue" failed:');
      expect(await env.tasksTracking(issueUrl(14))).toEqual([]);
      expect(env.github.comments(REPOSITORY, 14)).toEqual([]);
      // The deletion is in the activity log: the task existed and was removed, not silently dropped.
      const { store, close } = await env.store();
      const activity = await store.recentActivity(20);
      await close();
      expect(activity.some((entry) => entry.action.includes('delete'))).toBe(true);
    });
  });

  it("brings a task's context together (task, issue, pull request, owners, docs)", async () => {
    const [task] = await env.tasksTracking(issueUrl(1));
    const outcome = await callFlow(client, 'task_context', { task: task!.id });
    expect(outcome.result.isError, outcome.text).toBeFalsy();
    const s = outcome.structured as Structured;
    expect(s.task.id).toBe(task!.id);
    expect(s.issue).toMatchObject({ number: 1, url: issueUrl(1) });
    expect(s.pull_requests.map((pr: { number: number }) => pr.number)).toEqual([2]);
    expect(s.owners[0].owner).toBe('@acme/backend');
    expect(s.docs_section.anchor).toBe('port-setting');
  });

  it('triages labelled issues: a dry run creates nothing, then the real run creates the tasks', async () => {
    const dry = await callFlow(client, 'triage_issues', { label: 'triage' });
    expect(dry.result.isError, dry.text).toBeFalsy();
    expect(dry.structured).toMatchObject({ dry_run: true, issues_found: 2 });
    const items = dry.structured.items as Array<{ action: string; issue: { number: number }; would_create: { title: string } | null }>;
    expect(items.map((i) => [i.issue.number, i.action])).toEqual([
      [20, 'create'],
      [21, 'create'],
    ]);
    expect(await env.tasksTracking(issueUrl(20))).toEqual([]);
    const real = await callFlow(client, 'triage_issues', { label: 'triage', dry_run: false });
    expect(real.result.isError, real.text).toBeFalsy();
    expect((real.structured.items as Array<{ action: string }>).map((i) => i.action)).toEqual(['created', 'created']);
    expect(await env.tasksTracking(issueUrl(20))).toHaveLength(1);
    const again = await callFlow(client, 'triage_issues', { label: 'triage', dry_run: false });
    expect((again.structured.items as Array<{ action: string }>).map((i) => i.action)).toEqual(['already_tracked', 'already_tracked']);
  });

  it('keeps a task in step with its closed issue, only after confirmation', async () => {
    const { store, close } = await env.store();
    const created = await store.createTask({ project: 'general', title: 'Old crash', externalRef: issueUrl(4) } as never, 'test');
    await close();
    const first = await callFlow(client, 'sync_task_with_issue', { task: created.id });
    expect(first.structured).toMatchObject({ status: 'confirmation_required', action: 'close_task' });
    expect((await env.tasksTracking(issueUrl(4))).find((t) => t.id === created.id)?.status).toBe('open');
    const second = await callFlow(client, 'sync_task_with_issue', { task: created.id, confirm: first.structured.confirm_token });
    expect(second.structured).toMatchObject({ status: 'applied', action: 'close_task', task: { status: 'done' } });
    expect((await env.tasksTracking(issueUrl(4))).find((t) => t.id === created.id)?.status).toBe('done');
    const third = await callFlow(client, 'sync_task_with_issue', { task: created.id });
    expect(third.structured.status).toBe('in_sync');
  });

  /** A task for the issue, already done (after the issue's last update). */
  const doneTaskTracking = async (number: number) => {
    const { store, close } = await env.store();
    try {
      const created = await store.createTask({ project: 'general', title: `Work on issue ${number}`, externalRef: issueUrl(number) }, 'test');
      return (await store.updateTask(parseTaskId(created.id), { status: 'done' }, 'test')).task;
    } finally {
      await close();
    }
  };
  const issueWrites = (number: number) => writesToGithub().filter((r) => r.path.startsWith(`/repos/acme/tracker/issues/${number}`));

  it('closes the open issue of a done task as completed, with a comment naming the task, only after confirmation', async () => {
    const task = await doneTaskTracking(30);
    const first = await callFlow(client, 'sync_task_with_issue', { task: task.id });
    expect(first.structured).toMatchObject({ status: 'confirmation_required', action: 'close_issue', issue: { number: 30, state: 'open' } });
    expect(first.text).toContain(`Would close ${issueUrl(30)} as completed, with a comment that ${task.id} is done`);
    expect(issueWrites(30)).toEqual([]);
    expect(env.github.issue(REPOSITORY, 30)?.state).toBe('open');

    const second = await callFlow(client, 'sync_task_with_issue', { task: task.id, confirm: first.structured.confirm_token });
    expect(second.result.isError, second.text).toBeFalsy();
    expect(second.structured).toMatchObject({
      status: 'applied',
      action: 'close_issue',
      task: { id: task.id, status: 'done' },
      issue: { number: 30, state: 'closed' },
    });
    expect(second.structured.comment_url).toMatch(/^https:\/\/github\.com\/acme\/tracker\/issues\/30#issuecomment-/);
    expect(env.github.issue(REPOSITORY, 30)).toMatchObject({ state: 'closed', state_reason: 'completed' });
    expect(env.github.comments(REPOSITORY, 30).map((c) => c.body)).toEqual([expect.stringContaining(`**${task.id}**`)]);
    // The comment comes first, then the close.
    expect(issueWrites(30).map((r) => `${r.method} ${r.path}`)).toEqual(['POST /repos/acme/tracker/issues/30/comments', 'PATCH /repos/acme/tracker/issues/30']);
    expect(issueWrites(30)[1]?.body).toEqual({ state: 'closed', state_reason: 'completed' });

    const third = await callFlow(client, 'sync_task_with_issue', { task: task.id });
    expect(third.structured).toMatchObject({ status: 'in_sync', action: 'none' });
  });

  it('says the comment was posted and the issue is still open when GitHub refuses the close', async () => {
    const task = await doneTaskTracking(31);
    const first = await callFlow(client, 'sync_task_with_issue', { task: task.id });
    env.github.inject({ method: 'PATCH', path: '/repos/acme/tracker/issues/31', status: 403, body: { message: 'Resource not accessible by integration' } });
    const second = await callFlow(client, 'sync_task_with_issue', { task: task.id, confirm: first.structured.confirm_token });
    expect(second.result.isError).toBe(true);
    expect(second.failure).toMatchObject({ code: 'forbidden', step: 'close_issue' });
    expect(second.text).toContain('Step "close_issue" failed:');
    expect(second.text).toContain('Resource not accessible by integration');
    expect(second.failure?.aftermath).toMatch(
      new RegExp(
        `^The comment naming ${task.id} was posted \\(https://github\\.com/acme/tracker/issues/31#issuecomment-\\d+\\), but acme/tracker#31 is still open\\. Close it on GitHub`,
      ),
    );
    expect(env.github.issue(REPOSITORY, 31)?.state).toBe('open');
    expect(env.github.comments(REPOSITORY, 31)).toHaveLength(1);
  });
});

describe('a docs root problem', () => {
  let env: WorkflowEnvironment;
  beforeAll(async () => {
    env = await startWorkflowEnvironment({ docsRoot: join(FIXTURES, 'no-such-docs-root') });
  }, 60_000);
  afterAll(async () => {
    await env?.stop();
  });

  it('fails at find_docs before anything is written', async () => {
    const client = await connect(env.gateway.url);
    const outcome = await callFlow(client, 'create_task_from_issue', { issue: 1, comment: true });
    expect(outcome.result.isError).toBe(true);
    expect(outcome.failure?.step).toBe('find_docs');
    expect(outcome.text).toMatch(/Upstream "docs" is unavailable/);
    expect(await env.tasksTracking(issueUrl(1))).toEqual([]);
    expect(env.github.requests.filter((r) => r.method !== 'GET')).toEqual([]);
    await client.close();
  });
});

describe('an undo that fails itself', () => {
  let env: WorkflowEnvironment;
  beforeAll(async () => {
    // delete_task is refused to everyone here, so the undo after a failed comment cannot happen.
    env = await startWorkflowEnvironment({ rateLimits: { namespaces: { pm: { tools: { delete_task: 0 } } } } });
  }, 60_000);
  afterAll(async () => {
    await env?.stop();
  });

  it('says which task is left and how to finish, and a second call picks that task up', async () => {
    const client = await connect(env.gateway.url);
    env.github.inject({
      method: 'POST',
      path: '/repos/acme/tracker/issues/14/comments',
      status: 403,
      body: { message: 'Resource not accessible by integration' },
    });
    const outcome = await callFlow(client, 'create_task_from_issue', { issue: 14, comment: true });
    expect(outcome.result.isError).toBe(true);
    expect(outcome.failure).toMatchObject({ step: 'comment_on_issue' });
    expect(outcome.failure?.aftermath).toMatch(
      /^Task (T-\d+) was created but could not be deleted again \(.*delete_task.*\); delete it with delete_task, or call this tool again to finish\.$/,
    );
    const left = await env.tasksTracking(issueUrl(14));
    expect(left).toHaveLength(1);
    expect(outcome.failure?.aftermath).toContain(left[0]!.id);
    const again = await callFlow(client, 'create_task_from_issue', { issue: 14 });
    expect(again.structured).toMatchObject({ status: 'existing', task: { id: left[0]!.id } });
    await client.close();
  });
});
