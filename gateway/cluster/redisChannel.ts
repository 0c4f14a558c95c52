import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../../shared/logger.js';
import type { RedisLink } from '../redis/redisLink.js';

/**
 * One Redis publish/subscribe channel between the gateway instances of a cluster: events
 * are JSON objects stamped with the instance that published them, and an instance does not
 * hear its own. Delivery is at most once (pub/sub keeps nothing for an instance that is not
 * listening), which suits hints that are safe to miss or repeat; while Redis is unreachable
 * events are dropped (counted as fallbacks), not queued to arrive late.
 */
export class RedisChannel<Event extends object> {
  private readonly instance = randomUUID();
  private subscriber: Redis | undefined;

  private constructor(
    private readonly link: RedisLink,
    private readonly name: string,
    private readonly logger: Logger,
  ) {}

  /** Join `name`; `receive` gets every event another instance publishes, parsed, with that instance's id. */
  static async open<Event extends object>(
    link: RedisLink,
    name: string,
    receive: (event: Partial<Event>, from: string) => void,
    logger: Logger,
  ): Promise<RedisChannel<Event>> {
    const channel = new RedisChannel<Event>(link, name, logger);
    channel.subscriber = await link.subscriber([name], (_name: string, message: string) => {
      let event: { from?: unknown } & Partial<Event>;
      try {
        event = JSON.parse(message) as { from?: unknown } & Partial<Event>;
      } catch {
        return;
      }
      if (typeof event !== 'object' || event === null || typeof event.from !== 'string' || event.from === channel.instance) return;
      receive(event, event.from);
    });
    return channel;
  }

  publish(event: Event): void {
    if (!this.link.up) {
      this.link.fellBack('event');
      return;
    }
    this.link.commands
      .publish(this.name, JSON.stringify({ ...event, from: this.instance }))
      .catch((error: unknown) => this.logger.warn({ err: error, channel: this.name }, 'event not shared with the other instances'));
  }

  async close(): Promise<void> {
    if (this.subscriber) await this.link.release(this.subscriber);
  }
}
