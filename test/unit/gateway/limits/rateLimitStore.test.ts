import { describe, expect, it } from 'vitest';
import { InMemoryRateLimitStore } from '../../../../gateway/limits/rateLimitStore.js';

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return { now: () => time, advance: (ms) => (time += ms) };
}

describe('in-memory rate-limit counters (fixed windows)', () => {
  it('counts hits on a key within one window and says how far the window has to go', async () => {
    const clock = manualClock();
    const store = new InMemoryRateLimitStore(clock.now);
    expect(await store.hit('u\0ada', 60_000)).toEqual({ count: 1, resetInMs: 60_000 });
    clock.advance(15_000);
    expect(await store.hit('u\0ada', 60_000)).toEqual({ count: 2, resetInMs: 45_000 });
    clock.advance(44_999);
    expect(await store.hit('u\0ada', 60_000)).toEqual({ count: 3, resetInMs: 1 });
  });

  it('opens a fresh window once the last one has ended', async () => {
    const clock = manualClock();
    const store = new InMemoryRateLimitStore(clock.now);
    await store.hit('k', 1_000);
    await store.hit('k', 1_000);
    clock.advance(1_000);
    expect(await store.hit('k', 1_000)).toEqual({ count: 1, resetInMs: 1_000 });
  });

  it('keeps keys apart', async () => {
    const store = new InMemoryRateLimitStore(manualClock().now);
    await store.hit('u\0ada', 60_000);
    await store.hit('u\0ada', 60_000);
    expect((await store.hit('u\0bob', 60_000)).count).toBe(1);
    expect((await store.hit('u\0ada', 60_000)).count).toBe(3);
  });

  it('forgets every counter when closed', async () => {
    const store = new InMemoryRateLimitStore(manualClock().now);
    await store.hit('k', 60_000);
    await store.close();
    expect((await store.hit('k', 60_000)).count).toBe(1);
  });
});
