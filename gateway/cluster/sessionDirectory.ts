import type { Logger } from '../../shared/logger.js';
import { RedisChannel } from './redisChannel.js';
import type { RedisFallback, RedisLink } from '../redis/redisLink.js';

export type { SessionDirectory, SessionRecord, SessionViewKey } from '../session/clusterPorts.js';
import type { SessionDirectory, SessionRecord } from '../session/clusterPorts.js';

/**
 * Session records in Redis, one key each, expiring after the idle timeout (renewed on use).
 * While Redis is unreachable a session stays with the instance that holds it: loads find
 * nothing (another instance answers 404 and the client opens a new session), and what would
 * have been saved or removed is kept and written when Redis is back, so that sessions opened
 * during the outage continue on any instance again.
 *
 * Every instance a session's requests reached holds a copy of it; when the client ends the
 * session (DELETE) on one instance, the others are told on a channel and close theirs, so a
 * deleted session is not usable elsewhere and its copies do not count against the user's
 * session cap until they idle out.
 */
export class RedisSessionDirectory implements SessionDirectory {
  /** Writes owed to Redis since it became unreachable, by session: the latest record, or a removal. */
  private readonly owed = new Map<string, { record: SessionRecord; ttlMs: number; until: number } | 'removed'>();
  private endedElsewhere: (id: string) => void = () => undefined;

  private constructor(
    private readonly link: RedisLink,
    private readonly endings: RedisChannel<{ ended: string }>,
    private readonly prefix: string,
  ) {
    link.onChange((up) => {
      if (up) void this.settleOwed();
    });
  }

  static async connect(link: RedisLink, logger: Logger, options: { prefix?: string; channel?: string } = {}): Promise<RedisSessionDirectory> {
    const made: { directory?: RedisSessionDirectory } = {};
    const endings = await RedisChannel.open<{ ended: string }>(
      link,
      options.channel ?? 'manifold:session-endings',
      (event) => {
        if (typeof event.ended === 'string') made.directory?.endedElsewhere(event.ended);
      },
      logger,
    );
    made.directory = new RedisSessionDirectory(link, endings, options.prefix ?? 'manifold:session:');
    return made.directory;
  }

  /** Close this instance's copy of a session another instance's client ended. */
  onEndedElsewhere(listener: (id: string) => void): void {
    this.endedElsewhere = listener;
  }

  async save(record: SessionRecord, ttlMs: number): Promise<void> {
    if (!this.link.up) {
      this.owe(record.id, { record, ttlMs, until: Date.now() + ttlMs }, 'session_save');
      return;
    }
    await this.link.commands.set(`${this.prefix}${record.id}`, JSON.stringify(record), 'PX', ttlMs).catch((error: unknown) => {
      this.owe(record.id, { record, ttlMs, until: Date.now() + ttlMs }, 'session_save');
      throw error;
    });
  }

  async load(id: string): Promise<SessionRecord | undefined> {
    if (!this.link.up) {
      this.link.fellBack('session_load');
      return undefined;
    }
    const raw = await this.link.commands.get(`${this.prefix}${id}`);
    return raw ? (JSON.parse(raw) as SessionRecord) : undefined;
  }

  async remove(id: string): Promise<void> {
    if (!this.link.up) {
      this.owe(id, 'removed', 'session_save');
      return;
    }
    this.endings.publish({ ended: id });
    await this.link.commands.del(`${this.prefix}${id}`).catch((error: unknown) => {
      this.owe(id, 'removed', 'session_save');
      throw error;
    });
  }

  async close(): Promise<void> {
    this.owed.clear();
    await this.endings.close();
  }

  private owe(id: string, write: { record: SessionRecord; ttlMs: number; until: number } | 'removed', feature: RedisFallback): void {
    this.link.fellBack(feature);
    this.owed.set(id, write);
  }

  /** Write what was kept while Redis was unreachable (records that have not expired meanwhile). */
  private async settleOwed(): Promise<void> {
    const owed = [...this.owed];
    this.owed.clear();
    const now = Date.now();
    for (const [id, write] of owed) {
      const key = `${this.prefix}${id}`;
      if (write === 'removed') this.endings.publish({ ended: id });
      const written =
        write === 'removed'
          ? this.link.commands.del(key)
          : write.until > now
            ? this.link.commands.set(key, JSON.stringify(write.record), 'PX', write.until - now)
            : undefined;
      // Failed again (Redis went away once more): keep it for the next reconnection.
      await written?.catch(() => {
        if (!this.owed.has(id)) this.owed.set(id, write);
      });
    }
  }
}
