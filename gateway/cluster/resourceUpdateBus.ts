import type { Logger } from '../../shared/logger.js';
import type { ListKind, UpstreamListener } from '../upstreams/types.js';
import { RedisChannel } from './redisChannel.js';
import type { RedisLink } from '../redis/redisLink.js';

type Message =
  | { type: 'updated'; namespace: string; uri: string }
  | { type: 'interest'; namespace: string; uri: string; interested: boolean }
  | { type: 'lists'; namespace: string; kinds: ListKind[] }
  | { type: 'session'; session: string; message: Record<string, unknown> }
  | { type: 'client'; session: string; message: Record<string, unknown> }
  | { type: 'hello' };

export type { ClusterResourceHost } from '../session/clusterPorts.js';
import type { ClusterResourceHost } from '../session/clusterPorts.js';

const LIST_KINDS: ReadonlySet<string> = new Set(['tools', 'prompts', 'resources', 'resourceTemplates']);

export interface ResourceUpdateTiming {
  /** How often an instance repeats which resources its sessions are subscribed to. */
  reannounceMs: number;
  /** Another instance's interest not repeated for this long is dropped (it has stopped or crashed). */
  expireMs: number;
}

const DEFAULT_TIMING: ResourceUpdateTiming = { reannounceMs: 30_000, expireMs: 90_000 };

/**
 * Resource subscriptions and list changes across the instances of a cluster. Each instance runs
 * its own children, and a child announces only changes made through it, and only for resources
 * it was asked to watch. So an instance whose clients subscribe to a resource tells the others
 * (`interest`), each of them subscribes its own child too, and whatever change a child
 * announces (`updated`, `lists`) reaches the clients of every instance. A 2025 session may have
 * its GET stream on one instance and subscribe through another: what a session's copy cannot
 * deliver goes to the instance holding the stream (`session`). Interest is
 * repeated every `reannounceMs` and forgotten after `expireMs` without news (an instance
 * that stopped), and a new instance asks the others to repeat theirs (`hello`), as does an
 * instance whose connection to Redis comes back after an outage (events sent meanwhile are lost).
 */
export class ResourceUpdateBus {
  private host: ClusterResourceHost | undefined;
  /** Other instances' interests, by instance and resource, with when each was last heard. */
  private readonly remote = new Map<string, { instance: string; namespace: string; uri: string; heardAt: number }>();
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly channel: RedisChannel<Message>,
    private readonly timing: ResourceUpdateTiming,
  ) {}

  static async connect(link: RedisLink, logger: Logger, options: { timing?: ResourceUpdateTiming; channel?: string } = {}): Promise<ResourceUpdateBus> {
    // Events are delivered in later turns of the event loop, after the bus is made.
    const made: { bus?: ResourceUpdateBus } = {};
    const channel = await RedisChannel.open<Message>(
      link,
      options.channel ?? 'manifold:resource-updates',
      (event, from) => made.bus?.receive(event, from),
      logger,
    );
    const created = new ResourceUpdateBus(channel, options.timing ?? DEFAULT_TIMING);
    made.bus = created;
    // Back from an outage: announce this instance's interests and ask the others for theirs.
    link.onChange((up) => {
      if (!up || !created.host) return;
      created.channel.publish({ type: 'hello' });
      created.announce(created.host);
    });
    return created;
  }

  /** Serve `host`: share its sessions' interests and deliver the other instances' updates to it. */
  attach(host: ClusterResourceHost): void {
    this.host = host;
    host.onLocalInterest((namespace, uri, interested) => this.channel.publish({ type: 'interest', namespace, uri, interested }));
    host.onUndeliveredSessionMessage((session, message) => this.channel.publish({ type: 'session', session, message }));
    host.onForeignClientMessage((session, message) => this.channel.publish({ type: 'client', session, message }));
    this.channel.publish({ type: 'hello' });
    this.timer = setInterval(() => this.sweep(), this.timing.reannounceMs);
    this.timer.unref();
  }

  /** Observes this instance's upstreams and shares what they announce. */
  readonly observer: Partial<UpstreamListener> = {
    onResourceUpdated: (namespace, uri) => this.channel.publish({ type: 'updated', namespace, uri }),
    onListsChanged: (namespace, kinds) => this.channel.publish({ type: 'lists', namespace, kinds: [...kinds] }),
  };

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.channel.close();
  }

  private receive(event: Partial<Message>, from: string): void {
    const host = this.host;
    if (!host) return;
    if (event.type === 'hello') {
      this.announce(host);
      return;
    }
    if (event.type === 'session') {
      const { session, message } = event as { session?: unknown; message?: unknown };
      if (typeof session === 'string' && typeof message === 'object' && message !== null) host.deliverToSession(session, message as Record<string, unknown>);
      return;
    }
    if (event.type === 'client') {
      const { session, message } = event as { session?: unknown; message?: unknown };
      if (typeof session === 'string' && typeof message === 'object' && message !== null)
        host.deliverClientMessage(session, message as Record<string, unknown>);
      return;
    }
    if (event.type === 'lists') {
      const { namespace, kinds } = event as { namespace?: unknown; kinds?: unknown };
      if (typeof namespace !== 'string' || !Array.isArray(kinds)) return;
      host.deliverListsChanged(namespace, new Set(kinds.filter((kind): kind is ListKind => typeof kind === 'string' && LIST_KINDS.has(kind))));
      return;
    }
    const { namespace, uri } = event as { namespace?: unknown; uri?: unknown };
    if (typeof namespace !== 'string' || typeof uri !== 'string') return;
    if (event.type === 'updated') {
      host.deliver(namespace, uri);
    } else if (event.type === 'interest') {
      const key = `${from}\n${namespace}\n${uri}`;
      if (event.interested === true) this.remote.set(key, { instance: from, namespace, uri, heardAt: Date.now() });
      else this.remote.delete(key);
      host.holdForInstance(from, namespace, uri, event.interested === true);
    }
  }

  private announce(host: ClusterResourceHost): void {
    for (const { namespace, uri } of host.localInterests()) this.channel.publish({ type: 'interest', namespace, uri, interested: true });
  }

  /** Repeat this instance's interests; drop those of instances not heard from. */
  private sweep(): void {
    const host = this.host;
    if (!host) return;
    this.announce(host);
    const cutoff = Date.now() - this.timing.expireMs;
    for (const [key, interest] of this.remote) {
      if (interest.heardAt >= cutoff) continue;
      this.remote.delete(key);
      host.holdForInstance(interest.instance, interest.namespace, interest.uri, false);
    }
  }
}
