import { randomBytes } from 'node:crypto';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL, redisAvailable } from '../support/redis.js';
import { connect, fixtureUpstream, startGateway, waitReady, type RunningGateway } from '../gateway/harness.js';

describe.runIf(await redisAvailable('the shared rate limit test'))('rate limits shared by two gateway instances through Redis', () => {
  const user = `shared-limit-${randomBytes(4).toString('hex')}`;
  const config = {
    auth: { mode: 'none-loopback-dev', devUser: user },
    limits: { rate: { perUser: 5, writesPerUser: 100, windowMs: 60_000, store: 'redis' } },
    upstreams: [fixtureUpstream('fx')],
  };
  let first: RunningGateway;
  let second: RunningGateway;
  beforeAll(async () => {
    [first, second] = await Promise.all([startGateway(config, { env: { REDIS_URL } }), startGateway(config, { env: { REDIS_URL } })]);
    await Promise.all([waitReady(first), waitReady(second)]);
  });
  afterAll(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
  });

  it("counts a user's calls together, whichever instance they land on", async () => {
    const clients = await Promise.all([connect(first.url), connect(second.url)]);
    const outcomes: boolean[] = [];
    for (let i = 0; i < 6; i++) {
      const result = (await clients[i % 2]!.callTool({ name: 'fx__echo', arguments: { text: `call ${i}` } })) as CallToolResult;
      outcomes.push(!result.isError);
      if (result.isError) expect(JSON.stringify(result.content)).toMatch(/5 calls per user/i);
    }
    // Three calls went to each instance; alone, neither would have reached 5.
    expect(outcomes).toEqual([true, true, true, true, true, false]);
    await Promise.all(clients.map((c) => c.close()));
  });
});
