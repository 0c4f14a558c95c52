import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureUpstream, startGateway, waitReady, type RunningGateway } from '../gateway/harness.js';
import { canRun, startPrivateRedis, type PrivateService } from '../support/privateServices.js';
import { waitFor } from '../support/waitFor.js';

/**
 * Two gateway instances sharing a Redis of this test's own, which the test stops (as a crash
 * would) and starts again. Without Redis each instance goes on serving its own clients alone;
 * once Redis is back they behave as one again, with no restart.
 */

const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const VERSION = '2025-11-25';

async function post(
  base: string,
  body: Record<string, unknown>,
  session?: string,
): Promise<{ status: number; session: string | null; body: { result?: { content?: Array<{ text?: string }> } } | undefined }> {
  const response = await fetch(`${base}/mcp`, {
    method: 'POST',
    headers: { ...MCP_HEADERS, ...(session ? { 'mcp-session-id': session, 'mcp-protocol-version': VERSION } : {}) },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  const data = text.split('\n').find((line) => line.startsWith('data: '));
  return {
    status: response.status,
    session: response.headers.get('mcp-session-id'),
    body: text ? (JSON.parse(data ? data.slice(6) : text) as { result?: { content?: Array<{ text?: string }> } }) : undefined,
  };
}

/** A 2025 session opened on `base`, initialized. */
async function openSession(base: string): Promise<string> {
  const opened = await post(base, {
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: VERSION, capabilities: {}, clientInfo: { name: 'outage', version: '1' } },
  });
  expect(opened.status).toBe(200);
  await post(base, { jsonrpc: '2.0', method: 'notifications/initialized' }, opened.session!);
  return opened.session!;
}

let calls = 0;
async function echo(base: string, session: string, text: string): Promise<{ status: number; text?: string }> {
  const answer = await post(base, { jsonrpc: '2.0', id: ++calls, method: 'tools/call', params: { name: 'fx__echo', arguments: { text } } }, session);
  return { status: answer.status, text: answer.body?.result?.content?.[0]?.text };
}

async function metric(gateway: RunningGateway, line: RegExp): Promise<number | undefined> {
  const text = await (await fetch(`${gateway.direct}/metrics`)).text();
  const found = text.split('\n').find((l) => line.test(l));
  return found === undefined ? undefined : Number(found.split(' ').pop());
}

describe.runIf(canRun('redis-server', 'the Redis outage test'))('two gateway instances sharing a Redis that goes away and comes back', () => {
  let redis: PrivateService;
  let a: RunningGateway;
  let b: RunningGateway;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    const config = { cluster: { redis: true }, limits: { rate: { perUser: 100_000 } }, upstreams: [fixtureUpstream('fx')] };
    [a, b] = await Promise.all([startGateway(config, { env: { REDIS_URL: redis.url } }), startGateway(config, { env: { REDIS_URL: redis.url } })]);
    await Promise.all([waitReady({ ...a, base: a.direct }), waitReady({ ...b, base: b.direct })]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.remove();
  });

  it('closes the copy another instance holds of a session its client ended, so it cannot be used there', async () => {
    const session = await openSession(a.direct);
    expect(await echo(b.direct, session, 'copied')).toEqual({ status: 200, text: 'copied' });
    const ended = await fetch(`${a.direct}/mcp`, { method: 'DELETE', headers: { 'mcp-session-id': session, 'mcp-protocol-version': VERSION } });
    expect(ended.status).toBe(200);
    await waitFor('the copy on B to close', async () => (await echo(b.direct, session, 'gone')).status === 404, 5_000);
  });

  it('keeps serving as a single instance with a warning and manifold_redis_up 0, and shares sessions again once Redis is back', async () => {
    expect(await metric(a, /^manifold_redis_up /)).toBe(1);
    const before = await openSession(a.direct);
    expect(await echo(b.direct, before, 'shared')).toEqual({ status: 200, text: 'shared' });

    await redis.stop();
    await waitFor('instance A to notice Redis is gone', async () => (await metric(a, /^manifold_redis_up /)) === 0, 20_000);
    expect(a.logs.some((line) => line.level === 40 && /Redis unreachable; serving as a single instance/.test(String(line.msg)))).toBe(true);

    // Sessions held here, new sessions, and rate-limited calls go on, counted here.
    expect(await echo(a.direct, before, 'still here')).toEqual({ status: 200, text: 'still here' });
    const during = await openSession(a.direct);
    expect(await echo(a.direct, during, 'opened alone')).toEqual({ status: 200, text: 'opened alone' });
    expect(await metric(a, /^manifold_redis_fallbacks_total\{feature="rate_limit"\}/)).toBeGreaterThan(0);
    // A session is not shared meanwhile: the other instance does not know it, and says so (404: open a new session).
    expect((await echo(b.direct, during, 'elsewhere')).status).toBe(404);

    await redis.start();
    await waitFor(
      'both instances to reconnect',
      async () => (await metric(a, /^manifold_redis_up /)) === 1 && (await metric(b, /^manifold_redis_up /)) === 1,
      20_000,
    );
    expect(a.logs.some((line) => /Redis reachable; sessions, limits, cache invalidations and resource updates shared again/.test(String(line.msg)))).toBe(true);
    // The session opened alone was saved on reconnection: it continues on the other instance.
    await waitFor(
      'the session opened during the outage to be shared',
      async () => (await echo(b.direct, during, 'shared again')).text === 'shared again',
      10_000,
    );
    expect(await echo(b.direct, before, 'and the older one')).toEqual({ status: 200, text: 'and the older one' });
    expect(a.process.exitCode).toBeNull();
    expect(b.process.exitCode).toBeNull();
  }, 90_000);

  it('starts as a single instance when Redis is down at start, and joins the cluster when it comes', async () => {
    const late = await startPrivateRedis({ started: false });
    const config = { cluster: { redis: true }, upstreams: [fixtureUpstream('fx')] };
    const alone = await startGateway(config, { env: { REDIS_URL: late.url } });
    try {
      await waitReady({ ...alone, base: alone.direct });
      expect(await metric(alone, /^manifold_redis_up /)).toBe(0);
      expect(alone.logs.some((line) => line.level === 40 && /Redis is not reachable yet; serving as a single instance/.test(String(line.msg)))).toBe(true);
      const session = await openSession(alone.direct);
      expect(await echo(alone.direct, session, 'alone')).toEqual({ status: 200, text: 'alone' });
      await late.start();
      await waitFor('the instance to join', async () => (await metric(alone, /^manifold_redis_up /)) === 1, 20_000);
      expect(await echo(alone.direct, session, 'joined')).toEqual({ status: 200, text: 'joined' });
    } finally {
      await alone.stop();
      await late.remove();
    }
  }, 60_000);
});
