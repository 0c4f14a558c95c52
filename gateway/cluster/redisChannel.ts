import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from '../../shared/logger.js';

/**
 * One Redis publish/subscribe channel between the gateway instances of a cluster: events
 * are JSON objects stamped with the instance that published them, and an instance does not
 * hear its own. Delivery is at most once (pub/sub keeps nothing for an instance that is not
 * listening), which suits hints that are safe to miss or repeat.
 */
export class RedisChannel<Event extends object> {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly instance = randomUUID();

  private constructor(
    url: string,
    private readonly name: string,
    private readonly logger: Logger,
  ) {
    this.publisher = new Redis(url, { maxRetriesPerRequest: 2 });
    this.subscriber = new Redis(url, { maxRetriesPerRequest: 2 });
  }

  /** Join `name`; `receive` gets every event another instance publishes, parsed, with that instance's id. */
  static async open<Event extends object>(url: string, name: string, receive: (event: Partial<Event>, from: string) => void, logger: Logger): Promise<RedisChannel<Event>> {
    const channel = new RedisChannel<Event>(url, name, logger);
    await channel.subscriber.subscribe(name);
    channel.subscriber.on('message', (_name: string, message: string) => {
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
    this.publisher
      .publish(this.name, JSON.stringify({ ...event, from: this.instance }))
      .catch((error: unknown) => this.logger.warn({ err: error, channel: this.name }, 'event not shared with the other instances'));
  }

  async close(): Promise<void> {
    await this.subscriber.quit().catch(() => undefined);
    await this.publisher.quit().catch(() => undefined);
  }
}
