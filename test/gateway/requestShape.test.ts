/**
 * The shape of what a client POSTs. Content-Type and Accept are parsed as media types
 * (RFC 9110), not searched for substrings: a body declared `text/plain; a=application/json` is
 * not JSON, and an Accept that refuses JSON (q=0) does not accept it — on 2025 sessions and
 * 2026-07-28 requests alike. JSON-RPC batches only where the session's revision has them, and
 * at most 64 messages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptsAll, isJsonContentType } from '../../gateway/http/mediaTypes.js';
import { postModern } from '../support/modernWire.js';
import { fixtureUpstream, startGateway, waitReady, type RunningGateway } from './harness.js';

describe('media types', () => {
  it('reads Content-Type and Accept as media types', () => {
    expect(isJsonContentType('application/json')).toBe(true);
    expect(isJsonContentType('Application/JSON; charset=utf-8')).toBe(true);
    expect(isJsonContentType('text/plain; a=application/json')).toBe(false);
    expect(isJsonContentType('application/jsonx')).toBe(false);
    expect(isJsonContentType('application/json; charset')).toBe(false);
    expect(acceptsAll('application/json, text/event-stream', ['application/json', 'text/event-stream'])).toBe(true);
    expect(acceptsAll('*/*', ['application/json', 'text/event-stream'])).toBe(true);
    expect(acceptsAll('application/*;q=0.5, text/*', ['application/json', 'text/event-stream'])).toBe(true);
    expect(acceptsAll('text/html; a=application/json, text/event-stream', ['application/json', 'text/event-stream'])).toBe(false);
    expect(acceptsAll('application/json;q=0, text/event-stream, */*', ['application/json', 'text/event-stream'])).toBe(false);
    expect(acceptsAll(undefined, ['text/event-stream'])).toBe(false);
  });
});

