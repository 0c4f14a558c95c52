import type { Logger } from '../../shared/logger.js';
import type { Upstream } from '../upstreams/types.js';

/** Who may be subscribed to resources: a 2025-era session, or a 2026-07-28 listen stream. */
export interface ResourceSubscriber {
  /** Subscription keys (`ResourceSubscriptions.key`) the subscriber holds. */
  readonly subscriptions: Set<string>;
  /** Tell it that the resource it knows as `exposedUri` changed. */
  resourceUpdated(exposedUri: string): void;
}

interface Subscription {
  upstream: Upstream;
  uri: string;
  /** Each subscriber (session or listen stream) and the URI it knows the resource by. */
  sessions: Map<ResourceSubscriber, string>;
  /** Other gateway instances with subscribed sessions, for which this instance's upstream is subscribed too. */
  instances: Set<string>;
}

/** Whether this instance has sessions subscribed to a resource; other instances are told. */
export type LocalInterestListener = (namespace: string, uri: string, interested: boolean) => void;

/**
 * resources/subscribe across sessions sharing one upstream connection: the upstream is
 * subscribed once per URI while any session wants it, and `notifications/resources/updated`
 * is delivered only to the sessions subscribed to that URI (MCP spec, server/resources).
 *
 * In a cluster the upstream is also kept subscribed while another instance has subscribed
 * sessions (`holdForInstance`): a change made through this instance's child is then seen and
 * passed on to them.
 */
export class ResourceSubscriptions {
  private readonly byKey = new Map<string, Subscription>();
  private interestListener: LocalInterestListener | undefined;

  constructor(private readonly logger: Logger) {}

  static key(namespace: string, uri: string): string {
    return `${namespace}\n${uri}`;
  }

  onLocalInterest(listener: LocalInterestListener): void {
    this.interestListener = listener;
  }

  async subscribe(session: ResourceSubscriber, upstream: Upstream, uri: string, exposedUri: string): Promise<void> {
    const subscription = await this.hold(upstream, uri);
    const first = subscription.sessions.size === 0;
    subscription.sessions.set(session, exposedUri);
    session.subscriptions.add(ResourceSubscriptions.key(upstream.namespace, uri));
    if (first) this.interestListener?.(upstream.namespace, uri, true);
  }

  async unsubscribe(session: ResourceSubscriber, namespace: string, uri: string): Promise<void> {
    await this.drop(session, ResourceSubscriptions.key(namespace, uri));
  }

  /** Keep `upstream` subscribed to `uri` for another instance's sessions, or stop (`held` false). */
  async holdForInstance(instance: string, upstream: Upstream, uri: string, held: boolean): Promise<void> {
    const key = ResourceSubscriptions.key(upstream.namespace, uri);
    if (held) {
      if (this.byKey.get(key)?.instances.has(instance)) return;
      (await this.hold(upstream, uri)).instances.add(instance);
      return;
    }
    const subscription = this.byKey.get(key);
    if (!subscription?.instances.delete(instance)) return;
    await this.releaseIfUnused(key, subscription);
  }

  /** Resources this instance's sessions are subscribed to. */
  localInterests(): Array<{ namespace: string; uri: string }> {
    return [...this.byKey.values()].filter((s) => s.sessions.size > 0).map((s) => ({ namespace: s.upstream.namespace, uri: s.uri }));
  }

  /** Sessions subscribed to `uri` of `namespace`, with the URI each knows it by. */
  subscribers(namespace: string, uri: string): ReadonlyMap<ResourceSubscriber, string> | undefined {
    return this.byKey.get(ResourceSubscriptions.key(namespace, uri))?.sessions;
  }

  async dropSession(session: ResourceSubscriber): Promise<void> {
    await Promise.all([...session.subscriptions].map((key) => this.drop(session, key)));
  }

  /** After an upstream (re)connects, renew its subscriptions: a new process knows none. */
  async renew(upstream: Upstream): Promise<void> {
    for (const subscription of this.byKey.values()) {
      if (subscription.upstream !== upstream) continue;
      try {
        await upstream.subscribeResource(subscription.uri);
      } catch (error) {
        this.logger.warn({ err: error, upstream: upstream.namespace, uri: subscription.uri }, 'renewing a resource subscription failed');
      }
    }
  }

  /** The subscription of `uri`, subscribing the upstream first if nobody held it. */
  private async hold(upstream: Upstream, uri: string): Promise<Subscription> {
    const key = ResourceSubscriptions.key(upstream.namespace, uri);
    const existing = this.byKey.get(key);
    if (existing) return existing;
    await upstream.subscribeResource(uri);
    const subscription = this.byKey.get(key) ?? { upstream, uri, sessions: new Map(), instances: new Set() };
    this.byKey.set(key, subscription);
    return subscription;
  }

  private async drop(session: ResourceSubscriber, key: string): Promise<void> {
    session.subscriptions.delete(key);
    const subscription = this.byKey.get(key);
    if (!subscription || !subscription.sessions.delete(session) || subscription.sessions.size > 0) return;
    this.interestListener?.(subscription.upstream.namespace, subscription.uri, false);
    await this.releaseIfUnused(key, subscription);
  }

  private async releaseIfUnused(key: string, subscription: Subscription): Promise<void> {
    if (subscription.sessions.size > 0 || subscription.instances.size > 0 || this.byKey.get(key) !== subscription) return;
    this.byKey.delete(key);
    if (subscription.upstream.state !== 'ready') return;
    try {
      await subscription.upstream.unsubscribeResource(subscription.uri);
    } catch (error) {
      this.logger.debug({ err: error, upstream: subscription.upstream.namespace }, 'resources/unsubscribe failed upstream');
    }
  }
}
