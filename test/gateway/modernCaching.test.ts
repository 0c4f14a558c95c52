/**
 * What a 2026-07-28 client with an OAuth token is told, and what it may cache: `server/discover`
 * within the caller's scopes, cache hints on lists (private: they are filtered by the token),
 * and the gateway's own response cache, which keeps an answer its upstream marked private per
 * user even where the operator configured a shared cache, and no longer than the upstream said
 * it stays fresh.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postModern, type WireAnswer } from '../support/modernWire.js';
import { TestIssuer } from '../support/testIssuer.js';
import { waitFor } from '../support/waitFor.js';
import { fixtureUpstream, ROOT, startGateway, waitReady, type RunningGateway } from './harness.js';

type Params = Record<string, unknown>;
type Wire = (method: string, params?: Params) => Promise<Params>;

const CACHE_META = 'io.manifold/cache';
/** The project-management server's hint on its task data (servers/project-management/server.ts). */
const TEAM_DATA_TTL_MS = 5_000;

let issuer: TestIssuer;
let gateway: RunningGateway;
const users = { ada: `ada-caching-${process.pid}`, grace: `grace-caching-${process.pid}` };

beforeAll(async () => {
  issuer = await new TestIssuer().start();
  gateway = await startGateway({
    auth: { mode: 'oauth', issuer: issuer.issuer },
    limits: { rate: { perUser: 10_000, writesPerUser: 10_000 } },
    // A shared cache for ten minutes: the upstreams' own hints must still hold.
    cache: { ttlMs: 600_000, perUser: false },
    upstreams: [
      {
        namespace: 'pm',
        stdio: {
          command: process.execPath,
          args: [join(ROOT, 'dist', 'servers', 'project-management', 'main.js')],
          env: { MANIFOLD_DATA_DIR: mkdtempSync(join(tmpdir(), 'manifold-caching-pm-')), LOG_LEVEL: 'warn' },
        },
      },
      fixtureUpstream('fx', {}, { FIXTURE_POLICY: '1' }),
    ],
  });
  await waitReady(gateway);
});

afterAll(async () => {
  await gateway?.stop();
  await issuer?.stop();
});

async function as(user: string, scope: string): Promise<Wire> {
  const token = await issuer.accessToken(gateway.url, { sub: user, scope });
  return async (method, params = {}) => resultOf(await postModern(gateway.url, method, params, { headers: { Authorization: `Bearer ${token}` } }));
}

function resultOf(answer: WireAnswer): Params {
  expect(answer.message.error, JSON.stringify(answer.message.error)).toBeUndefined();
  expect(answer.status).toBe(200);
  return answer.message.result!;
}

function cacheHit(result: Params): boolean {
  return (result._meta as Params | undefined)?.[CACHE_META] !== undefined;
}

describe('the 2026-07-28 front with OAuth: discovery and cache hints', () => {
  it("describes in server/discover only the upstreams the caller's scopes reach", async () => {
    const pmReader = await as(users.ada, 'pm:read');
    const fxReader = await as(users.grace, 'fx:read');
    const forPm = await pmReader('server/discover');
    const forFx = await fxReader('server/discover');
    expect(forPm.supportedVersions).toContain('2026-07-28');
    expect(forPm.instructions).toContain('## pm');
    expect(forPm.instructions).not.toContain('## fx');
    expect(forFx.instructions).toContain('## fx');
    expect(forFx.instructions).not.toContain('## pm');
    // The answer depends on the token: no shared cache may keep it.
    expect(forPm).toMatchObject({ resultType: 'complete', cacheScope: 'private', ttlMs: 60_000 });
  });

  it('marks every list private and fresh for a minute, and lists only what the scopes reach', async () => {
    const pmReader = await as(users.ada, 'pm:read');
    const tools = await pmReader('tools/list');
    const names = (tools.tools as Array<{ name: string }>).map((tool) => tool.name);
    expect(names.length).toBeGreaterThan(0);
    expect(names.every((name) => name.startsWith('pm__'))).toBe(true);
    for (const list of [tools, await pmReader('prompts/list'), await pmReader('resources/templates/list')]) {
      expect(list).toMatchObject({ resultType: 'complete', cacheScope: 'private', ttlMs: 60_000 });
    }
    // resources/list is forwarded live: not to be cached at all.
    expect(await pmReader('resources/list')).toMatchObject({ cacheScope: 'private', ttlMs: 0 });
  });
});

describe("the gateway's response cache and an upstream's private answers", () => {
  it('keeps a read its upstream marked private per user, though the cache is configured as shared', async () => {
    const ada = await as(users.ada, 'pm:read');
    const grace = await as(users.grace, 'pm:read');
    const read = (wire: Wire): Promise<Params> => wire('resources/read', { uri: 'pm+project://status' });

    const first = await read(ada);
    expect(cacheHit(first)).toBe(false);
    expect(first).toMatchObject({ resultType: 'complete', cacheScope: 'private', ttlMs: TEAM_DATA_TTL_MS });
    const again = await read(ada);
    expect(cacheHit(again)).toBe(true);
    // The hint counts down from when the answer was stored.
    expect(again.ttlMs).toBeLessThanOrEqual(TEAM_DATA_TTL_MS);
    expect(again.cacheScope).toBe('private');

    // Another user is not handed ada's copy, then has a copy of her own.
    expect(cacheHit(await read(grace))).toBe(false);
    expect(cacheHit(await read(grace))).toBe(true);
  });

  it('keeps an upstream answer no longer than the upstream said it stays fresh, under a ten-minute rule', async () => {
    const ada = await as(`${users.ada}-ttl`, 'pm:read');
    const read = (): Promise<Params> => ada('resources/read', { uri: 'pm+project://team-workload' });
    expect(cacheHit(await read())).toBe(false);
    const stored = Date.now();
    expect(cacheHit(await read())).toBe(true);
    await waitFor('the cached read to expire with its upstream hint', async () => !cacheHit(await read()), 15_000);
    expect(Date.now() - stored).toBeGreaterThanOrEqual(TEAM_DATA_TTL_MS - 100);
    expect(Date.now() - stored).toBeLessThan(60_000);
  });

  it('shares, as configured, an answer its upstream did not mark private', async () => {
    const ada = await as(users.ada, 'fx:read');
    const grace = await as(users.grace, 'fx:read');
    const key = `shared-${process.pid}`;
    const first = await ada('tools/call', { name: 'fx__counted_read', arguments: { key } });
    expect(cacheHit(first)).toBe(false);
    const forGrace = await grace('tools/call', { name: 'fx__counted_read', arguments: { key } });
    expect(cacheHit(forGrace)).toBe(true);
    expect(forGrace.content).toEqual(first.content);
  });
});
