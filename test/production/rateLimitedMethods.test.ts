/**
 * The methods besides reads and lists that a user could call in a loop: prompts/get,
 * completion/complete, subscriptions/listen (2026-07-28) and resources/subscribe (2025) are each
 * refused beyond their limit (`limits.rate.methods`), with 429 and Retry-After or a JSON-RPC
 * error naming the limit, while another user goes on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope, MODERN_REVISION, postModern } from '../support/modernWire.js';
import { TestIssuer } from '../support/testIssuer.js';
import { fixtureUpstream, rawSession, startGateway, waitReady, type RunningGateway } from '../gateway/harness.js';

const LIMITED = ['prompts/get', 'completion/complete', 'subscriptions/listen', 'resources/subscribe'] as const;

describe('rate limits on prompts, completion, listen and subscribe', () => {
  let issuer: TestIssuer;
  let gateway: RunningGateway;
  const streams: AbortController[] = [];

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
    gateway = await startGateway({
      auth: { mode: 'oauth', issuer: issuer.issuer },
      limits: { rate: { requestsPerUser: 1000, methods: Object.fromEntries(LIMITED.map((method) => [method, 1])) } },
      upstreams: [fixtureUpstream('fx')],
    });
    await waitReady(gateway);
  });

  afterAll(async () => {
    for (const stream of streams) stream.abort();
    await gateway?.stop();
    await issuer?.stop();
  });

  /** Open a listen stream and leave it open; its status, and its error when refused. */
  async function listen(token: string): Promise<{ status: number; retryAfter: string | null; error?: { code: number; data?: unknown } }> {
    const controller = new AbortController();
    streams.push(controller);
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
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'subscriptions/listen',
        params: { notifications: { resourceSubscriptions: ['fx+fixture://items/1'] }, _meta: envelope() },
      }),
    });
    if (response.headers.get('content-type')?.includes('text/event-stream')) return { status: response.status, retryAfter: null };
    const { error } = (await response.json()) as { error: { code: number; data?: unknown } };
    return { status: response.status, retryAfter: response.headers.get('retry-after'), error };
  }

  it('refuses a 2026-07-28 user a second prompts/get, completion/complete and listen stream with 429 and Retry-After, and serves another user', async () => {
    const token = await issuer.accessToken(gateway.url, { sub: 'looper', scope: 'fx:read' });
    const other = await issuer.accessToken(gateway.url, { sub: 'bystander', scope: 'fx:read' });
    const as = (bearer: string, method: string, params: Record<string, unknown>) =>
      postModern(gateway.url, method, params, { headers: { authorization: `Bearer ${bearer}` } });
    const requests: Array<[string, Record<string, unknown>]> = [
      ['prompts/get', { name: 'fx__greet', arguments: { who: 'Ada' } }],
      ['completion/complete', { ref: { type: 'ref/prompt', name: 'fx__greet' }, argument: { name: 'who', value: 'A' } }],
    ];
    for (const [method, params] of requests) {
      expect((await as(token, method, params)).status, method).toBe(200);
      const refused = await as(token, method, params);
      expect(refused.status, method).toBe(429);
      expect(refused.message.error, method).toMatchObject({ code: -32000, data: { limit: `method:${method}`, max: 1, retryAfterSeconds: expect.any(Number) } });
      expect((await as(other, method, params)).status, method).toBe(200);
    }
    expect((await listen(token)).status).toBe(200);
    const refused = await listen(token);
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    expect(refused.error).toMatchObject({ code: -32000, data: { limit: 'method:subscriptions/listen', max: 1 } });
    expect((await listen(other)).status).toBe(200);
  });

  it('refuses a 2025 session a second resources/subscribe with a JSON-RPC error naming the limit', async () => {
    const token = await issuer.accessToken(gateway.url, { sub: 'subscriber', scope: 'fx:read' });
    const session = await rawSession(gateway.url, token);
    expect((await session.call('resources/subscribe', { uri: 'fx+fixture://items/1' })).body.error).toBeUndefined();
    const refused = await session.call('resources/subscribe', { uri: 'fx+fixture://items/2' });
    expect(refused.body.error).toMatchObject({ code: -32000, data: { limit: 'method:resources/subscribe' } });
    expect(refused.body.error.message).toContain('Retry after');
  });
});