describe('the gateway refuses a body that only mentions JSON', () => {
  let gateway: RunningGateway;

  beforeAll(async () => {
    gateway = await startGateway({ upstreams: [fixtureUpstream('fx')] });
    await waitReady(gateway);
  });

  afterAll(async () => {
    await gateway?.stop();
  });

  const initialize = {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
  };

  it('answers 415 to a 2025 initialize sent as text/plain; a=application/json, and 200 to application/json; charset=utf-8', async () => {
    const post = (contentType: string) =>
      fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': contentType, accept: 'application/json, text/event-stream' },
        body: JSON.stringify(initialize),
      });
    const refused = await post('text/plain; a=application/json');
    expect(refused.status).toBe(415);
    expect(refused.headers.get('mcp-session-id')).toBeNull();
    expect((await post('application/json; charset=utf-8')).status).toBe(200);
  });

  it('answers 415 and 406 to 2026-07-28 requests whose headers only mention JSON', async () => {
    const disguised = await postModern(gateway.url, 'tools/list', {}, { headers: { 'Content-Type': 'text/plain; a=application/json' } });
    expect(disguised.status).toBe(415);
    expect(disguised.message.error?.message).toContain('Unsupported Media Type');
    const refusesJson = await postModern(gateway.url, 'tools/list', {}, { headers: { Accept: 'application/json;q=0, text/event-stream' } });
    expect(refusesJson.status).toBe(406);
    expect((await postModern(gateway.url, 'tools/list', {})).status).toBe(200);
  });

  /** A 2025 session on `protocolVersion`: its id, and a POST of `body` on it. */
  async function sessionOn(
    protocolVersion: string,
  ): Promise<(body: unknown) => Promise<{ status: number; body: { error?: { code: number; message: string } } | unknown[] }>> {
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const init = await fetch(gateway.url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ ...initialize, params: { ...initialize.params, protocolVersion } }),
    });
    const sessionId = init.headers.get('mcp-session-id')!;
    await init.text();
    await fetch(gateway.url, {
      method: 'POST',
      headers: { ...headers, 'mcp-session-id': sessionId },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    });
    return async (body) => {
      const response = await fetch(gateway.url, {
        method: 'POST',
        headers: { ...headers, 'mcp-session-id': sessionId, 'mcp-protocol-version': protocolVersion },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as { error?: { code: number; message: string } } | unknown[] };
    };
  }

  const ping = (id: number) => ({ jsonrpc: '2.0', id, method: 'ping' });

  it('refuses a JSON-RPC batch on a session of 2025-06-18 or later, which removed them', async () => {
    const post = await sessionOn('2025-11-25');
    const refused = await post([ping(1), ping(2)]);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({
      error: { code: -32600, message: 'JSON-RPC batches were removed in MCP 2025-06-18, and this session speaks 2025-11-25: send one message per POST.' },
    });
  });

  it('answers a batch on a 2025-03-26 session, and refuses one larger than 64 messages', async () => {
    const post = await sessionOn('2025-03-26');
    const answered = await post([ping(1), ping(2)]);
    expect(answered.status).toBe(200);
    expect(answered.body).toEqual([expect.objectContaining({ id: 1, result: {} }), expect.objectContaining({ id: 2, result: {} })]);
    const huge = await post(Array.from({ length: 65 }, (_, i) => ping(i + 1)));
    expect(huge.status).toBe(400);
    expect(huge.body).toMatchObject({ error: { code: -32600, message: 'A batch may carry at most 64 messages (this one has 65): send fewer per POST.' } });
  });

  it('echoes the request id in the error answers it gives before a session exists or for a missing one', async () => {
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const post = async (path: string, extra: Record<string, string>, body: unknown) => {
      const response = await fetch(`${gateway.base}${path}`, { method: 'POST', headers: { ...headers, ...extra }, body: JSON.stringify(body) });
      return { status: response.status, body: (await response.json()) as { id: unknown; error: { message: string } } };
    };
    const unknownSession = await post('/mcp', { 'mcp-session-id': 'no-such-session' }, ping(7));
    expect(unknownSession).toMatchObject({ status: 404, body: { id: 7, error: { message: expect.stringContaining('Session not found') } } });
    const badVersion = await post('/mcp', { 'mcp-protocol-version': '1999-01-01', 'mcp-session-id': 'x' }, { ...ping(0), id: 'abc' });
    expect(badVersion.body.id).toBe('abc');
    const unknownNamespace = await post('/servers/nope/mcp', {}, ping(9));
    expect(unknownNamespace).toMatchObject({ status: 404, body: { id: 9 } });
    // A notification has no id to echo.
    expect((await post('/mcp', { 'mcp-session-id': 'no-such-session' }, { jsonrpc: '2.0', method: 'notifications/initialized' })).body.id).toBeNull();
  });

  it('answers a malformed initialize with 400 naming the field, and opens no session', async () => {
    const before = (await (await fetch(`${gateway.base}/readyz`)).json()) as { sessions: number };
    for (const [params, field] of [
      [{ capabilities: {}, clientInfo: { name: 'x', version: '1' } }, 'params.protocolVersion'],
      [{ protocolVersion: '2025-11-25', capabilities: 'all', clientInfo: { name: 'x', version: '1' } }, 'params.capabilities'],
      [{ protocolVersion: '2025-11-25', capabilities: {} }, 'params.clientInfo'],
      [{ protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { version: '1' } }, 'params.clientInfo.name'],
    ] as const) {
      const response = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'initialize', params }),
      });
      expect(response.status).toBe(400);
      expect(response.headers.get('mcp-session-id')).toBeNull();
      const { id, error } = (await response.json()) as { id: unknown; error: { code: number; message: string } };
      expect(id).toBe(3);
      expect(error.code).toBe(-32602);
      expect(error.message).toContain(field);
      expect(error.message).not.toMatch(/"code":|invalid_type|expected/);
    }
    const after = (await (await fetch(`${gateway.base}/readyz`)).json()) as { sessions: number };
    expect(after.sessions).toBe(before.sessions);
  });
});
