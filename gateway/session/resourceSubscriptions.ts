import type { Logger } from '../../shared/logger.js';
import type { UpstreamConnection } from '../upstreams/upstreamConnection.js';
import type { ClientSession } from './clientSession.js';

interface Subscription {
  upstream: UpstreamConnection;
  uri: string;
  /** Each subscribed session and the URI it knows the resource by. */
  sessions: Map<ClientSession, string>;
}

/**
 * resources/subscribe across sessions sharing one upstream connection: the upstream is
 * subscribed once per URI while any session wants it, and `notifications/resources/updated`
 * is delivered only to the sessions subscribed to that URI (MCP spec, server/resources).
 */
export class ResourceSubscriptions {
  private readonly byKey = new Map<string, Subscription>();

  constructor(private readonly logger: Logger) {}

  static key(namespace: string, uri: string): string {
    return `${namespace}\n${uri}`;
  }

  async subscribe(session: ClientSession, upstream: UpstreamConnection, uri: string, exposedUri: string): Promise<void> {
    const key = ResourceSubscriptions.key(upstream.namespace, uri);
    let subscription = this.byKey.get(key);
    if (!subscription) {
      await upstream.forward('resources/subscribe', { uri }, undefined);
      subscription = this.byKey.get(key) ?? { upstream, uri, sessions: new Map() };
      this.byKey.set(key, subscription);
    }
    subscription.sessions.set(session, exposedUri);
    session.subscriptions.add(key);
  }

  async unsubscribe(session: ClientSession, namespace: string, uri: string): Promise<void> {
    await this.drop(session, ResourceSubscriptions.key(namespace, uri));
  }

  private async drop(session: ClientSession, key: string): Promise<void> {
    session.subscriptions.delete(key);
    const subscription = this.byKey.get(key);
    if (!subscription || !subscription.sessions.delete(session) || subscription.sessions.size > 0) return;
    this.byKey.delete(key);
    if (subscription.upstream.state !== 'ready') return;
    try {
      await subscription.upstream.forward('resources/unsubscribe', { uri: subscription.uri }, undefined);
    } catch (error) {
      this.logger.debug({ err: error, upstream: subscription.upstream.namespace }, 'resources/unsubscribe failed upstream');
    }
  }

  /** Sessions subscribed to `uri` of `namespace`, with the URI each knows it by. */
  subscribers(namespace: string, uri: string): ReadonlyMap<ClientSession, string> | undefined {
    return this.byKey.get(ResourceSubscriptions.key(namespace, uri))?.sessions;
  }

  async dropSession(session: ClientSession): Promise<void> {
    await Promise.all([...session.subscriptions].map((key) => this.drop(session, key)));
  }

  /** After an upstream (re)connects, renew its subscriptions: a new process knows none. */
  async renew(upstream: UpstreamConnection): Promise<void> {
    for (const subscription of this.byKey.values()) {
      if (subscription.upstream !== upstream) continue;
      try {
        await upstream.forward('resources/subscribe', { uri: subscription.uri }, undefined);
      } catch (error) {
        this.logger.warn({ err: error, upstream: upstream.namespace, uri: subscription.uri }, 'renewing a resource subscription failed');
      }
    }
  }
}
