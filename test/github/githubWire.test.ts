import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeGithubApi, FIXTURE_TOKENS } from './fakeGithubApi.js';
import { startStreamableHttpServer, type HttpGithubServer } from './harness.js';

/** What the GitHub server answers a hand-written MCP 2026-07-28 client over plain HTTP POSTs. */

const REVISION = '2026-07-28';
/** The parameter each method is routed by (SEP-2243 `Mcp-Name`). */
const NAME_PARAM: Record<string, string> = { 'tools/call': 'name', 'resources/read': 'uri', 'prompts/get': 'name' };

interface RpcAnswer {
  status: number;
  result: Record<string, unknown>;
}

/** POST one request with the per-request `_meta` envelope and the routing headers; the JSON-RPC result (JSON or the last SSE message). */
async function post(url: string, method: string, params: Record<string, unknown> = {}): Promise<RpcAnswer> {
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    'MCP-Protocol-Version': REVISION,
    'Mcp-Method': method,
  };
  const nameParam = NAME_PARAM[method];
  if (nameParam) headers['Mcp-Name'] = String(params[nameParam]);
  const body = {
    jsonrpc: '2.0',
    id: 1,
    method,
    params: { ...params, _meta: { 'io.modelcontextprotocol/protocolVersion': REVISION, 'io.modelcontextprotocol/clientCapabilities': {} } },
  };
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await response.text();
  const messages = (response.headers.get('content-type') ?? '').includes('text/event-stream')
    ? text
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => JSON.parse(line.slice(5)) as Record<string, unknown>)
    : [JSON.parse(text) as Record<string, unknown>];
  const answer = messages.findLast((message) => message.id === 1);
  if (!answer?.result) throw new Error(`${method}: no result (HTTP ${response.status}): ${text}`);
  return { status: response.status, result: answer.result as Record<string, unknown> };
}

describe('GitHub server on the raw 2026-07-28 wire (Streamable HTTP)', () => {
  let api: FakeGithubApi;
  let server: HttpGithubServer;

  beforeAll(async () => {
    api = new FakeGithubApi();
    server = await startStreamableHttpServer({ GITHUB_API_URL: await api.start(), GITHUB_TOKEN: FIXTURE_TOKENS.write, GITHUB_REPOSITORY: 'acme/widgets' });
  });
  afterAll(async () => {
    await server?.close();
    await api?.stop();
  });

  it('marks tools/list public for ten minutes, and complete', async () => {
    const { status, result } = await post(server.url, 'tools/list');
    expect(status).toBe(200);
    expect(result).toMatchObject({ resultType: 'complete', cacheScope: 'public', ttlMs: 600_000 });
    expect((result.tools as Array<{ name: string }>).map((t) => t.name)).toContain('get_issue');
  });

  it('marks an issue read private for thirty seconds (what GitHub shows depends on the token), and complete', async () => {
    const { status, result } = await post(server.url, 'resources/read', { uri: 'github://acme/widgets/issues/3' });
    expect(status).toBe(200);
    expect(result).toMatchObject({ resultType: 'complete', cacheScope: 'private', ttlMs: 30_000 });
    expect(JSON.stringify(result.contents)).toContain('# Crash when a widget has no name (acme/widgets#3)');
  });

  it('marks a repository read and the resource list private for thirty seconds', async () => {
    const read = await post(server.url, 'resources/read', { uri: 'github://acme/widgets' });
    expect(read.result).toMatchObject({ resultType: 'complete', cacheScope: 'private', ttlMs: 30_000 });
    expect(JSON.stringify(read.result.contents)).toContain('- Default branch: main');
    const list = await post(server.url, 'resources/list');
    expect(list.result).toMatchObject({ resultType: 'complete', cacheScope: 'private', ttlMs: 30_000 });
    expect((list.result.resources as Array<{ uri: string }>).map((r) => r.uri)).toContain('github://acme/widgets');
  });

  it('answers tools/call and prompts/get as complete results, without cache hints', async () => {
    const call = await post(server.url, 'tools/call', { name: 'get_issue', arguments: { issue_number: 3 } });
    expect(call.result).toMatchObject({ resultType: 'complete', structuredContent: { repository: 'acme/widgets', issue: { number: 3 } } });
    expect(call.result.ttlMs).toBeUndefined();
    const prompt = await post(server.url, 'prompts/get', { name: 'triage_issue', arguments: { issue: '3' } });
    expect(prompt.result).toMatchObject({ resultType: 'complete', description: 'Triage acme/widgets#3' });
  });
});
