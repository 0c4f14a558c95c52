import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpServerProcess } from '../support/processes.js';
import { copyFixtureTree, startHttpProcess } from './helpers.js';

/** What the docs server answers a hand-written MCP 2026-07-28 client over plain HTTP POSTs. */

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

describe('docs server on the raw 2026-07-28 wire (Streamable HTTP)', () => {
  let tree: { root: string; remove: () => Promise<void> };
  let server: HttpServerProcess;

  beforeAll(async () => {
    tree = await copyFixtureTree();
    server = await startHttpProcess({ DOCS_ROOT: tree.root, DOCS_WATCH: '0' });
  });
  afterAll(async () => {
    await server?.stop();
    await tree?.remove();
  });

  it('marks tools/list public for ten minutes, and complete', async () => {
    const { status, result } = await post(server.url, 'tools/list');
    expect(status).toBe(200);
    expect(result).toMatchObject({ resultType: 'complete', cacheScope: 'public', ttlMs: 600_000 });
    expect((result.tools as Array<{ name: string }>).map((t) => t.name).sort()).toEqual(['get_document', 'get_section', 'list_documents', 'search_docs']);
  });

  it('marks a document read public for a minute, and complete', async () => {
    const { status, result } = await post(server.url, 'resources/read', { uri: 'docs://reference/api/errors.md' });
    expect(status).toBe(200);
    expect(result).toMatchObject({ resultType: 'complete', cacheScope: 'public', ttlMs: 60_000 });
    expect(result.contents).toEqual([
      expect.objectContaining({ uri: 'docs://reference/api/errors.md', mimeType: 'text/markdown', text: expect.stringContaining('## Rate limits') }),
    ]);
  });

  it('marks the resource list public for a minute', async () => {
    const { result } = await post(server.url, 'resources/list');
    expect(result).toMatchObject({ resultType: 'complete', cacheScope: 'public', ttlMs: 60_000 });
    expect((result.resources as Array<{ uri: string }>).map((r) => r.uri)).toContain('docs://index');
  });

  it('answers tools/call and prompts/get as complete results, without cache hints', async () => {
    const call = await post(server.url, 'tools/call', { name: 'search_docs', arguments: { query: 'rate limit 429' } });
    expect(call.result).toMatchObject({ resultType: 'complete', structuredContent: { results: [expect.objectContaining({ anchor: 'rate-limits' })] } });
    expect(call.result.ttlMs).toBeUndefined();
    const prompt = await post(server.url, 'prompts/get', { name: 'answer_from_docs', arguments: { question: 'how do I install it with npm' } });
    expect(prompt.result).toMatchObject({ resultType: 'complete' });
    expect(JSON.stringify(prompt.result.messages)).toContain('docs://guides/installing.md#install-with-npm');
  });
});
