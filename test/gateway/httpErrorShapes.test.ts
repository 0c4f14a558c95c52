import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../gateway/auth/embedded/passwords.js';
import { fixtureUpstream, ROOT, startGateway, waitReady, type RunningGateway } from './harness.js';

/**
 * Every error path of the gateway's HTTP endpoints, walked one by one: each answer has the
 * status a client branches on and a body it can read, a JSON-RPC error with a sentence in it
 * (or the documented OAuth JSON error on metadata URLs), the request id when the request had
 * one and was read, and nothing of the gateway's insides.
 */

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

interface Ask {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Send the body chunked, without Content-Length. */
  chunked?: boolean;
}

const JSON_AND_SSE = 'application/json, text/event-stream';
const MODERN = '2026-07-28';

let gateway: RunningGateway;
/** The gateway's data directory: the token command signs with the keys kept there. */
const dataDir = mkdtempSync(join(tmpdir(), 'manifold-http-errors-'));
const tokens: Record<'full' | 'readOnly', string> = { full: '', readOnly: '' };

/** node:http rather than fetch: fetch would refuse to send a foreign Host header. */
function ask({ method = 'POST', path, headers = {}, body, chunked }: Ask): Promise<Answer> {
  const url = new URL(path, gateway.direct);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        method,
        headers: { ...(body !== undefined && !chunked ? { 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const bearer = (which: keyof typeof tokens = 'full'): Record<string, string> => ({ authorization: `Bearer ${tokens[which]}` });
const mcpHeaders = (which: keyof typeof tokens = 'full'): Record<string, string> => ({
  ...bearer(which),
  'content-type': 'application/json',
  accept: JSON_AND_SSE,
});
const rpc = (id: string | number | undefined, method: string, params?: Record<string, unknown>): string =>
  JSON.stringify({ jsonrpc: '2.0', ...(id === undefined ? {} : { id }), method, ...(params ? { params } : {}) });
const initialize = (id: string | number): string =>
  rpc(id, 'initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'walker', version: '1' } });
const modernMeta = (version = MODERN): Record<string, unknown> => ({
  'io.modelcontextprotocol/protocolVersion': version,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'walker', version: '1' },
});

/** What must never reach a client: stacks, schema-library output, paths on the gateway's disk. */
const LEAKS = [
  /ZodError/,
  /"code"\s*:\s*"invalid_/,
  /"expected"\s*:/,
  /\n\s+at\s/,
  /\(\/[^)]*:\d+:\d+\)/,
  /node_modules/,
  /\/work\//,
  /\.[jt]s:\d+/,
  /dist\/gateway/,
];

function expectNoLeak(answer: Answer): void {
  for (const leak of LEAKS) expect(answer.text, `leaks ${leak}`).not.toMatch(leak);
}

/** The JSON-RPC error of a plain JSON answer, or of the first message of an event stream. */
function errorOf(answer: Answer): { id: unknown; error: { code: unknown; message: unknown } } {
  const type = String(answer.headers['content-type'] ?? '');
  const text = type.startsWith('text/event-stream') ? (/^data: (.*)$/m.exec(answer.text)?.[1] ?? '') : answer.text;
  expect(type, `content type of ${answer.status} ${answer.text}`).toMatch(/^(application\/json|text\/event-stream)/);
  return JSON.parse(text) as { id: unknown; error: { code: unknown; message: unknown } };
}

function expectRpcError(answer: Answer, status: number, id: string | number | null, code?: number): string {
  expect(answer.status, answer.text).toBe(status);
  expectNoLeak(answer);
  const message = errorOf(answer);
  expect(message).toMatchObject({ jsonrpc: '2.0', id });
  expect(message.error.code).toEqual(code ?? expect.any(Number));
  expect(Number.isInteger(message.error.code)).toBe(true);
  expect(typeof message.error.message).toBe('string');
  // Words a person can act on, not a bare code.
  expect((message.error.message as string).length, message.error.message as string).toBeGreaterThan(12);
  expect(message.error.message).toMatch(/\s/);
  return message.error.message as string;
}

function expectOAuthError(answer: Answer, status: number): void {
  expect(answer.status, answer.text).toBe(status);
  expectNoLeak(answer);
  expect(String(answer.headers['content-type'])).toMatch(/^application\/json/);
  const body = JSON.parse(answer.text) as { error?: unknown; error_description?: unknown };
  expect(typeof body.error).toBe('string');
  expect(typeof body.error_description).toBe('string');
}

async function openSession(which: keyof typeof tokens = 'full', path = '/mcp'): Promise<string> {
  const answer = await ask({ path, headers: mcpHeaders(which), body: initialize(0) });
  expect(answer.status, answer.text).toBe(200);
  const id = answer.headers['mcp-session-id'];
  expect(typeof id).toBe('string');
  await ask({
    path,
    headers: { ...mcpHeaders(which), 'mcp-session-id': id as string, 'mcp-protocol-version': '2025-11-25' },
    body: rpc(undefined, 'notifications/initialized'),
  });
  return id as string;
}

beforeAll(async () => {
  gateway = await startGateway(
    {
      auth: { mode: 'oauth', embedded: { users: [{ id: 'ops', email: 'ops@example.com', passwordHash: await hashPassword('operator-password') }] } },
      http: { maxBodyBytes: 4096 },
      upstreams: [fixtureUpstream('fx'), fixtureUpstream('fy')],
      views: [{ name: 'mini', tools: ['fx__echo'], scopes: ['fx:admin'] }],
    },
    { env: { MANIFOLD_DATA_DIR: dataDir } },
  );
  await waitReady(gateway);
  const token = (scope: string): string =>
    execFileSync(
      process.execPath,
      [join(ROOT, 'dist', 'gateway', 'tokenCommand.js'), '--config', gateway.configFile, '--user', 'ops', '--scope', scope, '--public-url', gateway.base],
      {
        env: { ...process.env, MANIFOLD_DATA_DIR: dataDir },
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    )
      .toString()
      .trim();
  tokens.full = token('fx:read fx:write fx:admin fy:read fy:write fy:admin');
  tokens.readOnly = token('fx:read');
});

afterAll(async () => {
  await gateway?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('wrong HTTP method', () => {
  // Only a POST body on an MCP path is read before the answer: elsewhere there is no id to echo.
  it.each([
    ['PUT', '/mcp', null],
    ['PATCH', '/servers/fx/mcp', null],
    ['PUT', '/views/mini/mcp', null],
    ['POST', '/sse', 3],
    ['DELETE', '/messages', null],
    ['POST', '/healthz', 3],
    ['DELETE', '/readyz', null],
    ['POST', '/metrics', null],
    ['POST', '/', null],
  ] as const)('%s %s is 405 with Allow and a JSON-RPC error', async (method, path, id) => {
    const answer = await ask({ method, path, headers: mcpHeaders(), body: method === 'DELETE' ? undefined : rpc(3, 'tools/list') });
    expectRpcError(answer, 405, id);
    expect(answer.headers.allow).toEqual(expect.any(String));
  });

  it('an unknown path is 404 with a JSON-RPC error', async () => {
    expectRpcError(await ask({ method: 'GET', path: '/nothing-here', headers: bearer() }), 404, null);
  });
});

describe('Content-Type and Accept', () => {
  // Header sets are built when each test runs, once the tokens exist.
  it.each([
    ['a wrong Content-Type', () => ({ ...mcpHeaders(), 'content-type': 'text/plain' }), 415],
    ['no Content-Type', () => ({ ...bearer(), accept: JSON_AND_SSE }), 415],
    ['an Accept without event streams', () => ({ ...mcpHeaders(), accept: 'application/json' }), 406],
    ['no Accept', () => ({ ...bearer(), 'content-type': 'application/json' }), 406],
  ])('initialize with %s is refused, echoing its id', async (_what, headers, status) => {
    expectRpcError(await ask({ path: '/mcp', headers: headers(), body: initialize(11) }), status, 11);
  });

  it.each([
    ['a wrong Content-Type', () => ({ ...mcpHeaders(), 'content-type': 'text/plain', 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/list' }), 415],
    ['no Accept', () => ({ ...bearer(), 'content-type': 'application/json', 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/list' }), 406],
  ])('a 2026-07-28 request with %s is refused, echoing its id', async (_what, headers, status) => {
    expectRpcError(await ask({ path: '/mcp', headers: headers(), body: rpc('m-1', 'tools/list', { _meta: modernMeta() }) }), status, 'm-1');
  });

  it('a text/plain body that is not JSON is 415, not a parse error', async () => {
    expectRpcError(await ask({ path: '/mcp', headers: { ...mcpHeaders(), 'content-type': 'text/plain' }, body: 'hello' }), 415, null);
  });

  it('a GET stream without Accept: text/event-stream is 406', async () => {
    const session = await openSession();
    expectRpcError(await ask({ method: 'GET', path: '/mcp', headers: { ...bearer(), accept: 'application/json', 'mcp-session-id': session } }), 406, null);
  });
});

describe('bodies', () => {
  it('malformed JSON is 400 -32700 with a null id', async () => {
    expectRpcError(await ask({ path: '/mcp', headers: mcpHeaders(), body: '{"jsonrpc":"2.0","id":4,' }), 400, null, -32700);
  });

  it.each([
    ['a wrong jsonrpc version', JSON.stringify({ jsonrpc: '1.0', id: 5, method: 'tools/list' }), 5],
    ['a method that is not a string', JSON.stringify({ jsonrpc: '2.0', id: 6, method: 42 }), 6],
    ['params that are an array', JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/list', params: [1] }), 7],
    ['a fractional id', JSON.stringify({ jsonrpc: '2.0', id: 1.5, method: 'tools/list' }), null],
    ['a bare string', JSON.stringify('tools/list'), null],
    ['an empty batch', '[]', null],
  ])('an envelope with %s is 400 -32600', async (_what, body, id) => {
    expectRpcError(await ask({ path: '/mcp', headers: mcpHeaders(), body }), 400, id, -32600);
  });

  it.each([
    ['no params', rpc(8, 'initialize')],
    ['no clientInfo', rpc(8, 'initialize', { protocolVersion: '2025-11-25', capabilities: {} })],
    ['a numeric protocolVersion', rpc(8, 'initialize', { protocolVersion: 20251125, capabilities: {}, clientInfo: { name: 'w', version: '1' } })],
  ])('a malformed initialize (%s) is 400 -32602 and opens no session', async (_what, body) => {
    const answer = await ask({ path: '/mcp', headers: mcpHeaders(), body });
    expectRpcError(answer, 400, 8, -32602);
    expect(answer.headers['mcp-session-id']).toBeUndefined();
  });

  it('initialize in a batch is 400', async () => {
    expectRpcError(await ask({ path: '/mcp', headers: mcpHeaders(), body: `[${initialize(9)}]` }), 400, null, -32600);
  });

  it('a body over http.maxBodyBytes is 413, declared or chunked', async () => {
    const big = rpc(10, 'tools/call', { name: 'fx__echo', arguments: { text: 'x'.repeat(8000) } });
    expectRpcError(await ask({ path: '/mcp', headers: mcpHeaders(), body: big }), 413, null);
    expectRpcError(await ask({ path: '/mcp', headers: { ...mcpHeaders(), 'transfer-encoding': 'chunked' }, body: big, chunked: true }), 413, null);
  });
});

describe('sessions (2025-11-25)', () => {
  it('a request without Mcp-Session-Id is 400, echoing its id', async () => {
    expectRpcError(await ask({ path: '/mcp', headers: mcpHeaders(), body: rpc(12, 'tools/list') }), 400, 12);
  });

  it('an unknown session id is 404, on POST, GET and DELETE', async () => {
    const headers = { ...mcpHeaders(), 'mcp-session-id': 'no-such-session', 'mcp-protocol-version': '2025-11-25' };
    expectRpcError(await ask({ path: '/mcp', headers, body: rpc(13, 'tools/list') }), 404, 13);
    expectRpcError(await ask({ method: 'GET', path: '/mcp', headers: { ...headers, accept: 'text/event-stream' } }), 404, null);
    expectRpcError(await ask({ method: 'DELETE', path: '/mcp', headers }), 404, null);
  });

  it('an unsupported MCP-Protocol-Version header is 400, echoing the id', async () => {
    const session = await openSession();
    const message = expectRpcError(
      await ask({ path: '/mcp', headers: { ...mcpHeaders(), 'mcp-session-id': session, 'mcp-protocol-version': '1999-01-01' }, body: rpc(14, 'tools/list') }),
      400,
      14,
    );
    expect(message).toContain('1999-01-01');
  });

  it('a batch on a 2025-11-25 session is refused', async () => {
    const session = await openSession();
    const answer = await ask({
      path: '/mcp',
      headers: { ...mcpHeaders(), 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' },
      body: `[${rpc(15, 'tools/list')},${rpc(16, 'prompts/list')}]`,
    });
    expect(expectRpcError(answer, 400, null, -32600)).toContain('batches');
  });

  it('params the method does not accept are -32602 in words, without schema-library output', async () => {
    const session = await openSession();
    const headers = { ...mcpHeaders(), 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' };
    for (const [id, method, params] of [
      [17, 'tools/call', { name: 42 }],
      [18, 'tools/call', { name: 'fx__echo', arguments: 'text' }],
      [19, 'resources/read', { uri: 7 }],
      [20, 'prompts/get', {}],
      [21, 'tools/list', { cursor: 5 }],
      [22, 'completion/complete', { ref: 'x' }],
      [23, 'logging/setLevel', { level: 'loud' }],
    ] as const) {
      expectRpcError(await ask({ path: '/mcp', headers, body: rpc(id, method, params) }), 200, id, -32602);
    }
  });

  // The SDK's own words; the method is not named, but the code says what to do.
  it('an unknown method in a session is -32601', async () => {
    const session = await openSession();
    const headers = { ...mcpHeaders(), 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' };
    expectRpcError(await ask({ path: '/mcp', headers, body: rpc(24, 'tools/destroy', {}) }), 200, 24, -32601);
  });
});

describe('2026-07-28 requests', () => {
  const modernHeaders = (method: string, extra: Record<string, string> = {}): Record<string, string> => ({
    ...mcpHeaders(),
    'mcp-protocol-version': MODERN,
    'mcp-method': method,
    ...extra,
  });

  it('a missing MCP-Protocol-Version header is 400 -32020', async () => {
    const { 'mcp-protocol-version': _dropped, ...headers } = modernHeaders('tools/list');
    expectRpcError(await ask({ path: '/mcp', headers, body: rpc(30, 'tools/list', { _meta: modernMeta() }) }), 400, 30, -32020);
  });

  it('an Mcp-Method header that disagrees is 400 -32020', async () => {
    expectRpcError(await ask({ path: '/mcp', headers: modernHeaders('prompts/list'), body: rpc(31, 'tools/list', { _meta: modernMeta() }) }), 400, 31, -32020);
  });

  it('an unsupported revision is 400 -32022 with what is supported', async () => {
    const answer = await ask({
      path: '/mcp',
      headers: modernHeaders('tools/list', { 'mcp-protocol-version': '2099-01-01' }),
      body: rpc(32, 'tools/list', { _meta: modernMeta('2099-01-01') }),
    });
    expectRpcError(answer, 400, 32, -32022);
    expect(JSON.parse(answer.text)).toMatchObject({ error: { data: { supported: [MODERN] } } });
  });

  it('a method of no revision is 404 -32601', async () => {
    expectRpcError(await ask({ path: '/mcp', headers: modernHeaders('initialize'), body: rpc(33, 'initialize', { _meta: modernMeta() }) }), 404, 33, -32601);
  });

  it.each([
    ['without clientCapabilities', { 'io.modelcontextprotocol/protocolVersion': MODERN }],
    ['with clientInfo of the wrong shape', { ...modernMeta(), 'io.modelcontextprotocol/clientInfo': 'walker' }],
    ['with a log level that does not exist', { ...modernMeta(), 'io.modelcontextprotocol/logLevel': 'loud' }],
  ])('an envelope %s is refused in words', async (_what, meta) => {
    const answer = await ask({ path: '/mcp', headers: modernHeaders('tools/list'), body: rpc(34, 'tools/list', { _meta: meta }) });
    expectRpcError(answer, 400, 34);
  });

  it.each([
    ['tools/call', { name: 42 }],
    ['resources/read', { uri: 7 }],
    ['prompts/get', {}],
    ['tools/list', { cursor: 5 }],
    ['completion/complete', { ref: 'x' }],
  ])('%s with params it does not accept is -32602 in words', async (method, params) => {
    const answer = await ask({ path: '/mcp', headers: modernHeaders(method), body: rpc(35, method, { ...params, _meta: modernMeta() }) });
    expectRpcError(answer, answer.status, 35, -32602);
    expect([200, 400]).toContain(answer.status);
  });
});

describe('authentication and authorization', () => {
  it.each([
    ['no token', {}],
    ['a token that is not one', { authorization: 'Bearer not-a-token' }],
    ['a scheme that is not Bearer', { authorization: 'Basic b3BzOnB3' }],
  ] as Array<[string, Record<string, string>]>)('%s is 401 with a challenge', async (_what, auth) => {
    const answer = await ask({ path: '/mcp', headers: { 'content-type': 'application/json', accept: JSON_AND_SSE, ...auth }, body: initialize(40) });
    expectRpcError(answer, 401, null);
    expect(answer.headers['www-authenticate']).toMatch(/^Bearer /);
  });

  it('a tool call the token lacks the scope for is 403 with a step-up challenge, echoing the id', async () => {
    const session = await openSession('readOnly');
    const answer = await ask({
      path: '/mcp',
      headers: { ...mcpHeaders('readOnly'), 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' },
      body: rpc(41, 'tools/call', { name: 'fx__echo', arguments: { text: 'hi' } }),
    });
    expectRpcError(answer, 403, 41);
    expect(answer.headers['www-authenticate']).toMatch(/insufficient_scope/);
  });

  it('a 2026-07-28 tool call the token lacks the scope for is 403, echoing the id', async () => {
    const answer = await ask({
      path: '/mcp',
      headers: { ...mcpHeaders('readOnly'), 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'fx__echo' },
      body: rpc('s-42', 'tools/call', { name: 'fx__echo', arguments: { text: 'hi' }, _meta: modernMeta() }),
    });
    expectRpcError(answer, 403, 's-42');
  });

  it('a view the token lacks the scope for is 403', async () => {
    expectRpcError(await ask({ path: '/views/mini/mcp', headers: mcpHeaders('readOnly'), body: initialize(43) }), 403, 43);
  });

  it('/metrics and the status page are 401 without a token and 403 without an operator scope', async () => {
    for (const path of ['/metrics', '/']) {
      expectRpcError(await ask({ method: 'GET', path }), 401, null);
      expectRpcError(await ask({ method: 'GET', path, headers: bearer('readOnly') }), 403, null);
    }
  });
});

describe('where the request comes from', () => {
  it('a foreign Origin is 403', async () => {
    expectRpcError(await ask({ path: '/mcp', headers: { ...mcpHeaders(), origin: 'https://evil.example' }, body: initialize(50) }), 403, null);
  });

  it('a foreign Host on the loopback listener is 403', async () => {
    expectRpcError(await ask({ path: '/mcp', headers: { ...mcpHeaders(), host: 'rebound.example:80' }, body: initialize(51) }), 403, null);
  });
});

describe('endpoints that name what does not exist', () => {
  it('an unknown upstream namespace is 404, echoing the id', async () => {
    expectRpcError(await ask({ path: '/servers/nope/mcp', headers: mcpHeaders(), body: initialize(60) }), 404, 60);
  });

  it('an unknown view is 404, echoing the id', async () => {
    expectRpcError(await ask({ path: '/views/nope/mcp', headers: mcpHeaders(), body: initialize(61) }), 404, 61);
  });

  it('a legacy POST to an unknown SSE session is 404, echoing the id', async () => {
    expectRpcError(await ask({ path: '/messages?sessionId=nope', headers: mcpHeaders(), body: rpc(62, 'tools/list') }), 404, 62);
  });

  it('a legacy POST whose params its method does not accept is 400 -32602 in words', async () => {
    const stream = httpRequest({
      host: new URL(gateway.direct).hostname,
      port: new URL(gateway.direct).port,
      path: '/sse',
      headers: { ...bearer(), accept: 'text/event-stream' },
    });
    const endpoint = await new Promise<string>((resolve, reject) => {
      stream.on('response', (res) => {
        let seen = '';
        res.on('data', (chunk: Buffer) => {
          seen += chunk.toString('utf8');
          const found = /event: endpoint\ndata: (.*)\n/.exec(seen)?.[1];
          if (found) resolve(found);
        });
      });
      stream.on('error', reject);
      stream.end();
    });
    try {
      expectRpcError(await ask({ path: endpoint, headers: mcpHeaders(), body: rpc(63, 'resources/read', { uri: 7 }) }), 400, 63, -32602);
    } finally {
      stream.destroy();
    }
  });

  it('well-known metadata URLs that publish nothing answer with an OAuth JSON error', async () => {
    expectOAuthError(await ask({ method: 'GET', path: '/.well-known/oauth-protected-resource' }), 404);
    expectOAuthError(await ask({ method: 'GET', path: '/.well-known/oauth-authorization-server' }), 404);
    expectOAuthError(await ask({ method: 'GET', path: '/.well-known/oauth-protected-resource/servers/nope/mcp' }), 404);
    expectOAuthError(
      await ask({ method: 'POST', path: '/.well-known/oauth-protected-resource/mcp', headers: { 'content-type': 'application/json' }, body: '{}' }),
      405,
    );
  });
});
