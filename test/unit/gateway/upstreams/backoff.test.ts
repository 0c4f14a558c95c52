import { describe, expect, it } from 'vitest';
import { RestartBackoff } from '../../../../gateway/upstreams/backoff.js';

describe('restart backoff', () => {
  it('doubles the delay up to the maximum, each delay between half and all of its step', () => {
    const backoff = new RestartBackoff({ initialDelayMs: 100, maxDelayMs: 800, resetAfterMs: 60_000 });
    const steps = [100, 200, 400, 800, 800];
    for (const step of steps) {
      const delay = backoff.take();
      expect(delay).toBeGreaterThanOrEqual(step / 2);
      expect(delay).toBeLessThanOrEqual(step);
    }
    expect(backoff.attempts).toBe(5);
  });

  it('starts again from the initial delay after a healthy stretch, not after a short one', () => {
    const backoff = new RestartBackoff({ initialDelayMs: 100, maxDelayMs: 10_000, resetAfterMs: 60_000 });
    for (let i = 0; i < 5; i++) backoff.take();
    backoff.noteUptime(59_999);
    expect(backoff.take()).toBeGreaterThanOrEqual(1_600);
    backoff.noteUptime(60_000);
    expect(backoff.attempts).toBe(0);
    expect(backoff.take()).toBeLessThanOrEqual(100);
  });
});
