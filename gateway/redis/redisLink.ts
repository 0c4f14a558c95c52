import { Redis, type RedisOptions } from 'ioredis';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../../shared/logger.js';

/** What a cluster feature did on its own because Redis could not be reached. */
export type RedisFallback = 'rate_limit' | 'session_save' | 'session_load' | 'event' | 'parked_call';

/** How long `open` waits for a first connection before serving as a single instance. */
const FIRST_CONNECTION_MS = 3_000;

/**
 * Commands fail at once while Redis is unreachable (no offline queue: a caller falls back
 * to what this instance knows instead of waiting), a command that gets no answer fails after
 * `commandTimeout`, and the connection is retried every 2 s at most, so the cluster comes
 * back by itself when Redis does.
 */
const CONNECTION: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  commandTimeout: 2_000,
  connectTimeout: 2_000,
  autoResubscribe: false,
  retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
};

interface Tracked {
  connection: Redis;
  /** A subscriber is up only once it has subscribed again after a reconnection. */
  subscribed: boolean;
  channels: readonly string[];
}

/**
 * The gateway's connections to the cluster's Redis (REDIS_URL), and whether they are up.
 * Every Redis client of the gateway is made here, so that one place says whether the
 * instance is part of a cluster right now: while any connection is down, features that
 * share state through Redis act for this instance alone (see docs/architecture/resilience.md), a warning
 * is logged once, `manifold_redis_up` is 0, and `manifold_redis_fallbacks_total` counts what
 * was done alone. When every connection is back, listeners of `onChange` restore what the
 * cluster shares (re-announcing interests, saving sessions opened meanwhile).
 */
export class RedisLink {
  private readonly tracked: Tracked[] = [];
  private readonly listeners: Array<(up: boolean) => void> = [];
  /** Resolvers of `settled` calls, run as soon as every connection is up. */
  private readonly waiters: Array<() => void> = [];
  private wasUp = false;
  private closing = false;
  /** Actions taken alone since start, by feature. */
  readonly fallbacks = new Map<RedisFallback, number>();
  private commandConnection: Redis | undefined;

  private constructor(
    readonly url: string,
    private readonly logger: Logger,
  ) {}

  /** Connect, waiting a few seconds at most: a Redis that is down at start leaves the instance serving alone until it comes. */
  static async open(url: string, logger: Logger, firstConnectionMs = FIRST_CONNECTION_MS): Promise<RedisLink> {
    const link = new RedisLink(url, logger);
    link.commandConnection = link.connection('commands');
    await link.settled(firstConnectionMs);
    if (!link.up) logger.warn({ redis: redactRedisUrl(url) }, 'cluster: Redis is not reachable yet; serving as a single instance until it is');
    return link;
  }

  /** The connection for commands (GET/SET/MULTI/PUBLISH), shared by every feature. */
  get commands(): Redis {
    return this.commandConnection!;
  }

  get up(): boolean {
    return !this.closing && this.tracked.length > 0 && this.tracked.every((t) => t.connection.status === 'ready' && t.subscribed);
  }

  /** Told when the link goes down (false) and when it is back (true). */
  onChange(listener: (up: boolean) => void): void {
    this.listeners.push(listener);
  }

  /** Count something a feature did alone because Redis was unreachable. */
  fellBack(feature: RedisFallback): void {
    this.fallbacks.set(feature, (this.fallbacks.get(feature) ?? 0) + 1);
  }

  /**
   * A connection subscribed to `channels`, subscribed again after every reconnection;
   * resolves once subscribed (at most `waitMs`), or at once while Redis is unreachable.
   */
  async subscriber(channels: readonly string[], onMessage: (channel: string, message: string) => void, waitMs = FIRST_CONNECTION_MS): Promise<Redis> {
    const connection = this.connection('subscriber', channels);
    connection.on('message', onMessage);
    if (this.commands.status === 'ready') await this.settled(waitMs);
    return connection;
  }

  /** `manifold_redis_up` and `manifold_redis_fallbacks_total{feature}` on the gateway's /metrics. */
  registerMetrics(registry: Registry): void {
    const isUp = (): boolean => this.up;
    const fallbacks = this.fallbacks;
    new Gauge({
      name: 'manifold_redis_up',
      help: "1 while this instance is connected to the cluster's Redis; 0 while it serves as a single instance",
      registers: [registry],
      collect() {
        this.set(isUp() ? 1 : 0);
      },
    });
    const reported = new Map<RedisFallback, number>();
    new Counter({
      name: 'manifold_redis_fallbacks_total',
      help: 'Actions this instance took alone because Redis was unreachable, by feature',
      labelNames: ['feature'],
      registers: [registry],
      collect() {
        for (const [feature, count] of fallbacks) {
          this.inc({ feature }, count - (reported.get(feature) ?? 0));
          reported.set(feature, count);
        }
      },
    });
  }

  /** Close one subscriber (a feature shutting down) without counting it as an outage. */
  async release(connection: Redis): Promise<void> {
    const index = this.tracked.findIndex((t) => t.connection === connection);
    if (index >= 0) this.tracked.splice(index, 1);
    await connection.quit().catch(() => connection.disconnect());
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.tracked.map(({ connection }) => connection.quit().catch(() => connection.disconnect())));
  }

  private connection(role: 'commands' | 'subscriber', channels: readonly string[] = []): Redis {
    const connection = new Redis(this.url, { ...CONNECTION, connectionName: `manifold-${role}` });
    const tracked: Tracked = { connection, subscribed: channels.length === 0, channels };
    this.tracked.push(tracked);
    connection.on('ready', () => {
      if (channels.length === 0) {
        this.update();
        return;
      }
      connection
        .subscribe(...channels)
        .then(() => {
          tracked.subscribed = true;
          this.update();
        })
        .catch((error: unknown) => this.logger.warn({ err: error, channels }, 'cluster: could not subscribe; retrying on the next connection'));
    });
    connection.on('close', () => {
      if (channels.length > 0) tracked.subscribed = false;
      this.update();
    });
    // Errors are reported once per outage by update(); ioredis retries on its own.
    connection.on('error', () => undefined);
    return connection;
  }

  private update(): void {
    const up = this.up;
    if (up) for (const waiter of this.waiters.splice(0)) waiter();
    if (up === this.wasUp || this.closing) return;
    this.wasUp = up;
    if (up)
      this.logger.info(
        { redis: redactRedisUrl(this.url) },
        'cluster: Redis reachable; sessions, limits, cache invalidations and resource updates shared again',
      );
    else
      this.logger.warn(
        { redis: redactRedisUrl(this.url) },
        'cluster: Redis unreachable; serving as a single instance (limits counted here, sessions kept here, no cross-instance updates) until it is back',
      );
    for (const listener of [...this.listeners]) {
      try {
        listener(up);
      } catch (error) {
        this.logger.error({ err: error }, 'cluster: a listener failed on a Redis state change');
      }
    }
  }

  /** Resolves when every connection is up, or after `ms`. */
  private async settled(ms: number): Promise<void> {
    if (this.up) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(done), 1);
        resolve();
      }, ms);
      timer.unref();
      this.waiters.push(done);
    });
  }
}

/** A Redis URL without its password, for logs. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable Redis URL)';
  }
}
