import { describe, expect, it } from 'vitest';
import { CallCancellation } from '../../../../gateway/upstreams/cancellation.js';
import { ConcurrencyLimit } from '../../../../gateway/upstreams/concurrencyLimit.js';

const full = () => new Error('queue full');

describe("an upstream's concurrency limit", () => {
  it('hands out slots up to the maximum at once', () => {
    const limit = new ConcurrencyLimit(2, 10);
    expect(limit.tryAcquire()).toBe(true);
    expect(limit.tryAcquire()).toBe(true);
    expect(limit.tryAcquire()).toBe(false);
    expect(limit.inUse).toBe(2);
  });

  it('lets waiting callers in, in order, as slots are released', async () => {
    const limit = new ConcurrencyLimit(1, 10);
    limit.tryAcquire();
    const order: string[] = [];
    const first = limit.acquire(full).then(() => order.push('first'));
    const second = limit.acquire(full).then(() => order.push('second'));
    expect(limit.queued).toBe(2);
    limit.release();
    await first;
    expect(order).toEqual(['first']);
    limit.release();
    await second;
    expect(order).toEqual(['first', 'second']);
    expect(limit.inUse).toBe(1);
    limit.release();
    expect(limit.inUse).toBe(0);
  });

  it("refuses at once beyond the queue, with the caller's error", async () => {
    const limit = new ConcurrencyLimit(1, 1);
    limit.tryAcquire();
    void limit.acquire(full);
    await expect(limit.acquire(full)).rejects.toThrow('queue full');
    expect(limit.queued).toBe(1);
  });

  it('takes a cancelled caller out of the queue', async () => {
    const limit = new ConcurrencyLimit(1, 5);
    limit.tryAcquire();
    const cancellation = new CallCancellation();
    const waiting = limit.acquire(full, cancellation);
    cancellation.abort(new Error('client cancelled'));
    await expect(waiting).rejects.toThrow('client cancelled');
    expect(limit.queued).toBe(0);
  });

  it('does not let a newcomer overtake the queue', async () => {
    const limit = new ConcurrencyLimit(1, 5);
    limit.tryAcquire();
    const waiting = limit.acquire(full);
    limit.release();
    // The slot went to the waiting caller, not to whoever asks next.
    expect(limit.tryAcquire()).toBe(false);
    await waiting;
  });
});
