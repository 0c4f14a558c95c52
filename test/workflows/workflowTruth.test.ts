import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { LoggingMessageNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../gateway/harness.js';
import { callFlow, issueUrl, REPOSITORY, startWorkflowEnvironment, type WorkflowEnvironment } from './workflowHarness.js';

/** The text of the resource a gateway URI names, read through the gateway. */
async function readText(client: Client, uri: string): Promise<string> {
  const { contents } = await client.readResource({ uri });
  return contents.map((c) => ('text' in c && typeof c.text === 'string' ? c.text : '')).join('\n');
}

describe('what the composite tools say is true', () => {
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

  it('links documentation sections that resources/read returns, in the result and the task', async () => {
    const created = await callFlow(client, 'create_task_from_issue', { issue: 1 });
    expect(created.result.isError, created.text).toBeFalsy();
    const docs = created.structured.docs_section as { uri: string; score: number; heading: string };
    expect(docs.uri).toBe('docs+docs://configuration.md#port-setting');
    expect(docs.score).toBeGreaterThanOrEqual(0.15);
    const links = created.structured.links as { docs_section: string };
    for (const uri of [docs.uri, links.docs_section]) expect(await readText(client, uri)).toContain('The listener port comes from');
    const [task] = await env.tasksTracking(issueUrl(1));
    const linked = /Documentation: .* — (\S+)/.exec(task!.description)?.[1];
    expect(linked).toBe(docs.uri);
    expect(await readText(client, linked!)).toContain('Port setting');

    const context = await callFlow(client, 'task_context', { task: task!.id });
    const contextLink = (context.structured.links as { docs_section: string }).docs_section;
    expect(await readText(client, contextLink)).toContain('The listener port comes from');

    const triage = await callFlow(client, 'triage_issues', { label: 'triage' });
    const planned = (triage.structured.items as Array<{ would_create: { docs_section: string | null } | null }>)
      .map((i) => i.would_create?.docs_section)
      .filter((uri): uri is string => !!uri);
    expect(planned.length).toBeGreaterThan(0);
    for (const uri of planned) expect((await readText(client, uri)).length).toBeGreaterThan(0);
  });

  it('links no section when the best one scores under the floor ("Login button misaligned" is not about OAuth)', async () => {
    const outcome = await callFlow(client, 'create_task_from_issue', { issue: 41 });
    expect(outcome.result.isError, outcome.text).toBeFalsy();
    expect(outcome.structured.docs_section).toBeNull();
    expect((outcome.structured.links as { docs_section: unknown }).docs_section).toBeNull();
    // The docs server does rank the OAuth section first for these words, just far below the floor.
    const search = (await client.callTool({ name: 'docs__search_docs', arguments: { query: 'Login button misaligned', limit: 1 } })) as CallToolResult;
    const [hit] = (search.structuredContent as { results: Array<{ uri: string; score: number }> }).results;
    expect(hit?.uri).toBe('docs://troubleshooting.md#oauth-sign-in-fails');
    expect(hit!.score).toBeLessThan(0.15);
    const [task] = await env.tasksTracking(issueUrl(41));
    expect(task!.description).toContain('Documentation: no matching section found.');
  });

  it('triage and create pick the same owner for the same issue (the path named in its body)', async () => {
    const triage = await callFlow(client, 'triage_issues', { label: 'owners' });
    expect(triage.result.isError, triage.text).toBeFalsy();
    const [item] = triage.structured.items as Array<{ issue: { number: number }; would_create: { assignee: string | null } }>;
    expect(item?.issue.number).toBe(40);
    const created = await callFlow(client, 'create_task_from_issue', { issue: 40 });
    expect(created.result.isError, created.text).toBeFalsy();
    // Issue 40 is assigned to dora on GitHub, but its body names src/server/config.ts, which @acme/backend (lead bob) owns.
    expect(created.structured.assignee).toEqual({ email: 'bob@acme.example', source: 'code_owner' });
    expect(item!.would_create.assignee).toBe('bob@acme.example');
  });

  it('sync reads the issue as GitHub has it now, not as the gateway cached it', async () => {
    const { store, close } = await env.store();
    const task = await store.createTask({ project: 'general', title: 'Restart keeps the port', externalRef: issueUrl(42) }, 'test');
    await close();
    // get_issue answers are cached by the gateway (30 s by default): a direct read twice is a hit.
    const args = { issue_number: '42', comments_per_page: 1 };
    await client.callTool({ name: 'github__get_issue', arguments: args });
    const again = (await client.callTool({ name: 'github__get_issue', arguments: args })) as CallToolResult;
    expect(again._meta?.['io.manifold/cache']).toMatchObject({ hit: true });

    const first = await callFlow(client, 'sync_task_with_issue', { task: task.id });
    expect(first.structured).toMatchObject({ status: 'in_sync', action: 'none' });
    const issue = env.github.issue(REPOSITORY, 42)!;
    Object.assign(issue, { state: 'closed', state_reason: 'completed', closed_at: new Date().toISOString(), updated_at: new Date().toISOString() });
    const second = await callFlow(client, 'sync_task_with_issue', { task: task.id });
    expect(second.structured).toMatchObject({ status: 'confirmation_required', action: 'close_task', issue: { state: 'closed' } });
  });
});

describe('log messages of the domain servers through the gateway', () => {
  let env: WorkflowEnvironment;

  beforeAll(async () => {
    env = await startWorkflowEnvironment();
  }, 60_000);

  afterAll(async () => {
    await env?.stop();
  });

  it('a session hears of tool calls at and above the level it set, none below', async () => {
    const client = await connect(env.gateway.url);
    const seen: Array<{ level: string; logger: string | undefined; tool: string; outcome: string }> = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      const data = n.params.data as { tool?: string; outcome?: string };
      if (data?.tool) seen.push({ level: n.params.level, logger: n.params.logger, tool: data.tool, outcome: String(data.outcome) });
    });
    try {
      await client.setLoggingLevel('warning');
      await client.callTool({ name: 'github__get_issue', arguments: { issue_number: '1' } });
      await client.callTool({ name: 'github__get_issue', arguments: { issue_number: '999' } });
      await waitFor(() => seen.some((m) => m.outcome === 'not_found'));
      // The success before the failure was below the level: only the failure came.
      expect(seen).toEqual([{ level: 'warning', logger: expect.stringContaining('github'), tool: 'get_issue', outcome: 'not_found' }]);

      seen.length = 0;
      await client.setLoggingLevel('debug');
      await client.callTool({ name: 'github__get_issue', arguments: { issue_number: '2' } });
      await waitFor(() => seen.length > 0);
      expect(seen).toEqual([{ level: 'debug', logger: expect.stringContaining('github'), tool: 'get_issue', outcome: 'ok' }]);
    } finally {
      await client.close();
    }
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a log message');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('a workflow whose tools are missing', () => {
  let env: WorkflowEnvironment;
  let client: Client;

  beforeAll(async () => {
    env = await startWorkflowEnvironment({
      upstreamExtra: { github: { tools: { deny: ['list_issues'] }, callTimeoutMs: 10_000 } },
      githubEnv: { GITHUB_REQUEST_TIMEOUT_MS: '1500' },
    });
    client = await connect(env.gateway.url);
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await env?.stop();
  });

  it('is not listed, a call says which tool is missing, the log names it, and the others work', async () => {
    const { tools } = await client.listTools();
    const flow = tools
      .filter((t) => t.name.startsWith('flow__'))
      .map((t) => t.name)
      .sort();
    expect(flow).toEqual(['flow__create_task_from_issue', 'flow__sync_task_with_issue', 'flow__task_context']);
    const outcome = await callFlow(client, 'triage_issues', { label: 'triage' });
    expect(outcome.result.isError).toBe(true);
    expect(outcome.failure?.code).toBe('unavailable');
    expect(outcome.text).toContain('flow__triage_issues is unavailable: it needs github__list_issues');
    expect(env.gateway.logs.some((line) => line.msg?.startsWith('composite tool flow__triage_issues is unavailable: it needs github__list_issues'))).toBe(true);
    expect(env.github.requests.filter((r) => r.path.endsWith('/issues') && r.method === 'GET')).toEqual([]);
  });

  it("a hung GitHub: the GitHub server's own message arrives, well before the gateway's call timeout", async () => {
    env.github.inject({ method: 'GET', path: '/repos/acme/tracker/issues/3', status: 200, body: {}, delayMs: 20_000, times: 3 });
    const direct = (await client.callTool({ name: 'github__get_issue', arguments: { issue_number: '3' } })) as CallToolResult;
    expect(direct.isError).toBe(true);
    const text = direct.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
    expect(text).toContain('did not answer within 1.5 s (GITHUB_REQUEST_TIMEOUT_MS) while trying to read issue #3');
    const flow = await callFlow(client, 'create_task_from_issue', { issue: 3 });
    expect(flow.failure?.step).toBe('read_issue');
    expect(flow.text).toContain('did not answer within 1.5 s (GITHUB_REQUEST_TIMEOUT_MS)');
    expect(flow.text).not.toContain('MCP error');
  });
});
