import type { Logger } from '../../shared/logger.js';
import type { ResponseCache } from '../policy/responseCache.js';
import { RedisChannel } from './redisChannel.js';
import type { RedisLink } from '../redis/redisLink.js';

interface Invalidation {
  namespace: string;
  uri?: string;
}

/**
 * Cache invalidations shared between instances over Redis publish/subscribe: what one
 * instance invalidates (a write through it, an upstream notification it received), every
 * other instance invalidates too, so no instance serves a result another has made stale.
 * Invalidations published while Redis was unreachable are lost, so when it is back each
 * instance drops what it cached for every namespace.
 */
export class CacheInvalidationBus {
  private applyingRemote = false;

  private constructor(
    private readonly cache: ResponseCache,
    private readonly logger: Logger,
  ) {}

  static async connect(link: RedisLink, cache: ResponseCache, namespaces: readonly string[], logger: Logger): Promise<{ close: () => Promise<void> }> {
    const bus = new CacheInvalidationBus(cache, logger);
    const channel = await RedisChannel.open<Invalidation>(link, 'manifold:cache-invalidations', (event) => bus.apply(event), logger);
    cache.onInvalidate((namespace, uri) => {
      if (!bus.applyingRemote) channel.publish({ namespace, ...(uri ? { uri } : {}) });
    });
    link.onChange((up) => {
      if (up) for (const namespace of namespaces) bus.apply({ namespace });
    });
    return channel;
  }

  private apply(event: Partial<Invalidation>): void {
    if (typeof event.namespace !== 'string') return;
    this.applyingRemote = true;
    try {
      if (typeof event.uri === 'string') this.cache.invalidateResource(event.namespace, event.uri, 'remote');
      else this.cache.invalidateNamespace(event.namespace, 'remote');
    } finally {
      this.applyingRemote = false;
    }
    this.logger.debug({ namespace: event.namespace, uri: event.uri }, 'cache invalidated by another instance');
  }
}
