import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from '../../shared/logger.js';
import type { ResponseCache } from '../policy/responseCache.js';

const CHANNEL = 'manifold:cache-invalidations';

interface Invalidation {
  from: string;
  namespace: string;
  uri?: string;
}

/**
 * Cache invalidations shared between instances over Redis publish/subscribe: what one
 * instance invalidates (a write through it, an upstream notification it received), every
 * other instance invalidates too, so no instance serves a result another has made stale.
 */
export class CacheInvalidationBus {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly instance = randomUUID();
  private applyingRemote = false;

  private constructor(url: string, private readonly cache: ResponseCache, private readonly logger: Logger) {
    this.publisher = new Redis(url, { maxRetriesPerRequest: 2 });
    this.subscriber = new Redis(url, { maxRetriesPerRequest: 2 });
  }

  static async connect(url: string, cache: ResponseCache, logger: Logger): Promise<CacheInvalidationBus> {
    const bus = new CacheInvalidationBus(url, cache, logger);
    await bus.subscriber.subscribe(CHANNEL);
    bus.subscriber.on('message', (_channel: string, message: string) => bus.apply(message));
    cache.onInvalidate((namespace, uri) => {
      if (bus.applyingRemote) return;
      const event: Invalidation = { from: bus.instance, namespace, ...(uri ? { uri } : {}) };
      bus.publisher.publish(CHANNEL, JSON.stringify(event)).catch((error: unknown) => logger.warn({ err: error }, 'cache invalidation not shared'));
    });
    return bus;
  }

  private apply(message: string): void {
    let event: Invalidation;
    try {
      event = JSON.parse(message) as Invalidation;
    } catch {
      return;
    }
    if (event.from === this.instance || typeof event.namespace !== 'string') return;
    this.applyingRemote = true;
    try {
      if (event.uri) this.cache.invalidateResource(event.namespace, event.uri, 'remote');
      else this.cache.invalidateNamespace(event.namespace, 'remote');
    } finally {
      this.applyingRemote = false;
    }
    this.logger.debug({ namespace: event.namespace, uri: event.uri }, 'cache invalidated by another instance');
  }

  async close(): Promise<void> {
    await this.subscriber.quit().catch(() => undefined);
    await this.publisher.quit().catch(() => undefined);
  }
}
