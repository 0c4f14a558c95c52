import { Redis } from 'ioredis';
import type { RateLimitStore } from './rateLimiter.js';

/**
 * Rate-limit counters shared by every gateway instance, in Redis: one fixed window per key,
 * counted with INCR, given its lifetime by the first hit (PEXPIRE … NX), read back with PTTL,
 * all in one MULTI so that instances never disagree about a window. A limit is then global:
 * calls of one user count together on whichever instance they land.
 */
export class RedisRateLimitStore implements RateLimitStore {
  private readonly redis: Redis;

  constructor(url: string, private readonly prefix = 'manifold:rate:') {
    this.redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: true });
  }

  async hit(key: string, windowMs: number): Promise<{ count: number; resetInMs: number }> {
    const redisKey = `${this.prefix}${key}`;
    const results = await this.redis.multi().incr(redisKey).pexpire(redisKey, windowMs, 'NX').pttl(redisKey).exec();
    if (!results) throw new Error('Redis did not run the rate-limit transaction');
    for (const [error] of results) if (error) throw error;
    const count = Number(results[0]?.[1]);
    const ttl = Number(results[2]?.[1]);
    return { count, resetInMs: ttl > 0 ? ttl : windowMs };
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => undefined);
  }
}
