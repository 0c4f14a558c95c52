import type { Logger } from '../../shared/logger.js';
import { CacheInvalidationBus } from '../cluster/cacheInvalidationBus.js';
import { ParkedCallRelay } from '../cluster/parkedCallRelay.js';
import { ResourceUpdateBus } from '../cluster/resourceUpdateBus.js';
import { RedisSessionDirectory } from '../cluster/sessionDirectory.js';
import type { GatewayConfig } from '../config/schema.js';
import type { ResponseCache } from '../policy/responseCache.js';
import type { RedisLink } from '../redis/redisLink.js';
import type { ParkedCalls } from '../session/parkedCalls.js';

/** What a gateway instance shares with the others of its cluster, and how to stop sharing. */
export interface ClusterWiring {
  link: RedisLink;
  sessions: RedisSessionDirectory;
  resourceUpdates: ResourceUpdateBus;
  /** A 2026 client's retry of a bridged call may reach another instance than the one holding it. */
  relayParkedCalls(parked: ParkedCalls): Promise<ParkedCallRelay>;
  close(): Promise<void>;
}

/**
 * With `cluster.redis`, share session state, cache invalidations and resource updates with the
 * other instances through Redis (each falls back to this instance alone while Redis is down).
 */
export async function joinCluster(link: RedisLink, config: GatewayConfig, cache: ResponseCache, logger: Logger): Promise<ClusterWiring> {
  const sessions = await RedisSessionDirectory.connect(link, logger);
  const invalidations = await CacheInvalidationBus.connect(
    link,
    cache,
    config.upstreams.map((upstream) => upstream.namespace),
    logger,
  );
  const resourceUpdates = await ResourceUpdateBus.connect(link, logger);
  logger.info('cluster: sessions, rate limits, cache invalidations and resource updates shared through Redis');
  return {
    link,
    sessions,
    resourceUpdates,
    relayParkedCalls: (parked) => ParkedCallRelay.connect(link, parked, logger),
    close: async () => {
      await resourceUpdates.close();
      await invalidations.close();
      await sessions.close();
    },
  };
}
