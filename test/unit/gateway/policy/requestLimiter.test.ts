import { describe, expect, it } from 'vitest';
import { InMemoryRateLimitStore } from '../../../../gateway/limits/rateLimitStore.js';
import { rateLimitsSchema } from '../../../../gateway/policy/policySettings.js';
import { RequestLimiter } from '../../../../gateway/policy/requestLimiter.js';

function manualClock(start = Date.parse('2026-12-06T10:00:00.000Z')): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return { now: () => time, advance: (ms) => (time += ms) };
}

describe('rate limits on requests other than tools/call', () => {
  it('refuses past requestsPerUser with the retry-after facts a client needs', async () => {
    const clock = manualClock();
    const limiter = new RequestLimiter(rateLimitsSchema.parse({ windowMs: 60_000, requestsPerUser: 2 }), new InMemoryRateLimitStore(clock.now));
    expect(await limiter.check('ada', 'resources/read')).toBeUndefined();
    expect(await limiter.check('ada', 'prompts/get')).toBeUndefined();
    clock.advance(12_500);
    const before = Date.now();
    const refusal = await limiter.check('ada', 'tools/list');
    expect(refusal).toBeDefined();
    expect(refusal!.retryAfterMs).toBe(47_500);
    expect(refusal!.data).toMatchObject({ limit: 'requests', max: 2, windowMs: 60_000, retryAfterMs: 47_500, retryAfterSeconds: 48 });
    // retryAt is when to come back, from the wall clock: 47.5 s from now.
    const retryAt = Date.parse(refusal!.data.retryAt);
    expect(retryAt - before).toBeGreaterThanOrEqual(47_500);
    expect(retryAt - Date.now()).toBeLessThanOrEqual(47_500);
    expect(refusal!.message).toMatch(
      /^Rate limit "requests" reached: at most 2 requests \(other than tool calls\) per user every 60 s\. Retry after 48 s \(at .+Z\)\.$/,
    );
  });

  it('caps one method further with limits.rate.methods', async () => {
    const settings = rateLimitsSchema.parse({ requestsPerUser: 100, methods: { 'resources/read': 1 } });
    const limiter = new RequestLimiter(settings, new InMemoryRateLimitStore(manualClock().now));
    expect(await limiter.check('ada', 'resources/read')).toBeUndefined();
    const refusal = await limiter.check('ada', 'resources/read');
    expect(refusal?.data).toMatchObject({ limit: 'method:resources/read', max: 1 });
    expect(refusal?.message).toContain('at most 1 resources/read requests per user');
    expect(await limiter.check('ada', 'prompts/get')).toBeUndefined();
    expect(await limiter.check('bob', 'resources/read')).toBeUndefined();
  });

  it('does not count methods that cost nothing upstream', async () => {
    const limiter = new RequestLimiter(rateLimitsSchema.parse({ requestsPerUser: 1 }), new InMemoryRateLimitStore(manualClock().now));
    for (const method of ['tools/call', 'initialize', 'ping', 'notifications/initialized', 'server/discover']) {
      expect(await limiter.check('ada', method)).toBeUndefined();
    }
    expect(await limiter.check('ada', 'resources/list')).toBeUndefined();
    expect((await limiter.check('ada', 'resources/list'))?.data.limit).toBe('requests');
  });

  it('counts in the same store as the tool limits, under keys of its own', async () => {
    const clock = manualClock();
    const store = new InMemoryRateLimitStore(clock.now);
    const limiter = new RequestLimiter(rateLimitsSchema.parse({ requestsPerUser: 1, windowMs: 1_000 }), store);
    expect(await limiter.check('ada', 'completion/complete')).toBeUndefined();
    expect(await limiter.check('ada', 'subscriptions/listen')).toBeDefined();
    clock.advance(1_000);
    expect(await limiter.check('ada', 'subscriptions/listen')).toBeUndefined();
    expect((await store.hit('u\0ada', 1_000)).count).toBe(1);
  });
});
