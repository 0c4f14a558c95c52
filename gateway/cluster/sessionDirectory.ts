import { Redis } from 'ioredis';

/** Where a session is served: the aggregate, one upstream, or a curated view. */
export type SessionViewKey = { kind: 'aggregate' } | { kind: 'server'; namespace: string } | { kind: 'view'; name: string };

/**
 * What another instance needs to continue a session: who owns it, what it sees, and the
 * client's side of the initialize handshake (protocol version, capabilities, client info),
 * plus what the client asked for since (log level, subscriptions).
 */
export interface SessionRecord {
  id: string;
  user: string;
  view: SessionViewKey;
  initialize: { protocolVersion: string; capabilities: Record<string, unknown>; clientInfo: { name: string; version: string } };
  logLevel?: string;
  /** Subscribed resource URIs, as the client named them. */
  subscriptions: string[];
}

export interface SessionDirectory {
  save(record: SessionRecord, ttlMs: number): Promise<void>;
  load(id: string): Promise<SessionRecord | undefined>;
  remove(id: string): Promise<void>;
  close(): Promise<void>;
}

/** Session records in Redis, one key each, expiring after the idle timeout (renewed on use). */
export class RedisSessionDirectory implements SessionDirectory {
  private readonly redis: Redis;

  constructor(url: string, private readonly prefix = 'manifold:session:') {
    this.redis = new Redis(url, { maxRetriesPerRequest: 2 });
  }

  async save(record: SessionRecord, ttlMs: number): Promise<void> {
    await this.redis.set(`${this.prefix}${record.id}`, JSON.stringify(record), 'PX', ttlMs);
  }

  async load(id: string): Promise<SessionRecord | undefined> {
    const raw = await this.redis.get(`${this.prefix}${id}`);
    return raw ? (JSON.parse(raw) as SessionRecord) : undefined;
  }

  async remove(id: string): Promise<void> {
    await this.redis.del(`${this.prefix}${id}`);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => undefined);
  }
}
