import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_KINDS } from '../support/eraClients.js';
import { childEnv, distEntry } from '../support/processes.js';
import { waitFor } from '../support/waitFor.js';
import { FakeGithubApi, FIXTURE_TOKENS } from './fakeGithubApi.js';
import { callTool, closedPort, failure, GITHUB_ENTRY, startStdioServer, structured, type RunningGithubServer } from './harness.js';

/** Each case is its own server process: authentication and configuration are per process. */
describe.each(CLIENT_KINDS)('GitHub server authentication and configuration, client %s', (kind) => {
  let api: FakeGithubApi;
  let apiUrl: string;
  const running: RunningGithubServer[] = [];

  async function start(env: Record<string, string>): Promise<RunningGithubServer> {
    const server = await startStdioServer({ GITHUB_API_URL: apiUrl, ...env }, kind);
    running.push(server);
    return server;
  }

  beforeAll(async () => {
    api = new FakeGithubApi();
    apiUrl = await api.start();
  });

  afterAll(async () => {
    await Promise.all(running.map((s) => s.close()));
    await api?.stop();
  });

  describe('unauthenticated mode (no GITHUB_TOKEN)', () => {
    let server: RunningGithubServer;
    beforeAll(async () => {
      server = await start({ GITHUB_REPOSITORY: 'acme/widgets' });
    });

    it('says at startup that it serves public data only', async () => {
      // stderr and stdout are separate pipes: the log line may arrive after the first answer.
      const startup = await waitFor('the startup log line', () => server.logs().find((line) => line.auth === 'none'));
      expect(startup.msg).toContain('unauthenticated: public data only');
    });

    it('reads public repositories without sending any credentials', async () => {
      const data = structured<{ issue: { title: string } }>(await callTool(server.client, 'get_issue', { issue_number: 2 }));
      expect(data.issue.title).toBe('Add a dark theme to the widget gallery');
      expect(api.requestsTo('GET', '/repos/acme/widgets/issues/2').at(-1)?.headers.authorization).toBeUndefined();
    });

    it('explains that a private repository looks missing without a token (404)', async () => {
      const error = failure(await callTool(server.client, 'get_issue', { repo: 'acme/private-plans', issue_number: 1 }));
      expect(error.code).toBe('not_found');
      expect(error.message).toContain('Repository acme/private-plans was not found.');
      expect(error.message).toContain('runs without a token');
      expect(error.message).toContain('set GITHUB_TOKEN');
    });

    it('asks for GITHUB_TOKEN when writing (401)', async () => {
      const error = failure(await callTool(server.client, 'create_issue', { title: 'Anonymous issue' }));
      expect(error.code).toBe('unauthorized');
      expect(error.message).toContain('runs without a token');
      expect(error.message).toContain('Set GITHUB_TOKEN');
    });

    it('does not trust caller metadata unless told to: the local user acts', async () => {
      await callTool(server.client, 'comment_on_issue', { issue_number: 2, body: 'hello' }, { 'io.manifold/caller': { user: 'mallory', scopes: [] } });
      const logged = await waitFor('the comment_on_issue log line', () => {
        const callers = server
          .logs()
          .filter((line) => line.tool === 'comment_on_issue')
          .map((line) => line.caller);
        return callers.length > 0 && callers;
      });
      expect(logged).toContain('local-user');
      expect(logged).not.toContain('mallory');
    });
  });

  describe('tokens GitHub refuses', () => {
    it('says GITHUB_TOKEN is invalid (401 Bad credentials)', async () => {
      const server = await start({ GITHUB_TOKEN: 'ghp_revoked0000000000000000000000000000', GITHUB_REPOSITORY: 'acme/widgets' });
      const error = failure(await callTool(server.client, 'list_issues', {}));
      expect(error.code).toBe('unauthorized');
      expect(error.message).toContain('Bad credentials');
      expect(error.message).toContain('GITHUB_TOKEN is invalid, expired or revoked');
      expect(server.stderr()).not.toContain('ghp_revoked');
    });

    it('names the missing OAuth scope of a classic token (403)', async () => {
      const server = await start({ GITHUB_TOKEN: FIXTURE_TOKENS.readOrgOnly, GITHUB_REPOSITORY: 'acme/widgets' });
      const error = failure(await callTool(server.client, 'create_issue', { title: 'Needs repo scope' }));
      expect(error.code).toBe('forbidden');
      expect(error.message).toContain('lacks the OAuth scope "repo"');
      expect(error.message).toContain('it has "read:org"');
      expect(error.message).toContain('Give GITHUB_TOKEN the "repo" scope');
    });

    it('names the missing fine-grained permission (403)', async () => {
      const server = await start({ GITHUB_TOKEN: FIXTURE_TOKENS.fineGrainedReadOnly, GITHUB_REPOSITORY: 'acme/widgets' });
      const error = failure(await callTool(server.client, 'comment_on_issue', { issue_number: 3, body: 'Needs issues=write' }));
      expect(error.code).toBe('forbidden');
      expect(error.message).toContain('lacks the fine-grained permission issues=write');
      expect(api.comments('acme/widgets', 3).some((c) => c.body === 'Needs issues=write')).toBe(false);
    });

    it('says which permission closing an issue needs, and leaves the issue open (403)', async () => {
      const server = await start({ GITHUB_TOKEN: FIXTURE_TOKENS.fineGrainedReadOnly, GITHUB_REPOSITORY: 'acme/widgets' });
      const error = failure(await callTool(server.client, 'update_issue', { issue_number: 3, state: 'closed', state_reason: 'not_planned' }));
      expect(error.code).toBe('forbidden');
      expect(error.message).toContain('GitHub refused to close issue #3 in acme/widgets');
      expect(error.message).toContain('lacks the fine-grained permission issues=write');
      expect(api.issue('acme/widgets', 3)?.state).toBe('open');
    });

    it('reads private repositories with a token that can see them', async () => {
      const server = await start({ GITHUB_TOKEN: FIXTURE_TOKENS.write });
      const data = structured<{ issue: { title: string } }>(await callTool(server.client, 'get_issue', { issue_number: 'acme/private-plans#1' }));
      expect(data.issue.title).toBe('Plan the 2025 launch');
    });
  });

  describe('configuration', () => {
    it('without a default repository, says to pass owner/repo or set GITHUB_REPOSITORY, and accepts URLs', async () => {
      const server = await start({ GITHUB_TOKEN: FIXTURE_TOKENS.write });
      const error = failure(await callTool(server.client, 'get_issue', { issue_number: 3 }));
      expect(error.code).toBe('invalid_input');
      expect(error.message).toContain('Pass "owner" and "repo"');
      expect(error.message).toContain('GITHUB_REPOSITORY=owner/name');
      const search = failure(await callTool(server.client, 'search_issues', { query: 'crash' }));
      expect(search.message).toContain('scope_to_repository to false');
      const ok = structured<{ repository: string }>(await callTool(server.client, 'get_issue', { issue_number: 'https://github.com/acme/widgets/issues/3' }));
      expect(ok.repository).toBe('acme/widgets');
    });

    it('leaves out the write tools in read-only mode', async () => {
      const server = await start({ GITHUB_REPOSITORY: 'acme/widgets', GITHUB_READ_ONLY: '1' });
      const { tools } = await server.client.listTools();
      expect(tools.map((t) => t.name)).not.toContain('create_issue');
      expect(tools.map((t) => t.name)).not.toContain('comment_on_issue');
      expect(tools.map((t) => t.name)).not.toContain('update_issue');
      expect(tools.map((t) => t.name)).toContain('get_issue');
    });
  });

  describe('network failures', () => {
    it('names the unreachable API URL', async () => {
      const port = await closedPort();
      const unreachable = `http://127.0.0.1:${port}`;
      const server = await startStdioServer({ GITHUB_API_URL: unreachable, GITHUB_REPOSITORY: 'acme/widgets', GITHUB_REQUEST_RETRIES: '0' }, kind);
      running.push(server);
      const error = failure(await callTool(server.client, 'get_issue', { issue_number: 1 }));
      expect(error.code).toBe('unavailable');
      expect(error.message).toContain(`Could not reach the GitHub API at ${unreachable}`);
      expect(error.message).toContain('ECONNREFUSED');
      expect(error.message).toContain('GITHUB_API_URL');
      await expect(server.client.readResource({ uri: 'github://acme/widgets' })).rejects.toThrow(
        new RegExp(`Could not reach the GitHub API at ${unreachable}`),
      );
    });
  });
});

describe('startup configuration', () => {
  it('refuses a malformed GITHUB_REPOSITORY at startup with exit status 2', async () => {
    const child = spawn(process.execPath, [distEntry(GITHUB_ENTRY)], {
      env: childEnv({ GITHUB_REPOSITORY: 'not a repository', GITHUB_API_URL: 'ftp://example.com' }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toContain('GITHUB_REPOSITORY: must be owner/name, e.g. octocat/hello-world');
    expect(stderr).toContain('GITHUB_API_URL');
  });
});
