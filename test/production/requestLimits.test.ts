/**
 * Rate limits cover more than tools/call: after a user's limit, resources/read, prompts/get,
 * completion, the list methods, subscribe and listen are refused too — a 429 with Retry-After for
 * a 2026-07-28 request, a JSON-RPC error naming the limit for a 2025 session — while another
 * user goes on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postModern } from '../support/modernWire.js';
import { TestIssuer } from '../support/testIssuer.js';
import { fixtureUpstream, rawSession, startGateway, waitReady, type RunningGateway } from '../gateway/harness.js';

const READS = 3;
const REQUESTS = 6;

describe('rate limits on every method that reaches an upstream', () => {
  let issuer: TestIssuer;
  let gateway: RunningGateway;

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
    gateway = await startGateway({
      auth: { mode: 'oauth', issuer: issuer.issuer },
      limits: { rate: { requestsPerUser: REQUESTS, methods: { 'resources/read': READS } } },
      upstreams: [fixtureUpstream('fx')],
    });
    await waitReady(gateway);
  });

  afterAll(async () => {
    await gateway?.stop();
    await issuer?.stop();
  });

  it(`refuses a 2026-07-28 user's resources/read beyond ${READS}, then any request beyond ${REQUESTS}, with 429 and Retry-After`, async () => {
    const token = await issuer.accessToken(gateway.url, { sub: 'reader', scope: 'fx:read' });
    const as = (method: string, params: Record<string, unknown>) => postModern(gateway.url, method, params, { headers: { authorization: `Bearer ${token}` } });
    for (let i = 0; i < READS; i++) expect((await as('resources/read', { uri: `fx+fixture://items/${i}` })).status).toBe(200);
    const read = await as('resources/read', { uri: 'fx+fixture://items/0' });
    expect(read.status).toBe(429);
    expect(read.message.error).toMatchObject({ code: -32000, data: { limit: 'method:resources/read', max: READS } });
    expect(read.message.error?.message).toContain(`at most ${READS} resources/read requests per user`);
    // Other methods count against the overall limit until it too is reached (the refused read did not count).
    for (const method of ['tools/list', 'resources/templates/list', 'tools/list']) expect((await as(method, {})).status).toBe(200);
    const prompt = await as('prompts/list', {});
    expect(prompt.status).toBe(429);
    expect(prompt.message.error?.data).toMatchObject({ limit: 'requests', max: REQUESTS, retryAfterSeconds: expect.any(Number) });
    // Another user is not affected.
    const other = await issuer.accessToken(gateway.url, { sub: 'someone-else', scope: 'fx:read' });
    expect((await postModern(gateway.url, 'resources/read', { uri: 'fx+fixture://items/1' }, { headers: { authorization: `Bearer ${other}` } })).status).toBe(
      200,
    );
  });

  it('refuses a 2025 session its requests beyond the limit with a JSON-RPC error naming it', async () => {
    const token = await issuer.accessToken(gateway.url, { sub: 'session-user', scope: 'fx:read' });
    const session = await rawSession(gateway.url, token);
    const answers = [];
    for (let i = 0; i < READS + 1; i++) answers.push(await session.call('resources/read', { uri: `fx+fixture://items/${i % 3}` }));
    expect(answers.slice(0, READS).map((answer) => answer.body.error)).toEqual(Array(READS).fill(undefined));
    expect(answers[READS]!.body.error).toMatchObject({ code: -32000, data: { limit: 'method:resources/read' } });
    expect(answers[READS]!.body.error.message).toContain('Retry after');
  });
});
