/**
 * No single caller can take every slot from the others: one user's open 2025 sessions, 2026
 * listen streams and calls in flight are capped (limits.perUser), with a refusal naming the cap,
 * the count and what to do (429 with Retry-After where HTTP allows), while other users go on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope, MODERN_REVISION, postModern } from '../support/modernWire.js';
import { TestIssuer } from '../support/testIssuer.js';
import { fixtureUpstream, rawSession, startGateway, waitReady, type RunningGateway } from '../gateway/harness.js';

const SESSIONS = 3;
const STREAMS = 2;
const IN_FLIGHT = 2;

describe('per-user caps', () => {
  let issuer: TestIssuer;
  let gateway: RunningGateway;
  let alice: string;
  let bob: string;
  const opened: AbortController[] = [];

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
    gateway = await startGateway({
      auth: { mode: 'oauth', issuer: issuer.issuer },
      limits: { perUser: { sessions: SESSIONS, listenStreams: STREAMS, inFlight: IN_FLIGHT } },
      upstreams: [fixtureUpstream('fx')],
    });
    await waitReady(gateway);
    alice = await issuer.accessToken(gateway.url, { sub: 'alice', scope: 'fx:admin' });
    bob = await issuer.accessToken(gateway.url, { sub: 'bob', scope: 'fx:admin' });
  });

  afterAll(async () => {
    for (const controller of opened) controller.abort();
    await gateway?.stop();
    await issuer?.stop();
  });

  it(`refuses a user's session beyond ${SESSIONS} with 429, and serves other users and the same user once one is closed`, async () => {
    const sessions = [];
    for (let i = 0; i < SESSIONS; i++) sessions.push(await rawSession(gateway.url, alice));
    expect(sessions.map((s) => s.initStatus)).toEqual(Array(SESSIONS).fill(200));
    const refused = await fetch(gateway.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'greedy', version: '1' } },
      }),
    });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('60');
    expect(refused.headers.get('mcp-session-id')).toBeNull();
    const { error } = (await refused.json()) as { error: { message: string } };
    expect(error.message).toContain(`you have ${SESSIONS} on this gateway instance, the most one user may have (${SESSIONS})`);
    expect(error.message).toContain('DELETE with their Mcp-Session-Id');
    // Another user is not affected.
    expect((await rawSession(gateway.url, bob)).initStatus).toBe(200);
    // Alice closes one and may open another.
    const closed = await fetch(gateway.url, { method: 'DELETE', headers: { authorization: `Bearer ${alice}`, 'mcp-session-id': sessions[0]!.sessionId! } });
    expect(closed.status).toBe(200);
    expect((await rawSession(gateway.url, alice)).initStatus).toBe(200);
  });

  /** Open a subscriptions/listen stream and keep it open; resolves with its status once headers arrive. */
  async function listen(token: string): Promise<{ status: number; body: string }> {
    const controller = new AbortController();
    opened.push(controller);
    const response = await fetch(gateway.url, {
      method: 'POST',
      signal: controller.signal,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': MODERN_REVISION,
        'mcp-method': 'subscriptions/listen',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'subscriptions/listen', params: { notifications: { toolsListChanged: true }, _meta: envelope() } }),
    });
    if (response.headers.get('content-type')?.includes('text/event-stream')) return { status: response.status, body: '' };
    return { status: response.status, body: await response.text() };
  }

  it(`refuses a user's listen stream beyond ${STREAMS} with 429, and serves other users`, async () => {
    for (let i = 0; i < STREAMS; i++) expect(await listen(alice)).toEqual({ status: 200, body: '' });
    const refused = await listen(alice);
    expect(refused.status).toBe(429);
    const { error } = JSON.parse(refused.body) as { error: { message: string; data: unknown } };
    expect(error.message).toContain(`you have ${STREAMS} on this gateway instance, the most one user may have (${STREAMS})`);
    expect(error.data).toEqual({ cap: 'limits.perUser.listenStreams', open: STREAMS, limit: STREAMS });
    expect(await listen(bob)).toEqual({ status: 200, body: '' });
  });

  it(`refuses a user's call beyond ${IN_FLIGHT} in flight at once, and serves other users`, async () => {
    const call = (token: string, name: string, args: Record<string, unknown>) =>
      postModern(gateway.url, 'tools/call', { name, arguments: args }, { headers: { authorization: `Bearer ${token}` } });
    const echo = (token: string) => call(token, 'fx__echo', { text: 'hi' });
    const slow = Array.from({ length: IN_FLIGHT }, () => call(alice, 'fx__slow', { ms: 1500 }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const refused = (await echo(alice)).message.result!;
    expect(refused.isError).toBe(true);
    expect(JSON.stringify(refused.content)).toContain(
      `You have ${IN_FLIGHT} calls in flight on this gateway instance, the most one user may have at once (${IN_FLIGHT})`,
    );
    expect((await echo(bob)).message.result).toMatchObject({ content: [{ type: 'text', text: 'hi' }] });
    for (const answer of await Promise.all(slow)) expect(answer.message.result?.isError).toBeFalsy();
    // Once they finish, Alice may call again.
    expect((await echo(alice)).message.result).toMatchObject({ content: [{ type: 'text', text: 'hi' }] });
  });
});
