import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestIssuer } from '../support/testIssuer.js';
import { rawSession } from '../gateway/harness.js';
import { issueUrl, startWorkflowEnvironment, type WorkflowEnvironment } from './workflowHarness.js';

describe("composite tools need the union of their steps' scopes", () => {
  let issuer: TestIssuer;
  let env: WorkflowEnvironment;

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
    env = await startWorkflowEnvironment({ auth: { mode: 'oauth', issuer: issuer.issuer } });
  }, 60_000);
  afterAll(async () => {
    await env?.stop();
    await issuer?.stop();
  });

  const toolNames = async (call: Awaited<ReturnType<typeof rawSession>>['call']) =>
    ((await call('tools/list', {})).body.result.tools as Array<{ name: string }>).map((t) => t.name).filter((n) => n.startsWith('flow__'));

  it("hides a composite from a token lacking one step's scope and refuses the call with 403 before anything is written", async () => {
    const token = await issuer.accessToken(env.gateway.url, { scope: 'github:read docs:read pm:read' });
    const { call } = await rawSession(env.gateway.url, token);
    expect((await toolNames(call)).sort()).toEqual(['flow__sync_task_with_issue', 'flow__task_context', 'flow__triage_issues']);
    env.github.clearRequests();
    const refused = await call('tools/call', { name: 'flow__create_task_from_issue', arguments: { issue: 1 } });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('www-authenticate')).toMatch(/error="insufficient_scope", scope="[^"]*pm:write/);
    expect(JSON.stringify(refused.body)).toContain('calling flow__create_task_from_issue needs scope pm:write');
    // Nothing was read or written anywhere.
    expect(env.github.requests).toEqual([]);
    expect(await env.tasksTracking(issueUrl(1))).toEqual([]);
  });

  it("asks for the comment step's scopes (and the undo's) only when the call comments", async () => {
    const token = await issuer.accessToken(env.gateway.url, { scope: 'github:read docs:read pm:write' });
    const { call } = await rawSession(env.gateway.url, token);
    expect(await toolNames(call)).toContain('flow__create_task_from_issue');
    env.github.clearRequests();
    const refused = await call('tools/call', { name: 'flow__create_task_from_issue', arguments: { issue: 1, comment: true } });
    expect(refused.status).toBe(403);
    expect(JSON.stringify(refused.body)).toContain('needs scope github:write pm:admin');
    expect(env.github.requests).toEqual([]);
    expect(await env.tasksTracking(issueUrl(1))).toEqual([]);

    const dryRun = await call('tools/call', { name: 'flow__triage_issues', arguments: { label: 'triage' } });
    expect(dryRun.status).toBe(200);
    const refusedTriage = await call('tools/call', { name: 'flow__triage_issues', arguments: { label: 'triage', dry_run: false } });
    expect(refusedTriage.status).toBe(200); // pm:write is granted: allowed
    const { call: readOnly } = await rawSession(env.gateway.url, await issuer.accessToken(env.gateway.url, { scope: 'github:read docs:read pm:read' }));
    const refusedWrite = await readOnly('tools/call', { name: 'flow__triage_issues', arguments: { label: 'bug', dry_run: false } });
    expect(refusedWrite.status).toBe(403);
    expect(JSON.stringify(refusedWrite.body)).toContain('needs scope pm:write');
  });

  it('asks for the write scopes of syncing a task with its issue (close or reopen the task, comment on and close the issue) only when confirming', async () => {
    const { call } = await rawSession(env.gateway.url, await issuer.accessToken(env.gateway.url, { scope: 'github:read docs:read pm:write' }));
    env.github.clearRequests();
    const refused = await call('tools/call', { name: 'flow__sync_task_with_issue', arguments: { task: 'T-1', confirm: 'not-a-real-token' } });
    expect(refused.status).toBe(403);
    expect(JSON.stringify(refused.body)).toContain('calling flow__sync_task_with_issue needs scope github:write;');
    expect(env.github.requests).toEqual([]);
    const look = await call('tools/call', { name: 'flow__sync_task_with_issue', arguments: { task: 'T-1' } });
    expect(look.status).toBe(200);
  });

  it('offers prompts that lead to the composites a token may call, with their arguments', async () => {
    const { call: reader } = await rawSession(env.gateway.url, await issuer.accessToken(env.gateway.url, { scope: 'github:read docs:read pm:read' }));
    const names = (await reader('prompts/list', {})).body.result.prompts.map((p: { name: string }) => p.name).filter((n: string) => n.startsWith('flow__'));
    expect(names.sort()).toEqual(['flow__brief_task', 'flow__triage_label']);
    const refused = await reader('prompts/get', { name: 'flow__file_issue_as_task', arguments: { issue: '1' } });
    expect(JSON.stringify(refused.body)).toContain('leads to flow__create_task_from_issue, which this token may not call');

    const { call: writer } = await rawSession(env.gateway.url, await issuer.accessToken(env.gateway.url, { scope: 'github:read docs:read pm:write' }));
    const prompt = (await writer('prompts/get', { name: 'flow__file_issue_as_task', arguments: { issue: issueUrl(1) } })).body.result;
    expect(prompt.messages[0].content.text).toContain(`Call flow__create_task_from_issue with issue "${issueUrl(1)}"`);
    const missing = await writer('prompts/get', { name: 'flow__triage_label', arguments: {} });
    expect(JSON.stringify(missing.body)).toContain('needs \\"label\\"');
  });
});
