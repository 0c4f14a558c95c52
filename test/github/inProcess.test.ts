import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_KINDS, connectClient, type EraClient } from '../support/eraClients.js';
import { FakeGithubApi } from './fakeGithubApi.js';
import { callTool, failure, inProcessTarget, structured, textOf } from './harness.js';

/** The factory in this process, for fast table-driven checks of inputs, with a client of each era. */
describe.each(CLIENT_KINDS)('GitHub server in process, client %s', (kind) => {
  let api: FakeGithubApi;
  let client: EraClient;

  beforeAll(async () => {
    api = new FakeGithubApi();
    client = await connectClient(kind, inProcessTarget(await api.start()));
  });

  afterAll(async () => {
    await client?.close();
    await api?.stop();
  });

  describe('input validation', () => {
    const rejected: Array<[string, Record<string, unknown>, RegExp]> = [
      ['list_issues', { per_page: 101 }, /per_page/],
      ['list_issues', { state: 'merged' }, /state/],
      ['list_issues', { since: 'last week' }, /since/],
      ['get_issue', { issue_number: 'issue three' }, /not an issue reference/],
      ['get_issue', { owner: 'acme', repo: 'gadgets', issue_number: 'https://github.com/acme/widgets/issues/3' }, /points at acme\/widgets/],
      ['get_issue', { owner: 'bad owner!', issue_number: 1 }, /owner/],
      ['search_issues', { query: 'x', per_page: 100, page: 11 }, /first 1000 results/],
      ['get_code_owners', { paths: [] }, /paths/],
      ['get_file_contents', { path: 'README.md', ref: 'bad ref' }, /ref/],
      ['comment_on_issue', { issue_number: 2, body: '   ' }, /blank/],
      ['update_issue', { issue_number: 2 }, /Nothing to change on issue #2: .* Pass at least one of them/],
      [
        'update_issue',
        { issue_number: 2, state: 'open', state_reason: 'completed' },
        /"completed" contradicts state "open": with state "open" the reason is "reopened"/,
      ],
      [
        'update_issue',
        { issue_number: 2, state: 'closed', state_reason: 'reopened' },
        /"reopened" contradicts state "closed": .* "completed" or "not_planned"/,
      ],
      ['update_issue', { issue_number: 2, state_reason: 'not_planned' }, /no state was given\. Pass state "closed"/],
      ['update_issue', { issue_number: 2, state: 'merged' }, /state/],
    ];
    for (const [tool, args, pattern] of rejected) {
      it(`${tool} refuses ${JSON.stringify(args)}`, async () => {
        const before = api.requests.length;
        const result = await callTool(client, tool, args);
        expect(result.isError).toBe(true);
        expect(textOf(result)).toMatch(pattern);
        // Nothing reached GitHub for a call that could not be right.
        expect(api.requests.slice(before)).toHaveLength(0);
      });
    }

    it('gives the stable failure code to programs in _meta', async () => {
      expect(failure(await callTool(client, 'get_issue', { issue_number: 'issue three' })).code).toBe('invalid_input');
    });
  });

  describe('accepted forms', () => {
    const accepted: Array<[string, Record<string, unknown>, (data: Record<string, unknown>) => void]> = [
      ['get_issue', { repo: 'acme/widgets', issue_number: '#4' }, (d) => expect(d).toMatchObject({ issue: { number: 4 } })],
      [
        'get_issue',
        { repo: 'widgets', issue_number: 'https://api.github.com/repos/acme/widgets/issues/4' },
        (d) => expect(d).toMatchObject({ issue: { number: 4 } }),
      ],
      ['list_issues', { since: '2024-05-01', state: 'all' }, (d) => expect((d.issues as Array<{ number: number }>).map((i) => i.number)).toEqual([8, 6, 3, 2])],
      ['list_issues', { assignee: 'none' }, (d) => expect((d.issues as Array<{ number: number }>).map((i) => i.number)).toEqual([6, 4, 2])],
      ['get_file_contents', { path: './docs//setup.md' }, (d) => expect(d).toMatchObject({ path: 'docs/setup.md', kind: 'file' })],
    ];
    for (const [tool, args, check] of accepted) {
      it(`${tool} accepts ${JSON.stringify(args)}`, async () => {
        check(structured(await callTool(client, tool, args)));
      });
    }

    it('sends since as a full ISO timestamp', () => {
      expect(api.requestsTo('GET', '/repos/acme/widgets/issues').some((r) => r.query.since === '2024-05-01T00:00:00Z')).toBe(true);
    });
  });

  describe('prompts', () => {
    it('triage_issue embeds the issue and its comments', async () => {
      const { prompts } = await client.listPrompts();
      expect(prompts.map((p) => p.name).sort()).toEqual(['review_pull_request', 'triage_issue']);
      const prompt = await client.getPrompt({ name: 'triage_issue', arguments: { issue: '3' } });
      expect(prompt.description).toBe('Triage acme/widgets#3');
      expect(prompt.messages[1]?.content).toMatchObject({ type: 'resource', resource: { uri: 'github://acme/widgets/issues/3' } });
      expect(JSON.stringify(prompt.messages[1])).toContain('Crash when a widget has no name');
    });

    it('review_pull_request names the tools and the pull request', async () => {
      const prompt = await client.getPrompt({ name: 'review_pull_request', arguments: { pull_request: 'https://github.com/acme/widgets/pull/5' } });
      expect(JSON.stringify(prompt.messages)).toContain('number 5');
    });

    it('a prompt for an unknown issue fails with the GitHub error', async () => {
      await expect(client.getPrompt({ name: 'triage_issue', arguments: { issue: '999' } })).rejects.toThrow(/#999/);
    });
  });

  describe('a GitHub that does not answer in time', () => {
    it('fails the call after the request timeout, naming the API URL, and the next call works', async () => {
      const slowApi = new FakeGithubApi();
      const apiUrl = await slowApi.start();
      const slowClient = await connectClient(kind, inProcessTarget(apiUrl, { requestTimeoutMs: 300 }));
      try {
        slowApi.inject({ method: 'GET', path: '/repos/acme/widgets/issues/3', status: 200, body: {}, delayMs: 2_000 });
        const slow = await callTool(slowClient, 'get_issue', { issue_number: 3 });
        expect(slow.isError).toBe(true);
        expect(textOf(slow)).toContain(`GitHub at ${apiUrl} did not answer within 0.3 s (GITHUB_REQUEST_TIMEOUT_MS)`);
        expect(failure(slow).code).toBe('unavailable');
        const fine = await callTool(slowClient, 'get_issue', { issue_number: 3 });
        expect(fine.isError).toBeFalsy();
      } finally {
        await slowClient.close();
        await slowApi.stop();
      }
    });
  });
});
