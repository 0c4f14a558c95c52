import { LIMITED_METHODS, type RateLimitSettings } from './policySettings.js';
import { describeWait } from './policyRefusal.js';
import type { RateLimitStore } from '../limits/rateLimitStore.js';

const LIMITED: ReadonlySet<string> = new Set(LIMITED_METHODS);

/** A request refused by a rate limit: which limit, and when to come back. */
export interface RequestRefusal {
  message: string;
  retryAfterMs: number;
  data: { limit: string; max: number; windowMs: number; retryAfterMs: number; retryAfterSeconds: number; retryAt: string };
}

/**
 * Rate limits on the requests besides tools/call that reach an upstream or cost the gateway
 * work (limits.rate.requestsPerUser and .methods), counted in the same store as the tool limits
 * (shared through Redis in a cluster), for 2025 sessions and 2026-07-28 requests alike.
 */
export class RequestLimiter {
  constructor(
    private readonly settings: RateLimitSettings,
    private readonly store: RateLimitStore,
  ) {}

  /** Count one `method` request of `user`; the refusal when a limit is over. */
  async check(user: string, method: string): Promise<RequestRefusal | undefined> {
    if (!LIMITED.has(method)) return undefined;
    const { windowMs } = this.settings;
    const methodMax = this.settings.methods[method as (typeof LIMITED_METHODS)[number]];
    const rules = [
      ...(methodMax === undefined
        ? []
        : [{ limit: `method:${method}`, key: `m\0${user}\0${method}`, max: methodMax, describes: `${method} requests per user` }]),
      { limit: 'requests', key: `r\0${user}`, max: this.settings.requestsPerUser, describes: 'requests (other than tool calls) per user' },
    ];
    for (const rule of rules) {
      const { count, resetInMs } = await this.store.hit(rule.key, windowMs);
      if (count <= rule.max) continue;
      const retryAfterMs = Math.max(resetInMs, 1);
      const retryAt = new Date(Date.now() + retryAfterMs).toISOString();
      return {
        message: `Rate limit "${rule.limit}" reached: at most ${rule.max} ${rule.describes} every ${describeWait(windowMs)}. Retry after ${describeWait(retryAfterMs)} (at ${retryAt}).`,
        retryAfterMs,
        data: { limit: rule.limit, max: rule.max, windowMs, retryAfterMs, retryAfterSeconds: Math.ceil(retryAfterMs / 1000), retryAt },
      };
    }
    return undefined;
  }
}
