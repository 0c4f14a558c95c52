import type { RedisLink } from '../redis/redisLink.js';
import { InMemoryRateLimitStore, type RateLimitStore } from './rateLimitStore.js';

/**
 * Rate-limit counters shared by every gateway instance, in Redis: one fixed window per key,
 * counted with INCR, given its lifetime by the first hit (PEXPIRE … NX), read back with PTTL,
 * all in one MULTI so that instances never disagree about a window. A limit is then global:
 * calls of one user count together on whichever instance they land.
 *
 * While Redis is unreachable each instance counts in its own memory (a limit then applies per
 * instance: a client spread over N instances gets up to N times it), rather than refusing or
 * holding every call; counting returns to Redis when it is back.
 */
export class RedisRateLimitStore implements RateLimitStore {
  private readonly local = new InMemoryRateLimitStore();

  constructor(
    private readonly link: RedisLink,
    private readonly prefix = 'manifold:rate:',
  ) {}

  async hit(key: string, windowMs: number): Promise<{ count: number; resetInMs: number }> {
    if (!this.link.up) return this.alone(key, windowMs);
    const redisKey = `${this.prefix}${key}`;
    let results: Array<[Error | null, unknown]> | null;
    try {
      results = await this.link.commands.multi().incr(redisKey).pexpire(redisKey, windowMs, 'NX').pttl(redisKey).exec();
    } catch {
      return this.alone(key, windowMs);
    }
    if (!results) throw new Error('Redis did not run the rate-limit transaction');
    for (const [error] of results) if (error) throw error;
    const count = Number(results[0]?.[1]);
    const ttl = Number(results[2]?.[1]);
    return { count, resetInMs: ttl > 0 ? ttl : windowMs };
  }

  async close(): Promise<void> {
    await this.local.close();
  }

  private async alone(key: string, windowMs: number): Promise<{ count: number; resetInMs: number }> {
    this.link.fellBack('rate_limit');
    return this.local.hit(key, windowMs);
  }
}
