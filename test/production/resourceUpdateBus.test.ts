import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RedisLink } from '../../gateway/redis/redisLink.js';
import { ResourceUpdateBus, type ClusterResourceHost } from '../../gateway/cluster/resourceUpdateBus.js';
import type { LocalInterestListener } from '../../gateway/session/resourceSubscriptions.js';
import { createLogger } from '../../shared/logger.js';
import { REDIS_URL, redisAvailable } from '../support/redis.js';
import { waitFor } from '../support/waitFor.js';

const runnable = await redisAvailable('the resource update bus test');

/** One gateway instance as the bus sees it: its sessions' interests, and what the bus asked of it. */
class InstanceHost implements ClusterResourceHost {
  readonly delivered: string[] = [];
  readonly held = new Map<string, boolean>();
  readonly listsChanged: string[] = [];
  readonly sessionMessages: string[] = [];
  interests: Array<{ namespace: string; uri: string }> = [];
  private listener: LocalInterestListener | undefined;
  /** Hand a message one of this instance's sessions could not deliver to the others. */
  relay: ((session: string, message: Record<string, unknown>) => void) | undefined;

  deliverListsChanged(namespace: string, kinds: ReadonlySet<string>): void {
    this.listsChanged.push(`${namespace} ${[...kinds].sort().join(',')}`);
  }
  deliverToSession(session: string, message: Record<string, unknown>): void {
    this.sessionMessages.push(`${session} ${String(message.method)}`);
  }
  onUndeliveredSessionMessage(relay: (session: string, message: Record<string, unknown>) => void): void {
    this.relay = relay;
  }
  readonly clientMessages: string[] = [];
  /** Hand a client message for another instance's copy of a session to the others. */
  relayClient: ((session: string, message: Record<string, unknown>) => void) | undefined;
  deliverClientMessage(session: string, message: Record<string, unknown>): void {
    this.clientMessages.push(`${session} ${JSON.stringify(message)}`);
  }
  onForeignClientMessage(relay: (session: string, message: Record<string, unknown>) => void): void {
    this.relayClient = relay;
  }

  deliver(namespace: string, uri: string): void {
    this.delivered.push(`${namespace} ${uri}`);
  }
  holdForInstance(_instance: string, namespace: string, uri: string, held: boolean): void {
    this.held.set(`${namespace} ${uri}`, held);
  }
  localInterests(): Array<{ namespace: string; uri: string }> {
    return this.interests;
  }
  onLocalInterest(listener: LocalInterestListener): void {
    this.listener = listener;
  }
  /** A session of this instance subscribes (or the last one unsubscribes). */
  sessionsWatch(namespace: string, uri: string, watching: boolean): void {
    this.interests = watching ? [...this.interests, { namespace, uri }] : this.interests.filter((i) => i.namespace !== namespace || i.uri !== uri);
    this.listener?.(namespace, uri, watching);
  }
}

const buses: ResourceUpdateBus[] = [];
const links: RedisLink[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((bus) => bus.close()));
  await Promise.all(links.splice(0).map((link) => link.close()));
});

/** A channel of each test's own: gateways of other test files share the Redis server. */
let channel = '';
beforeEach(() => {
  channel = `manifold-test:resource-updates:${randomUUID()}`;
});

async function instance(timing = { reannounceMs: 30_000, expireMs: 90_000 }): Promise<{ bus: ResourceUpdateBus; host: InstanceHost }> {
  const logger = createLogger('test', 'silent');
  const link = await RedisLink.open(REDIS_URL, logger);
  links.push(link);
  const bus = await ResourceUpdateBus.connect(link, logger, { timing, channel });
  buses.push(bus);
  const host = new InstanceHost();
  return { bus, host };
}

describe.runIf(runnable)('resource subscriptions across the instances of a cluster', () => {
  it("has the other instances watch what one instance's sessions subscribe to, and stop when they unsubscribe", async () => {
    const a = await instance();
    const b = await instance();
    a.bus.attach(a.host);
    b.bus.attach(b.host);
    a.host.sessionsWatch('pm', 'project://status', true);
    await waitFor('b watching for a', () => b.host.held.get('pm project://status'), 3000);
    expect(a.host.held.size).toBe(0);
    a.host.sessionsWatch('pm', 'project://status', false);
    await waitFor('b no longer watching', () => b.host.held.get('pm project://status') === false, 3000);
  });

  it("delivers what one instance's upstream announces to the other instances only", async () => {
    const a = await instance();
    const b = await instance();
    a.bus.attach(a.host);
    b.bus.attach(b.host);
    a.bus.observer.onResourceUpdated?.('pm', 'project://status');
    await waitFor('delivery on b', () => b.host.delivered.length > 0, 3000);
    expect(b.host.delivered).toEqual(['pm project://status']);
    expect(a.host.delivered).toEqual([]);
  });

  it('tells an instance that joins later what is watched, and forgets an instance that stopped', async () => {
    const timing = { reannounceMs: 50, expireMs: 300 };
    const a = await instance(timing);
    a.bus.attach(a.host);
    a.host.sessionsWatch('docs', 'docs://index', true);
    const late = await instance(timing);
    late.bus.attach(late.host);
    await waitFor('the late instance watching', () => late.host.held.get('docs docs://index'), 3000);
    await a.bus.close();
    await waitFor('the interest of the stopped instance dropped', () => late.host.held.get('docs docs://index') === false, 3000);
  });

  it("passes an upstream's list changes to the other instances, and a session's undelivered message to the one holding its stream", async () => {
    const a = await instance();
    const b = await instance();
    a.bus.attach(a.host);
    b.bus.attach(b.host);
    a.bus.observer.onListsChanged?.('pm', new Set(['resources', 'resourceTemplates']));
    await waitFor('the list change on the other instance', () => b.host.listsChanged.length === 1);
    expect(b.host.listsChanged).toEqual(['pm resourceTemplates,resources']);
    expect(a.host.listsChanged).toEqual([]);

    b.host.relay?.('session-1', { jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri: 'pm+project://status' } });
    await waitFor('the relayed message on the other instance', () => a.host.sessionMessages.length === 1);
    expect(a.host.sessionMessages).toEqual(['session-1 notifications/resources/updated']);
    expect(b.host.sessionMessages).toEqual([]);
  });

  it("passes a client's answer that reached the wrong instance to the others, where the copy of the session that asked takes it", async () => {
    const a = await instance();
    const b = await instance();
    a.bus.attach(a.host);
    b.bus.attach(b.host);
    const answer = { jsonrpc: '2.0', id: '1f2e3d4c.0', result: { action: 'accept', content: { confirm: true } } };
    b.host.relayClient?.('session-2', answer);
    await waitFor('the relayed answer on the other instance', () => a.host.clientMessages.length === 1);
    expect(a.host.clientMessages).toEqual([`session-2 ${JSON.stringify(answer)}`]);
    expect(b.host.clientMessages).toEqual([]);
  });
});
