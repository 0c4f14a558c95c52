import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_KINDS } from '../support/eraClients.js';
import { waitFor } from '../support/waitFor.js';
import { FakeGithubApi, FIXTURE_TOKENS } from './fakeGithubApi.js';
import { callTool, failure, resourceText, startStdioServer, structured, textOf, type RunningGithubServer } from './harness.js';

interface Issue {
  number: number;
  title: string;
  state: string;
  labels: string[];
  assignees: string[];
  is_pull_request: boolean;
  author: string | null;
  body: string;
  milestone: string | null;
}
interface Page {
  page: number;
  has_more: boolean;
  next_page: number | null;
}

/**
 * The built server process, over stdio, against the fake GitHub API: authenticated with a
 * token that may write, default repository acme/widgets, trusting gateway caller metadata.
 */
describe.each(CLIENT_KINDS)('GitHub server process over stdio, client %s', (kind) => {
  let api: FakeGithubApi;
  let server: RunningGithubServer;

  beforeAll(async () => {
    api = new FakeGithubApi();
    const url = await api.start();
    server = await startStdioServer(
      {
        GITHUB_API_URL: url,
        GITHUB_TOKEN: FIXTURE_TOKENS.write,
        GITHUB_REPOSITORY: 'acme/widgets',
        MANIFOLD_TRUST_CALLER_META: '1',
        MANIFOLD_USER: 'local-operator',
      },
      kind,
    );
  });

  afterAll(async () => {
    await server?.close();
    await api?.stop();
  });

  describe('startup and catalogue', () => {
    it('logs that it runs authenticated, without ever logging the token', async () => {
      // stderr and stdout are separate pipes: the log line may arrive after the first answer.
      const startup = await waitFor('the startup log line', () =>
        server.logs().find((line) => line.msg === 'GitHub server running authenticated with GITHUB_TOKEN'),
      );
      expect(startup).toMatchObject({ auth: 'token', defaultRepository: 'acme/widgets' });
      expect(server.stderr()).not.toContain(FIXTURE_TOKENS.write);
    });

    it('lists every tool with a description, schemas and honest annotations', async () => {
      const { tools } = await server.client.listTools();
      const byName = new Map(tools.map((t) => [t.name, t]));
      expect([...byName.keys()].sort()).toEqual(
        [
          'comment_on_issue',
          'create_issue',
          'get_code_owners',
          'get_file_contents',
          'get_issue',
          'get_pull_request',
          'list_issues',
          'search_issues',
          'update_issue',
        ].sort(),
      );
      for (const tool of tools) {
        expect(tool.title, tool.name).toBeTruthy();
        expect(tool.description?.length ?? 0, tool.name).toBeGreaterThan(150);
        expect(tool.outputSchema, tool.name).toBeDefined();
        expect(tool.annotations?.openWorldHint, tool.name).toBe(true);
        for (const [property, schema] of Object.entries(tool.inputSchema.properties ?? {})) {
          expect((schema as { description?: string }).description, `${tool.name}.${property}`).toBeTruthy();
        }
      }
      for (const name of ['get_issue', 'list_issues', 'search_issues', 'get_pull_request', 'get_file_contents', 'get_code_owners']) {
        expect(byName.get(name)?.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false });
      }
      for (const name of ['create_issue', 'comment_on_issue']) {
        expect(byName.get(name)?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false, idempotentHint: false });
      }
      // Setting an issue's state or fields again changes nothing more.
      expect(byName.get('update_issue')?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: false, idempotentHint: true });
    });
  });

  describe('issues', () => {
    it('gets an issue with its comments, from a pasted URL', async () => {
      const result = await callTool(server.client, 'get_issue', { issue_number: 'https://github.com/acme/widgets/issues/3' });
      const data = structured<{ repository: string; issue: Issue; comments: Array<{ author: string; body: string }>; comments_page: Page }>(result);
      expect(data.repository).toBe('acme/widgets');
      expect(data.issue).toMatchObject({
        number: 3,
        title: 'Crash when a widget has no name',
        state: 'open',
        labels: ['bug', 'good first issue'],
        assignees: ['alice'],
        milestone: 'v1.1',
        author: 'bob',
      });
      expect(data.comments.map((c) => c.author)).toEqual(['alice', 'bob', 'carol', 'alice']);
      expect(data.comments_page.has_more).toBe(false);
      expect(textOf(result)).toContain('# Crash when a widget has no name (acme/widgets#3)');
      expect(textOf(result)).toContain('I can reproduce this on main.');
    });

    it('pages through comments and says when more exist', async () => {
      const first = structured<{ comments: Array<{ id: number }>; comments_page: Page }>(
        await callTool(server.client, 'get_issue', { issue_number: '#3', comments_per_page: 2 }),
      );
      expect(first.comments.map((c) => c.id)).toEqual([9001, 9002]);
      expect(first.comments_page).toMatchObject({ page: 1, has_more: true, next_page: 2 });
      const second = await callTool(server.client, 'get_issue', { issue_number: 3, comments_per_page: 2, comments_page: 2 });
      expect(structured<{ comments: Array<{ id: number }>; comments_page: Page }>(second)).toMatchObject({
        comments: [{ id: 9003 }, { id: 9004 }],
        comments_page: { page: 2, has_more: false, next_page: null },
      });
      expect(textOf(second)).toContain('Showing comments 3-4 of 4.');
    });

    it('names the missing issue and how to find valid ones (404)', async () => {
      const error = failure(await callTool(server.client, 'get_issue', { issue_number: 999 }));
      expect(error.code).toBe('not_found');
      expect(error.message).toContain('Issue #999 was not found in acme/widgets.');
      expect(error.message).toContain('list_issues or search_issues');
    });

    it('says when the repository itself does not exist (404)', async () => {
      const error = failure(await callTool(server.client, 'get_issue', { owner: 'acme', repo: 'no-such-repo', issue_number: 1 }));
      expect(error.code).toBe('not_found');
      expect(error.message).toContain('Repository acme/no-such-repo was not found.');
      expect(error.message).toContain('private repositories');
    });

    it('lists open issues without pull requests, filtered and paginated', async () => {
      const result = await callTool(server.client, 'list_issues', { labels: ['bug'] });
      const data = structured<{ issues: Issue[]; page: Page; pull_requests_omitted: number }>(result);
      expect(data.issues.map((i) => i.number)).toEqual([6, 3]);
      expect(data.page.has_more).toBe(false);
      expect(api.requestsTo('GET', '/repos/acme/widgets/issues').at(-1)?.query).toMatchObject({ state: 'open', labels: 'bug', per_page: '30', page: '1' });

      const page1 = structured<{ issues: Issue[]; page: Page; pull_requests_omitted: number }>(
        await callTool(server.client, 'list_issues', { state: 'all', per_page: 3, sort: 'created', direction: 'asc', include_pull_requests: true }),
      );
      expect(page1.issues.map((i) => i.number)).toEqual([1, 2, 3]);
      expect(page1.page).toMatchObject({ page: 1, has_more: true, next_page: 2 });
      const page3 = await callTool(server.client, 'list_issues', {
        state: 'all',
        per_page: 3,
        page: 3,
        sort: 'created',
        direction: 'asc',
        include_pull_requests: true,
      });
      const last = structured<{ issues: Issue[]; page: Page }>(page3);
      expect(last.page).toMatchObject({ page: 3, has_more: false, next_page: null });
      expect(last.issues.length).toBeGreaterThan(0);
      expect(textOf(page3)).toContain('no further pages');
    });

    it('leaves pull requests out of issue lists unless asked, and says so', async () => {
      const data = structured<{ issues: Issue[]; pull_requests_omitted: number }>(
        await callTool(server.client, 'list_issues', { creator: 'alice', state: 'all' }),
      );
      expect(data.issues.map((i) => i.number)).toEqual([4, 1]);
      expect(data.pull_requests_omitted).toBe(1);
    });

    it('searches within the default repository and for issues only by default', async () => {
      const result = await callTool(server.client, 'search_issues', { query: 'crash is:open' });
      const data = structured<{ query: string; total_count: number; items: Array<Issue & { repository: string }> }>(result);
      expect(data.query).toBe('crash is:open repo:acme/widgets is:issue');
      expect(api.requestsTo('GET', '/search/issues').at(-1)?.query.q).toBe('crash is:open repo:acme/widgets is:issue');
      expect(data.items.every((i) => i.repository === 'acme/widgets' && !i.is_pull_request && i.state === 'open')).toBe(true);
      expect(data.items.map((i) => i.number).sort()).toEqual([3]);
    });

    it('keeps an explicit repo: qualifier and can search pull requests', async () => {
      const data = structured<{ query: string; items: Issue[] }>(
        await callTool(server.client, 'search_issues', { query: 'repo:acme/widgets layout', type: 'pull_request' }),
      );
      expect(data.query).toBe('repo:acme/widgets layout is:pr');
      expect(data.items.map((i) => i.number)).toEqual([7]);
    });

    it("passes GitHub's validation message through for a bad search (422)", async () => {
      const error = failure(await callTool(server.client, 'search_issues', { query: 'repo:acme/nowhere crash' }));
      expect(error.code).toBe('invalid_input');
      expect(error.message).toContain('cannot be searched either because the resources do not exist');
    });

    it('creates an issue with exactly what the caller asked, and logs the gateway caller', async () => {
      const meta = { 'io.manifold/caller': { user: 'ada', email: 'ada@example.com', scopes: ['github:write'], session: 'gw-session-1' } };
      const result = await callTool(
        server.client,
        'create_issue',
        { title: 'Widgets ignore the reduced-motion setting', body: 'They keep spinning.', labels: ['bug'], assignees: ['bob'] },
        meta,
      );
      const data = structured<{ repository: string; issue: Issue & { html_url: string } }>(result);
      expect(data.issue).toMatchObject({
        number: 9,
        title: 'Widgets ignore the reduced-motion setting',
        state: 'open',
        labels: ['bug'],
        assignees: ['bob'],
        author: 'manifold-bot',
      });
      expect(textOf(result)).toContain('Created issue acme/widgets#9');
      const posts = api.requestsTo('POST', '/repos/acme/widgets/issues');
      expect(posts).toHaveLength(1);
      expect(posts[0]?.body).toEqual({ title: 'Widgets ignore the reduced-motion setting', body: 'They keep spinning.', labels: ['bug'], assignees: ['bob'] });
      expect(posts[0]?.headers['user-agent']).toMatch(/^manifold-github-server/);
      await waitFor('create_issue logged with the gateway caller', () =>
        server.logs().some((line) => line.tool === 'create_issue' && line.caller === 'ada' && line.gatewaySession === 'gw-session-1'),
      );

      const reread = structured<{ issue: Issue }>(await callTool(server.client, 'get_issue', { issue_number: 9 }));
      expect(reread.issue.body).toBe('They keep spinning.');
    });

    it('comments on an issue given as owner/repo#N', async () => {
      const result = await callTool(server.client, 'comment_on_issue', { issue_number: 'acme/widgets#2', body: 'A dark theme is planned for v1.1.' });
      const data = structured<{ issue_number: number; comment: { id: number; body: string; author: string; html_url: string } }>(result);
      expect(data).toMatchObject({ issue_number: 2, comment: { body: 'A dark theme is planned for v1.1.', author: 'manifold-bot' } });
      expect(data.comment.html_url).toContain('/acme/widgets/issues/2#issuecomment-');
      expect(api.requestsTo('POST', '/repos/acme/widgets/issues/2/comments').map((r) => r.body)).toEqual([{ body: 'A dark theme is planned for v1.1.' }]);
      expect(api.comments('acme/widgets', 2).at(-1)?.body).toBe('A dark theme is planned for v1.1.');
      // No caller metadata: the local user is the acting user.
      await waitFor('comment_on_issue logged with the local user', () =>
        server.logs().some((line) => line.tool === 'comment_on_issue' && line.caller === 'local-operator'),
      );
    });

    it('refuses a blank title before calling GitHub', async () => {
      const before = api.requestsTo('POST', '/repos/acme/widgets/issues').length;
      const result = await callTool(server.client, 'create_issue', { title: '   ' });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(/title/);
      expect(api.requestsTo('POST', '/repos/acme/widgets/issues')).toHaveLength(before);
    });

    it("explains GitHub's validation errors on a write (422)", async () => {
      api.inject({
        method: 'POST',
        path: '/repos/acme/widgets/issues',
        status: 422,
        body: {
          message: 'Validation Failed',
          errors: [{ value: 'ghost', resource: 'Issue', field: 'assignees', code: 'invalid' }],
          documentation_url: 'https://docs.github.com/rest/issues/issues#create-an-issue',
          status: '422',
        },
      });
      const error = failure(await callTool(server.client, 'create_issue', { title: 'Assign a stranger', assignees: ['ghost'] }));
      expect(error.code).toBe('invalid_input');
      expect(error.message).toContain('Validation Failed (assignees invalid)');
    });

    it('closes an issue as completed, and the same call again changes nothing; logs the gateway caller', async () => {
      const meta = { 'io.manifold/caller': { user: 'ada', email: 'ada@example.com', scopes: ['github:write'], session: 'gw-session-2' } };
      const result = await callTool(server.client, 'update_issue', { issue_number: 6, state: 'closed', state_reason: 'completed' }, meta);
      const data = structured<{ repository: string; issue: Issue & { state_reason: string | null; closed_at: string | null } }>(result);
      expect(data).toMatchObject({
        repository: 'acme/widgets',
        issue: { number: 6, state: 'closed', state_reason: 'completed', title: 'Widgets flicker on resize' },
      });
      expect(data.issue.closed_at).toMatch(/^\d{4}-\d{2}-\d{2}T/);
      expect(textOf(result)).toContain('Updated acme/widgets#6: state closed (completed). It is now closed (completed)');
      expect(api.requestsTo('PATCH', '/repos/acme/widgets/issues/6').map((r) => r.body)).toEqual([{ state: 'closed', state_reason: 'completed' }]);
      expect(api.issue('acme/widgets', 6)).toMatchObject({ state: 'closed', state_reason: 'completed' });
      await waitFor('update_issue logged with the gateway caller', () =>
        server.logs().some((line) => line.tool === 'update_issue' && line.caller === 'ada' && line.gatewaySession === 'gw-session-2'),
      );

      const again = structured<{ issue: { state: string; closed_at: string | null } }>(
        await callTool(server.client, 'update_issue', { issue_number: 6, state: 'closed' }),
      );
      expect(again.issue).toMatchObject({ state: 'closed', closed_at: data.issue.closed_at });
    });

    it('reopens a closed issue', async () => {
      const result = await callTool(server.client, 'update_issue', {
        issue_number: 'https://github.com/acme/widgets/issues/6',
        state: 'open',
        state_reason: 'reopened',
      });
      const data = structured<{ issue: Issue & { state_reason: string | null; closed_at: string | null } }>(result);
      expect(data.issue).toMatchObject({ number: 6, state: 'open', state_reason: 'reopened', closed_at: null });
      expect(api.issue('acme/widgets', 6)?.state).toBe('open');
    });

    it('edits the title and replaces the labels, leaving the state and the rest as they were', async () => {
      const result = await callTool(server.client, 'update_issue', {
        issue_number: '#4',
        title: 'Document the widget protocol handshake (v2)',
        labels: ['docs', 'enhancement'],
      });
      const data = structured<{ issue: Issue }>(result);
      expect(data.issue).toMatchObject({
        number: 4,
        state: 'open',
        title: 'Document the widget protocol handshake (v2)',
        labels: ['docs', 'enhancement'],
        assignees: [],
      });
      expect(api.requestsTo('PATCH', '/repos/acme/widgets/issues/4').map((r) => r.body)).toEqual([
        { title: 'Document the widget protocol handshake (v2)', labels: ['docs', 'enhancement'] },
      ]);
      expect(textOf(result)).toContain('title, labels [docs, enhancement]');
    });

    it('names the missing issue when asked to update it (404)', async () => {
      const error = failure(await callTool(server.client, 'update_issue', { issue_number: 4242, state: 'closed' }));
      expect(error.code).toBe('not_found');
      expect(error.message).toContain('Issue #4242 was not found in acme/widgets');
      expect(error.message).toContain('List valid issue numbers with list_issues or search_issues.');
    });
  });

  describe('pull requests', () => {
    it('gets a pull request with the files it changes', async () => {
      const result = await callTool(server.client, 'get_pull_request', { pull_number: 'https://github.com/acme/widgets/pull/7' });
      const data = structured<{
        pull_request: {
          number: number;
          head: { ref: string };
          base: { ref: string };
          requested_reviewers: string[];
          requested_teams: string[];
          changed_files: number;
          additions: number;
        };
        files: Array<{ filename: string; status: string; patch: string | null; previous_filename: string | null }>;
        files_page: Page;
      }>(result);
      expect(data.pull_request).toMatchObject({
        number: 7,
        head: { ref: 'layout-engine' },
        base: { ref: 'main' },
        requested_reviewers: ['bob'],
        requested_teams: ['acme/frontend'],
        changed_files: 5,
        additions: 126,
      });
      expect(data.files.map((f) => `${f.status} ${f.filename}`)).toEqual([
        'added src/render/layout.ts',
        'modified src/render/index.ts',
        'removed src/render/legacy.ts',
        'renamed docs/rendering.md',
        'modified assets/logo.png',
      ]);
      expect(data.files[3]?.previous_filename).toBe('docs/render.md');
      expect(data.files[0]?.patch).toContain('export function layout');
      expect(data.files[4]?.patch).toBeNull();
      expect(textOf(result)).toContain('acme/widgets:layout-engine → main');
    });

    it('pages through changed files', async () => {
      const data = structured<{ files: Array<{ filename: string }>; files_page: Page }>(
        await callTool(server.client, 'get_pull_request', { pull_number: 7, files_per_page: 2, files_page: 2, include_patches: false }),
      );
      expect(data.files.map((f) => f.filename)).toEqual(['src/render/legacy.ts', 'docs/rendering.md']);
      expect(data.files_page).toMatchObject({ page: 2, has_more: true, next_page: 3 });
      expect(api.requestsTo('GET', '/repos/acme/widgets/pulls/7/files').at(-1)?.query).toMatchObject({ per_page: '2', page: '2' });
    });

    it('says an issue number is not a pull request (404)', async () => {
      const error = failure(await callTool(server.client, 'get_pull_request', { pull_number: 3 }));
      expect(error.code).toBe('not_found');
      expect(error.message).toContain('Pull request #3 was not found in acme/widgets.');
    });
  });

  describe('file contents', () => {
    it('returns decoded UTF-8 text at the default branch', async () => {
      const data = structured<{ kind: string; content: string; size: number; ref: string | null }>(
        await callTool(server.client, 'get_file_contents', { path: 'docs/setup.md' }),
      );
      expect(data.kind).toBe('file');
      expect(data.ref).toBeNull();
      expect(data.content).toContain('Ümlauts and emoji 🎉 survive base64.');
      expect(data.size).toBe(Buffer.byteLength(data.content));
    });

    it('reads at a ref and lists directories', async () => {
      const file = structured<{ content: string }>(await callTool(server.client, 'get_file_contents', { path: 'README.md', ref: 'release-1.0' }));
      expect(file.content).toBe('# Widgets 1.0\n');
      expect(api.requestsTo('GET', '/repos/acme/widgets/contents/README.md').at(-1)?.query).toEqual({ ref: 'release-1.0' });
      const root = structured<{ kind: string; entries: Array<{ name: string; type: string }> }>(
        await callTool(server.client, 'get_file_contents', { path: '/' }),
      );
      expect(root.kind).toBe('directory');
      expect(root.entries.map((e) => `${e.type}:${e.name}`)).toEqual(
        expect.arrayContaining(['dir:.github', 'file:CODEOWNERS', 'file:README.md', 'dir:docs', 'dir:src', 'symlink:current', 'dir:vendor']),
      );
    });

    it('describes symlinks and submodules', async () => {
      expect(structured(await callTool(server.client, 'get_file_contents', { path: 'current' }))).toMatchObject({ kind: 'symlink', target: 'docs/setup.md' });
      expect(structured(await callTool(server.client, 'get_file_contents', { path: 'vendor/protocol' }))).toMatchObject({
        kind: 'submodule',
        target: 'https://github.com/acme/protocol.git',
      });
    });

    it('refuses binary files with a download URL', async () => {
      const error = failure(await callTool(server.client, 'get_file_contents', { path: 'assets/logo.png' }));
      expect(error.code).toBe('unsupported');
      expect(error.message).toContain('assets/logo.png is a binary file');
      expect(error.message).toContain('https://raw.githubusercontent.com/acme/widgets/main/assets/logo.png');
    });

    it('refuses files over max_bytes and serves them when allowed', async () => {
      const error = failure(await callTool(server.client, 'get_file_contents', { path: 'data/huge.csv' }));
      expect(error.code).toBe('invalid_input');
      expect(error.message).toContain('data/huge.csv is 300,000 bytes, more than max_bytes (200,000)');
      const data = structured<{ size: number }>(await callTool(server.client, 'get_file_contents', { path: 'data/huge.csv', max_bytes: 400_000 }));
      expect(data.size).toBe(300_000);
    });

    it('refuses files the contents API does not return (over 1 MB)', async () => {
      const error = failure(await callTool(server.client, 'get_file_contents', { path: 'data/too-big-for-api.bin' }));
      expect(error.message).toContain('larger than the 1 MB the GitHub contents API returns');
    });

    it('names a missing path, and a missing ref', async () => {
      const missing = failure(await callTool(server.client, 'get_file_contents', { path: 'src/nope.ts' }));
      expect(missing.code).toBe('not_found');
      expect(missing.message).toContain('Path src/nope.ts was not found in acme/widgets.');
      expect(missing.message).toContain('(path "src")');
      const badRef = failure(await callTool(server.client, 'get_file_contents', { path: 'README.md', ref: 'no-such-branch' }));
      expect(badRef.code).toBe('not_found');
      expect(badRef.message).toContain('No commit found for the ref no-such-branch in acme/widgets.');
    });
  });

  describe('code owners', () => {
    interface Owners {
      codeowners_file: string | null;
      results: Array<{ path: string; owners: string[]; rule: { pattern: string; line: number } | null }>;
      skipped_lines: Array<{ line: number; reason: string }>;
    }
    const owners = async (paths: string[], ref?: string): Promise<Owners> =>
      structured<Owners>(await callTool(server.client, 'get_code_owners', { paths, ...(ref ? { ref } : {}) }));

    it('uses .github/CODEOWNERS before the root file, and the last matching rule', async () => {
      const data = await owners([
        'README.md',
        'src/index.ts',
        'lib/util.js',
        'src/render/index.ts',
        'src/render/deep/x.ts',
        'src/render/legacy.ts',
        'tools/build/out.txt',
        'docs/intro.md',
        'docs/guides/deep.md',
        'var/app/logs/today.txt',
        'package.json',
        'packages/a/package.json',
      ]);
      expect(data.codeowners_file).toBe('.github/CODEOWNERS');
      const byPath = Object.fromEntries(data.results.map((r) => [r.path, r.owners]));
      expect(byPath).toEqual({
        'README.md': ['@acme/maintainers'],
        'src/index.ts': ['@acme/typescript'],
        'lib/util.js': ['@acme/javascript'],
        'src/render/index.ts': ['@alice', '@acme/frontend'],
        'src/render/deep/x.ts': ['@alice', '@acme/frontend'],
        'src/render/legacy.ts': [],
        'tools/build/out.txt': ['@acme/release'],
        'docs/intro.md': ['docs@acme.example'],
        'docs/guides/deep.md': ['@acme/maintainers'],
        'var/app/logs/today.txt': ['@carol'],
        'package.json': ['@bob'],
        'packages/a/package.json': ['@acme/maintainers'],
      });
      expect(data.results.find((r) => r.path === 'src/render/legacy.ts')?.rule).toEqual({ pattern: '/src/render/legacy.ts', line: 27 });
      expect(data.skipped_lines.map((s) => s.line)).toEqual([30, 31, 32, 33]);
    });

    it('ignores unsupported negation: the skipped "!" rule does not remove owners', async () => {
      const data = await owners(['src/render/index.ts']);
      expect(data.results[0]?.owners).toEqual(['@alice', '@acme/frontend']);
    });

    it('falls back to the root CODEOWNERS, then docs/CODEOWNERS, at the given ref', async () => {
      const release = await owners(['README.md', 'src/a.ts'], 'release-1.0');
      expect(release.codeowners_file).toBe('CODEOWNERS');
      expect(release.results.map((r) => r.owners)).toEqual([['@octocat'], ['@acme/release-managers']]);
      const docsOnly = await owners(['guide.md', 'src/a.ts'], 'docs-only');
      expect(docsOnly.codeowners_file).toBe('docs/CODEOWNERS');
      expect(docsOnly.results.map((r) => r.owners)).toEqual([['@acme/docs-writers'], []]);
      const paths = api
        .requestsTo('GET', /^\/repos\/acme\/widgets\/contents\//)
        .filter((r) => r.query.ref === 'docs-only')
        .map((r) => decodeURIComponent(r.path));
      expect(paths).toEqual([
        '/repos/acme/widgets/contents/.github/CODEOWNERS',
        '/repos/acme/widgets/contents/CODEOWNERS',
        '/repos/acme/widgets/contents/docs/CODEOWNERS',
      ]);
    });

    it('answers "no owners" when the repository has no CODEOWNERS', async () => {
      const result = await callTool(server.client, 'get_code_owners', { paths: ['README.md'], ref: 'no-owners' });
      expect(structured<Owners>(result)).toMatchObject({ codeowners_file: null, results: [{ path: 'README.md', owners: [], rule: null }] });
      expect(textOf(result)).toContain('has no CODEOWNERS file');
    });

    it('reports a missing repository rather than a missing CODEOWNERS', async () => {
      const error = failure(await callTool(server.client, 'get_code_owners', { repo: 'acme/no-such-repo', paths: ['a'] }));
      expect(error.message).toContain('Repository acme/no-such-repo was not found.');
    });
  });

  describe('rate limits and transient failures', () => {
    it('retries once after a secondary rate limit, then succeeds', async () => {
      api.inject({
        method: 'GET',
        path: '/repos/acme/widgets/issues/2',
        status: 403,
        headers: { 'retry-after': '1' },
        body: {
          message:
            'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0000:1111.',
          documentation_url: 'https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
        },
      });
      const before = api.requestsTo('GET', '/repos/acme/widgets/issues/2').length;
      const data = structured<{ issue: Issue }>(await callTool(server.client, 'get_issue', { issue_number: 2 }));
      expect(data.issue.title).toBe('Add a dark theme to the widget gallery');
      expect(api.requestsTo('GET', '/repos/acme/widgets/issues/2')).toHaveLength(before + 2);
      await waitFor('the secondary rate limit retry logged', () =>
        server.logs().some((line) => line.msg === 'GitHub secondary rate limit: retrying once after the advised delay' && line.retryAfterSeconds === 1),
      );
    });

    it('does not wait when the advised delay is beyond the bound, and says when to retry', async () => {
      api.inject({
        method: 'GET',
        path: '/repos/acme/widgets/issues/4',
        status: 429,
        headers: { 'retry-after': '120' },
        body: { message: 'You have exceeded a secondary rate limit.', documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api' },
      });
      const before = api.requestsTo('GET', '/repos/acme/widgets/issues/4').length;
      const error = failure(await callTool(server.client, 'get_issue', { issue_number: 4 }));
      expect(error.code).toBe('rate_limited');
      expect(error.message).toContain('secondary rate limit');
      expect(error.message).toContain('Retry after 120 seconds');
      expect(api.requestsTo('GET', '/repos/acme/widgets/issues/4')).toHaveLength(before + 1);
    });

    it('fails at once on the primary rate limit and says when it resets', async () => {
      const reset = Math.floor(Date.now() / 1000) + 1800;
      api.inject({
        method: 'GET',
        path: '/repos/acme/widgets/issues',
        status: 403,
        headers: {
          'x-ratelimit-limit': '5000',
          'x-ratelimit-remaining': '0',
          'x-ratelimit-used': '5000',
          'x-ratelimit-reset': String(reset),
          'x-ratelimit-resource': 'core',
        },
        body: { message: 'API rate limit exceeded for user ID 2001.', documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api' },
      });
      const before = api.requestsTo('GET', '/repos/acme/widgets/issues').length;
      const error = failure(await callTool(server.client, 'list_issues', {}));
      expect(error.code).toBe('rate_limited');
      expect(error.message).toContain(`it resets at ${new Date(reset * 1000).toISOString()}`);
      expect(error.message).toContain('5000 requests per hour');
      expect(api.requestsTo('GET', '/repos/acme/widgets/issues')).toHaveLength(before + 1);
    });

    it('retries a 502 from GitHub and succeeds', async () => {
      api.inject({ method: 'GET', path: '/repos/acme/widgets/issues/1', status: 502, body: { message: 'Server Error' } });
      const before = api.requestsTo('GET', '/repos/acme/widgets/issues/1').length;
      const data = structured<{ issue: Issue }>(await callTool(server.client, 'get_issue', { issue_number: 1 }));
      expect(data.issue.state).toBe('closed');
      expect(api.requestsTo('GET', '/repos/acme/widgets/issues/1')).toHaveLength(before + 2);
    });
  });

  describe('resources and completion', () => {
    it('reads an issue as Markdown and JSON', async () => {
      const result = await server.client.readResource({ uri: 'github://acme/widgets/issues/3' });
      expect(resourceText(result, 'text/markdown')).toContain('# Crash when a widget has no name (acme/widgets#3)');
      const json = JSON.parse(resourceText(result, 'application/json')) as { issue: Issue; comments: unknown[] };
      expect(json.issue.number).toBe(3);
      expect(json.comments).toHaveLength(4);
    });

    it('reads a repository summary', async () => {
      const result = await server.client.readResource({ uri: 'github://acme/widgets' });
      const summary = JSON.parse(resourceText(result, 'application/json')) as Record<string, unknown>;
      expect(summary).toMatchObject({ full_name: 'acme/widgets', default_branch: 'main', topics: ['widgets', 'typescript', 'protocol'], visibility: 'public' });
      expect(summary.description).toContain('Widgets for every occasion');
      expect(typeof summary.open_issues_count).toBe('number');
      expect(resourceText(result, 'text/markdown')).toContain('- Default branch: main');
    });

    it('lists the templates and the default repository', async () => {
      const { resourceTemplates } = await server.client.listResourceTemplates();
      expect(resourceTemplates.map((t) => t.uriTemplate).sort()).toEqual(['github://{owner}/{repo}', 'github://{owner}/{repo}/issues/{number}']);
      const { resources } = await server.client.listResources();
      expect(resources.map((r) => r.uri)).toContain('github://acme/widgets');
    });

    it('fails a read for a missing issue with a JSON-RPC error (-32602) that names it', async () => {
      const read = server.client.readResource({ uri: 'github://acme/widgets/issues/4242' });
      await expect(read).rejects.toThrow(/Issue #4242 was not found in acme\/widgets/);
      // Resource not found is -32602 in both eras.
      await expect(read).rejects.toMatchObject({ code: -32602 });
    });

    it('completes owners, repositories and recent open issue numbers', async () => {
      const owner = await server.client.complete({ ref: { type: 'ref/resource', uri: 'github://{owner}/{repo}' }, argument: { name: 'owner', value: 'ac' } });
      expect(owner.completion.values).toEqual(['acme']);
      const repo = await server.client.complete({
        ref: { type: 'ref/resource', uri: 'github://{owner}/{repo}/issues/{number}' },
        argument: { name: 'repo', value: 'w' },
        context: { arguments: { owner: 'acme' } },
      });
      expect(repo.completion.values).toEqual(['widgets']);
      const numbers = await server.client.complete({
        ref: { type: 'ref/resource', uri: 'github://{owner}/{repo}/issues/{number}' },
        argument: { name: 'number', value: '' },
        context: { arguments: { owner: 'acme', repo: 'widgets' } },
      });
      expect(numbers.completion.values).toEqual(expect.arrayContaining(['2', '3', '4', '6']));
      expect(numbers.completion.values).not.toContain('1'); // closed
    });
  });
});
