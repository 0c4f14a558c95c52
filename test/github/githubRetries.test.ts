import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeGithubApi, FIXTURE_TOKENS, type RecordedRequest } from './fakeGithubApi.js';
import { callTool, failure, startStdioServer, structured, type RunningGithubServer } from './harness.js';

/**
 * The back-off the README documents (servers/github/README.md): 5xx answers and connection
 * failures are retried after 1 s, then 4 s; a secondary rate limit once, after its retry-after;
 * every attempt and wait ends by GITHUB_REQUEST_TIMEOUT_MS. Checked on the times the fake GitHub
 * recorded the attempts at.
 */
const gaps = (requests: RecordedRequest[]): number[] => requests.slice(1).map((r, i) => r.at - requests[i]!.at);

describe('GitHub request retries, against the fake GitHub API', () => {
  let api: FakeGithubApi;
  let server: RunningGithubServer;

  beforeAll(async () => {
    api = new FakeGithubApi();
    await api.start();
    server = await startStdioServer({
      GITHUB_API_URL: api.url,
      GITHUB_TOKEN: FIXTURE_TOKENS.write,
      GITHUB_REPOSITORY: 'acme/widgets',
      GITHUB_REQUEST_RETRIES: '2',
      GITHUB_REQUEST_TIMEOUT_MS: '15000',
      GITHUB_RATE_LIMIT_MAX_WAIT_SECONDS: '5',
    });
  }, 30_000);

  afterAll(async () => {
    await server?.close();
    await api?.stop();
  });

  it('retries 5xx answers after 1 s, then 4 s, and gives up after the configured retries', async () => {
    const path = '/repos/acme/widgets/issues/1';
    api.clearRequests();
    api.inject({ method: 'GET', path, status: 502, body: { message: 'Server Error' }, times: 3 });
    const error = failure(await callTool(server.client, 'get_issue', { issue_number: 1 }));
    expect(error.code).toBe('unavailable');
    expect(error.message).toContain('GitHub answered 502');
    const attempts = api.requestsTo('GET', path);
    expect(attempts).toHaveLength(3);
    const [first, second] = gaps(attempts);
    expect(first).toBeGreaterThanOrEqual(1000);
    expect(first).toBeLessThan(4000);
    expect(second).toBeGreaterThanOrEqual(4000);
    expect(second).toBeLessThan(9000);
  }, 30_000);

  it("starts every request's back-off afresh (a second failing request waits 1 s first again)", async () => {
    const path = '/repos/acme/widgets/issues/2';
    api.clearRequests();
    api.inject({ method: 'GET', path, status: 503, body: { message: 'Unavailable' }, times: 1 });
    const data = structured<{ issue: { number: number } }>(await callTool(server.client, 'get_issue', { issue_number: 2 }));
    expect(data.issue.number).toBe(2);
    const [gap] = gaps(api.requestsTo('GET', path));
    expect(gap).toBeGreaterThanOrEqual(1000);
    expect(gap).toBeLessThan(4000);
  }, 30_000);

  it("waits out a secondary rate limit's Retry-After once, then succeeds", async () => {
    const path = '/repos/acme/widgets/issues/3';
    api.clearRequests();
    api.inject({ method: 'GET', path, status: 403, headers: { 'retry-after': '2' }, body: { message: 'You have exceeded a secondary rate limit.' } });
    structured(await callTool(server.client, 'get_issue', { issue_number: 3 }));
    const attempts = api.requestsTo('GET', path);
    expect(attempts).toHaveLength(2);
    const [gap] = gaps(attempts);
    expect(gap).toBeGreaterThanOrEqual(2000);
    expect(gap).toBeLessThan(4000);
  }, 30_000);

  it('does not retry a new comment after a 5xx (it may have been created)', async () => {
    const path = '/repos/acme/widgets/issues/2/comments';
    api.clearRequests();
    api.inject({ method: 'POST', path, status: 502, body: { message: 'Server Error' } });
    const error = failure(await callTool(server.client, 'comment_on_issue', { issue_number: 2, body: 'hello' }));
    expect(error.code).toBe('unavailable');
    expect(api.requestsTo('POST', path)).toHaveLength(1);
  }, 30_000);
});

describe('a hung GitHub', () => {
  let api: FakeGithubApi;
  let server: RunningGithubServer;

  beforeAll(async () => {
    api = new FakeGithubApi();
    await api.start();
    server = await startStdioServer({
      GITHUB_API_URL: api.url,
      GITHUB_TOKEN: FIXTURE_TOKENS.write,
      GITHUB_REPOSITORY: 'acme/widgets',
      GITHUB_REQUEST_RETRIES: '2',
      GITHUB_REQUEST_TIMEOUT_MS: '1500',
    });
  }, 30_000);

  afterAll(async () => {
    await server?.close();
    await api?.stop();
  });

  it('fails once GITHUB_REQUEST_TIMEOUT_MS has passed, saying so, without retrying past it', async () => {
    const path = '/repos/acme/widgets/issues/4';
    api.inject({ method: 'GET', path, status: 200, body: {}, delayMs: 10_000, times: 5 });
    const error = failure(await callTool(server.client, 'get_issue', { issue_number: 4 }));
    expect(error.code).toBe('unavailable');
    expect(error.message).toContain('did not answer within 1.5 s (GITHUB_REQUEST_TIMEOUT_MS) while trying to read issue #4');
    expect(api.requestsTo('GET', path)).toHaveLength(1);
  }, 30_000);
});
