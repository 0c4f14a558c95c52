import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_KINDS } from '../support/eraClients.js';
import { FakeGithubApi, FIXTURE_TOKENS } from './fakeGithubApi.js';
import { callTool, resourceText, startStreamableHttpServer, structured, textOf, type HttpGithubServer } from './harness.js';

describe.each(CLIENT_KINDS)('GitHub server over Streamable HTTP, client %s', (kind) => {
  let api: FakeGithubApi;
  let server: HttpGithubServer;

  beforeAll(async () => {
    api = new FakeGithubApi();
    const apiUrl = await api.start();
    server = await startStreamableHttpServer({ GITHUB_API_URL: apiUrl, GITHUB_TOKEN: FIXTURE_TOKENS.write, GITHUB_REPOSITORY: 'acme/widgets' }, kind);
  });

  afterAll(async () => {
    await server?.close();
    await api?.stop();
  });

  it('serves on the loopback URL it logs', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
  });

  it('answers tool calls and resource reads', async () => {
    const result = await callTool(server.client, 'get_code_owners', { paths: ['src/render/index.ts'] });
    expect(structured<{ results: Array<{ owners: string[] }> }>(result).results[0]?.owners).toEqual(['@alice', '@acme/frontend']);
    expect(textOf(result)).toContain('from .github/CODEOWNERS');
    const issue = await server.client.readResource({ uri: 'github://acme/widgets/issues/6' });
    expect(resourceText(issue, 'text/markdown')).toContain('# Widgets flicker on resize (acme/widgets#6)');
  });

  it('shares what one client learned for completion with the next client', async () => {
    await callTool(server.client, 'get_issue', { repo: 'acme/private-plans', issue_number: 1 });
    const second = await server.connect(kind);
    try {
      const repos = await second.complete({
        ref: { type: 'ref/resource', uri: 'github://{owner}/{repo}' },
        argument: { name: 'repo', value: 'pri' },
        context: { arguments: { owner: 'acme' } },
      });
      expect(repos.completion.values).toEqual(['private-plans']);
    } finally {
      await second.close();
    }
  });

  it('stops cleanly on SIGTERM', async () => {
    await server.client.close();
    expect(await server.exitCode()).toBe(0);
  });
});
