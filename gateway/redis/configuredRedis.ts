import { ConfigError } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import type { RedisLink } from './redisLink.js';

/**
 * The Redis link a configuration asks for (cluster.redis, or limits.rate.store "redis"), or
 * undefined. The Redis client library is loaded only then: a gateway without Redis never
 * imports it.
 */
export async function openConfiguredRedisLink(
  config: { cluster: { redis: boolean }; limits: { rate?: { store: 'memory' | 'redis' } | undefined } },
  logger: Logger,
): Promise<RedisLink | undefined> {
  const wanted = config.cluster.redis ? 'cluster.redis is true' : config.limits.rate?.store === 'redis' ? 'limits.rate.store is "redis"' : undefined;
  if (!wanted) return undefined;
  const url = process.env.REDIS_URL;
  if (!url) throw new ConfigError([`REDIS_URL: must be set (e.g. redis://127.0.0.1:6379) when ${wanted}.`]);
  const { RedisLink } = await import('./redisLink.js');
  return RedisLink.open(url, logger);
}
