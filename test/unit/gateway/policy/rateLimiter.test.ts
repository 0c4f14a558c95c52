import { describe, expect, it } from 'vitest';
import { InMemoryRateLimitStore } from '../../../../gateway/limits/rateLimitStore.js';
import { rateLimitsSchema } from '../../../../gateway/policy/policySettings.js';
import { RateLimiter, type RateLimitedCall } from '../../../../gateway/policy/rateLimiter.js';

function manualClock(start = 5_000_000): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return { now: () => time, advance: (ms) => (time += ms) };
}

const read = (user: string, tool = 'list_tasks', namespace = 'pm'): RateLimitedCall => ({
  user,
  namespace,
  tool,
  exposedName: `${namespace}__${tool}`,
  write: false,
});
const write = (user: string, tool = 'create_task', namespace = 'pm'): RateLimitedCall => ({
  user,
  namespace,
  tool,
  exposedName: `${namespace}__${tool}`,
  write: true,
});

async function allowedCount(limiter: RateLimiter, call: RateLimitedCall, attempts: number): Promise<number> {
  let allowed = 0;
  for (let i = 0; i < attempts; i++) if ((await limiter.check(call)).allowed) allowed++;
  return allowed;
}

describe('per user and per tool rate limits', () => {
  it("refuses a user's calls past perUser in a window and names the limit and when to retry", async () => {
    const clock = manualClock();
    const limiter = new RateLimiter(rateLimitsSchema.parse({ windowMs: 60_000, perUser: 3 }), new InMemoryRateLimitStore(clock.now));
    expect(await allowedCount(limiter, read('ada'), 3)).toBe(3);
    clock.advance(20_000);
    const refused = await limiter.check(read('ada'));
    expect(refused.allowed).toBe(false);
    expect(refused.rule).toMatchObject({ limit: 'user', max: 3, describes: 'calls per user' });
    expect(refused.retryAfterMs).toBe(40_000);
    expect(limiter.windowMs).toBe(60_000);
  });

  it('counts each user on their own', async () => {
    const limiter = new RateLimiter(rateLimitsSchema.parse({ perUser: 2 }), new InMemoryRateLimitStore(manualClock().now));
    expect(await allowedCount(limiter, read('ada'), 5)).toBe(2);
    expect(await allowedCount(limiter, read('bob'), 5)).toBe(2);
  });

  it('allows calls again in the next window', async () => {
    const clock = manualClock();
    const limiter = new RateLimiter(rateLimitsSchema.parse({ windowMs: 1_000, perUser: 1 }), new InMemoryRateLimitStore(clock.now));
    expect((await limiter.check(read('ada'))).allowed).toBe(true);
    expect((await limiter.check(read('ada'))).allowed).toBe(false);
    clock.advance(1_000);
    expect((await limiter.check(read('ada'))).allowed).toBe(true);
  });

  it('limits writes apart from reads', async () => {
    const limiter = new RateLimiter(rateLimitsSchema.parse({ perUser: 10, writesPerUser: 2 }), new InMemoryRateLimitStore(manualClock().now));
    expect(await allowedCount(limiter, write('ada'), 3)).toBe(2);
    const refused = await limiter.check(write('ada'));
    expect(refused.rule).toMatchObject({ limit: 'user_writes', max: 2, describes: 'write calls per user' });
    expect((await limiter.check(read('ada'))).allowed).toBe(true);
  });

  it("applies a tool's own limit to that tool only, per user", async () => {
    const settings = rateLimitsSchema.parse({ perUser: 100, namespaces: { pm: { tools: { list_tasks: 2 } } } });
    const limiter = new RateLimiter(settings, new InMemoryRateLimitStore(manualClock().now));
    expect(await allowedCount(limiter, read('ada', 'list_tasks'), 4)).toBe(2);
    const refused = await limiter.check(read('ada', 'list_tasks'));
    expect(refused.rule).toMatchObject({ limit: 'tool', max: 2, describes: 'calls of pm__list_tasks per user' });
    expect((await limiter.check(read('ada', 'get_task'))).allowed).toBe(true);
    expect((await limiter.check(read('bob', 'list_tasks'))).allowed).toBe(true);
  });

  it('applies namespace limits, for calls and for writes', async () => {
    const settings = rateLimitsSchema.parse({ perUser: 100, writesPerUser: 100, namespaces: { pm: { perUser: 3, writesPerUser: 1 } } });
    const limiter = new RateLimiter(settings, new InMemoryRateLimitStore(manualClock().now));
    expect((await limiter.check(write('ada'))).allowed).toBe(true);
    expect((await limiter.check(write('ada'))).rule).toMatchObject({ limit: 'namespace_writes', describes: 'write calls into "pm" per user' });
    // The refused write was not counted against "namespace": two of its three calls are left.
    expect(await allowedCount(limiter, read('ada'), 3)).toBe(2);
    expect((await limiter.check(read('ada'))).rule).toMatchObject({ limit: 'namespace', max: 3, describes: 'calls into "pm" per user' });
    // Another namespace is limited only by the user's totals.
    expect((await limiter.check(read('ada', 'search_docs', 'docs'))).allowed).toBe(true);
  });

  it('checks the most specific rule first, and a refusal there does not charge the general counters', async () => {
    const settings = rateLimitsSchema.parse({ perUser: 3, namespaces: { pm: { tools: { list_tasks: 1 } } } });
    const limiter = new RateLimiter(settings, new InMemoryRateLimitStore(manualClock().now));
    expect(limiter.rulesFor(write('ada', 'list_tasks')).map((rule) => rule.limit)).toEqual(['tool', 'user_writes', 'user']);
    expect(limiter.rulesFor(write('ada', 'create_task')).map((rule) => rule.limit)).toEqual(['user_writes', 'user']);
    expect(limiter.rulesFor(read('ada', 'list_tasks')).map((rule) => rule.limit)).toEqual(['tool', 'user']);

    expect((await limiter.check(read('ada', 'list_tasks'))).allowed).toBe(true); // user: 1
    for (let i = 0; i < 5; i++) expect((await limiter.check(read('ada', 'list_tasks'))).rule?.limit).toBe('tool');
    // The five refusals were not counted against "user": two more calls fit.
    expect(await allowedCount(limiter, read('ada', 'get_task'), 3)).toBe(2);
  });
});
