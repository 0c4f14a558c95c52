import type { CallToolResult } from '@modelcontextprotocol/server';
import type { EraClient } from '../support/eraClients.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/waitFor.js';
import { matrix, resourceText, startHarness, structured, type Harness, type TaskOut } from './harness.js';

function readJson<T>(result: Parameters<typeof resourceText>[0]): T {
  return JSON.parse(resourceText(result)) as T;
}

describe.each(matrix(['memory', 'http']))('project-management resources and prompts on $label', ({ backend, transport, client: kind }) => {
  let harness: Harness;
  let client: EraClient;
  const call = async (name: string, args: Record<string, unknown> = {}) => (await client.callTool({ name, arguments: args })) as CallToolResult;

  beforeAll(async () => {
    harness = await startHarness(backend, { transport, client: kind });
    client = await harness.connect();
    await call('create_project', { key: 'mobile', name: 'Mobile app' });
    await call('create_task', { title: 'Crash on launch', project: 'mobile', priority: 'urgent', assignee: 'grace@example.com' });
    await call('create_task', { title: 'Dark mode', project: 'mobile', priority: 'low' });
    const t = structured<{ task: TaskOut }>(await call('create_task', { title: 'Release notes', project: 'mobile', assignee: 'grace@example.com' })).task;
    await call('update_task', { id: t.id, status: 'done' });
  });
  afterAll(async () => harness?.close());

  it('lists the fixed resources and one status resource per project', async () => {
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri)).toEqual([
      'project://status',
      'project://team-workload',
      'project://recent-activity',
      'project://general/status',
      'project://mobile/status',
    ]);
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).toEqual(['project://{project}/status']);
  });

  it('summarises status per project', async () => {
    const { projects } = readJson<{
      projects: Array<{ project: string; total: number; byStatus: Record<string, number>; openByPriority: Record<string, number>; unassignedOpen: number }>;
    }>(await client.readResource({ uri: 'project://status' }));
    expect(projects.find((p) => p.project === 'mobile')).toEqual({
      project: 'mobile',
      name: 'Mobile app',
      total: 3,
      byStatus: { open: 2, in_progress: 0, done: 1 },
      openByPriority: { low: 1, medium: 0, high: 0, urgent: 1 },
      unassignedOpen: 1,
    });
  });

  it('shows team workload of unfinished tasks', async () => {
    const { workload } = readJson<{ workload: Array<{ assignee: string | null; open: number; urgentOrHigh: number; taskIds: string[] }> }>(
      await client.readResource({ uri: 'project://team-workload' }),
    );
    expect(workload).toEqual([
      { assignee: 'grace@example.com', open: 1, inProgress: 0, urgentOrHigh: 1, taskIds: ['T-101'] },
      { assignee: null, open: 1, inProgress: 0, urgentOrHigh: 0, taskIds: ['T-102'] },
    ]);
  });

  it('shows the last changes, newest first', async () => {
    const { activity } = readJson<{ activity: Array<{ action: string; summary: string; actor: string }> }>(
      await client.readResource({ uri: 'project://recent-activity' }),
    );
    expect(activity[0]).toMatchObject({ action: 'task.updated', actor: 'ada@example.com' });
    expect(activity.map((a) => a.action)).toEqual(['task.updated', 'task.created', 'task.created', 'task.created', 'project.created']);
  });

  it('reads one project through the template, and rejects an unknown one clearly', async () => {
    const one = readJson<{ status: { total: number }; unfinished: Array<{ title: string }> }>(await client.readResource({ uri: 'project://mobile/status' }));
    expect(one.status.total).toBe(3);
    expect(one.unfinished.map((t) => t.title)).toEqual(['Dark mode', 'Crash on launch']);
    await expect(client.readResource({ uri: 'project://nope/status' })).rejects.toThrow(/Project "nope" does not exist/);
  });

  it('reading resources writes nothing', async () => {
    const before = await harness.store.recentActivity(50);
    for (const uri of ['project://status', 'project://team-workload', 'project://recent-activity', 'project://mobile/status'])
      await client.readResource({ uri });
    expect(await harness.store.recentActivity(50)).toEqual(before);
  });

  it('completes project names for the template and prompts', async () => {
    const template = await client.complete({ ref: { type: 'ref/resource', uri: 'project://{project}/status' }, argument: { name: 'project', value: 'mo' } });
    expect(template.completion.values).toEqual(['mobile']);
    const prompt = await client.complete({ ref: { type: 'ref/prompt', name: 'sprint_planning' }, argument: { name: 'project', value: '' } });
    expect(prompt.completion.values).toEqual(['general', 'mobile']);
  });

  it('notifies subscribed resources on change, only to subscribers, and announces new projects', async () => {
    const updates: string[] = [];
    let listChanged = 0;
    const subscriber = await harness.connect();
    const bystander = await harness.connect();
    const bystanderUpdates: string[] = [];
    await bystander.watchListChanges('resources', () => undefined);
    const stopWatchingStatus = await subscriber.watchResources(['project://mobile/status'], (uri) => updates.push(uri));
    const stopWatchingWorkload = await subscriber.watchResources(['project://team-workload'], (uri) => updates.push(uri));
    await subscriber.watchListChanges('resources', () => {
      listChanged += 1;
    });
    await bystander.watchResources([], (uri) => bystanderUpdates.push(uri));

    await call('create_task', { title: 'Offline mode', project: 'mobile' });
    await waitFor('resource updates after create_task', () => updates.length >= 2);
    expect(updates.sort()).toEqual(['project://mobile/status', 'project://team-workload']);

    updates.length = 0;
    await call('create_task', { title: 'Unrelated', project: 'general' });
    await waitFor('workload update after a change elsewhere', () => updates.length >= 1);
    expect(updates).toEqual(['project://team-workload']);

    await stopWatchingWorkload();
    updates.length = 0;
    await call('create_project', { key: 'web', name: 'Web' });
    await waitFor('list_changed after create_project', () => listChanged >= 1);
    expect(updates).toEqual([]);
    expect(bystanderUpdates).toEqual([]);
    await stopWatchingStatus();

    if (subscriber.era === 'legacy') {
      await expect(subscriber.watchResources(['file:///etc/passwd'], () => undefined)).rejects.toThrow(/not a resource of this server/);
    }
  });

  it('offers prompts with arguments that embed current data', async () => {
    const { prompts } = await client.listPrompts();
    expect(prompts.map((p) => p.name).sort()).toEqual(['sprint_planning', 'status_report', 'task_breakdown']);
    expect(prompts.find((p) => p.name === 'sprint_planning')?.arguments).toEqual([
      expect.objectContaining({ name: 'project', required: true }),
      expect.objectContaining({ name: 'sprint_days', required: false }),
    ]);

    const sprint = await client.getPrompt({ name: 'sprint_planning', arguments: { project: 'mobile', sprint_days: '5' } });
    const text = sprint.messages[0]?.content.type === 'text' ? sprint.messages[0].content.text : '';
    expect(text).toContain('5-day sprint for project "mobile"');
    expect(text).toContain('Crash on launch');
    expect(text).not.toContain('Release notes'); // done tasks are not planned
    expect(sprint.messages[1]?.content).toMatchObject({ type: 'resource', resource: { uri: 'project://team-workload' } });

    const report = await client.getPrompt({ name: 'status_report', arguments: { audience: 'leadership' } });
    expect(report.messages[0]?.content).toMatchObject({ type: 'text' });
    expect(JSON.stringify(report.messages[1])).toContain('Mobile app');

    const breakdown = await client.getPrompt({ name: 'task_breakdown', arguments: { objective: 'Ship offline sync', project: 'mobile' } });
    expect(JSON.stringify(breakdown.messages)).toContain('Ship offline sync');

    await expect(client.getPrompt({ name: 'sprint_planning', arguments: { project: 'nope' } })).rejects.toThrow(/Project "nope" does not exist/);
  });
});
