import type { ServerResponse } from 'node:http';
import { KeyCounts } from '../../shared/keyCounts.js';
import type { Logger } from '../../shared/logger.js';
import type { AccessPolicy } from '../auth/accessPolicy.js';
import type { CatalogView } from '../catalog/upstreamCatalog.js';
import type { ModernRequestClient } from './modernRequestClient.js';
import type { ResourceSubscriber, ResourceSubscriptions } from './resourceSubscriptions.js';

const SUBSCRIPTION_ID_KEY = 'io.modelcontextprotocol/subscriptionId';
const SERVER_INFO_KEY = 'io.modelcontextprotocol/serverInfo';
const KEEP_ALIVE_MS = 15_000;

/** What a client asks to hear on a `subscriptions/listen` stream (MCP 2026-07-28). */
export interface ListenFilter {
  toolsListChanged?: boolean;
  promptsListChanged?: boolean;
  resourcesListChanged?: boolean;
  resourceSubscriptions?: string[];
}

/** Which lists of a view changed. */
export interface ListChanges {
  tools: boolean;
  prompts: boolean;
  resources: boolean;
}

/** The filter in a listen request's params, or a sentence saying what is wrong with it. */
export function parseListenFilter(params: Record<string, unknown>): ListenFilter | string {
  const value = params.notifications;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'params.notifications must be an object naming what to hear (toolsListChanged, promptsListChanged, resourcesListChanged, resourceSubscriptions)';
  }
  const raw = value as Record<string, unknown>;
  const filter: ListenFilter = {};
  for (const key of ['toolsListChanged', 'promptsListChanged', 'resourcesListChanged'] as const) {
    if (raw[key] === undefined) continue;
    if (typeof raw[key] !== 'boolean') return `params.notifications.${key} must be true or false`;
    filter[key] = raw[key];
  }
  if (raw.resourceSubscriptions !== undefined) {
    if (!Array.isArray(raw.resourceSubscriptions) || !raw.resourceSubscriptions.every((uri) => typeof uri === 'string')) {
      return 'params.notifications.resourceSubscriptions must be an array of resource URIs';
    }
    filter.resourceSubscriptions = [...new Set(raw.resourceSubscriptions as string[])];
  }
  return filter;
}

/** One open listen stream: a subscriber of resources and of its view's list changes. */
class ListenStream implements ResourceSubscriber {
  readonly subscriptions = new Set<string>();
  private acknowledged = false;
  private readonly early: Array<{ method: string; params: Record<string, unknown> }> = [];
  private readonly keepAlive: NodeJS.Timeout;

  constructor(
    readonly subscriptionId: string | number,
    readonly view: CatalogView,
    private readonly res: ServerResponse,
    private readonly serverInfo: { name: string; version: string },
    public honored: ListenFilter,
  ) {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache, no-transform', Connection: 'keep-alive' });
    res.flushHeaders();
    this.keepAlive = setInterval(() => res.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
    this.keepAlive.unref();
  }

  acknowledge(): void {
    this.write({ method: 'notifications/subscriptions/acknowledged', params: { notifications: this.honored } });
    this.acknowledged = true;
    for (const event of this.early.splice(0)) this.write(event);
  }

  resourceUpdated(exposedUri: string): void {
    this.send('notifications/resources/updated', { uri: exposedUri });
  }

  listsChanged(changes: ListChanges): void {
    if (changes.tools && this.honored.toolsListChanged) this.send('notifications/tools/list_changed', {});
    if (changes.prompts && this.honored.promptsListChanged) this.send('notifications/prompts/list_changed', {});
    if (changes.resources && this.honored.resourcesListChanged) this.send('notifications/resources/list_changed', {});
  }

  /** Closed by the server (shutdown): the empty result is the graceful-close signal. */
  closeGracefully(): void {
    clearInterval(this.keepAlive);
    if (this.res.destroyed) return;
    const result = { resultType: 'complete', _meta: { [SUBSCRIPTION_ID_KEY]: this.subscriptionId, [SERVER_INFO_KEY]: this.serverInfo } };
    this.res.end(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: this.subscriptionId, result })}\n\n`);
  }

  stop(): void {
    clearInterval(this.keepAlive);
  }

  private send(method: string, params: Record<string, unknown>): void {
    if (!this.acknowledged) {
      this.early.push({ method, params });
      return;
    }
    this.write({ method, params });
  }

  private write(notification: { method: string; params: Record<string, unknown> }): void {
    if (this.res.destroyed) return;
    const params = { ...notification.params, _meta: { [SUBSCRIPTION_ID_KEY]: this.subscriptionId } };
    this.res.write(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', method: notification.method, params })}\n\n`);
  }
}

export interface ListenStreamsDeps {
  subscriptions: ResourceSubscriptions;
  access: AccessPolicy;
  logger: Logger;
  /** Most listen streams open at once on this instance. */
  maxStreams: number;
  /** Most listen streams one user may have open at once on this instance. */
  maxStreamsPerUser: number;
}

/**
 * The open `subscriptions/listen` streams of 2026-07-28 clients. A stream hears its view's list
 * changes and the resources it names, through the same subscriptions as 2025 sessions (one
 * upstream subscription per resource, shared across instances by the cluster bus). Resources the
 * caller may not read, and filters the view cannot honour, are left out of the acknowledged filter.
 */
export class ListenStreams {
  private readonly open = new Set<ListenStream>();
  private readonly perUser = new KeyCounts();

  constructor(private readonly deps: ListenStreamsDeps) {}

  get size(): number {
    return this.open.size;
  }

  get isFull(): boolean {
    return this.open.size >= this.deps.maxStreams;
  }

  /** Listen streams `user` has open on this instance. */
  openFor(user: string): number {
    return this.perUser.get(user);
  }

  /** The most `openFor` may be. */
  get perUserCap(): number {
    return this.deps.maxStreamsPerUser;
  }

  /** Open a stream on `res` and acknowledge what it will deliver; resolves once acknowledged. */
  async listen(
    res: ServerResponse,
    client: ModernRequestClient,
    id: string | number,
    requested: ListenFilter,
    capabilities: { prompts?: unknown; resources?: { subscribe?: boolean } },
    serverInfo: { name: string; version: string },
  ): Promise<void> {
    const { view } = client;
    const honored: ListenFilter = {};
    if (requested.toolsListChanged) honored.toolsListChanged = true;
    if (requested.promptsListChanged && capabilities.prompts) honored.promptsListChanged = true;
    if (requested.resourcesListChanged && capabilities.resources) honored.resourcesListChanged = true;
    const stream = new ListenStream(id, view, res, serverInfo, honored);
    this.open.add(stream);
    const user = client.caller.user;
    this.perUser.add(user);
    res.once('close', () => {
      stream.stop();
      this.open.delete(stream);
      this.perUser.remove(user);
      void Promise.all([...stream.subscriptions].map((key) => this.dropKey(stream, key)));
    });
    if (requested.resourceSubscriptions?.length && capabilities.resources?.subscribe) {
      const subscribed: string[] = [];
      for (const exposedUri of requested.resourceSubscriptions) {
        const target = view.resolveUri(exposedUri);
        if (
          !target ||
          !this.deps.access.allowsNamespace(client.grantedScopes, target.upstream.namespace) ||
          !target.upstream.capabilities?.resources?.subscribe
        ) {
          this.deps.logger.debug(
            { uri: exposedUri, user: client.caller.user },
            'listen: resource left out of the filter (unknown, not readable by the caller, or not subscribable)',
          );
          continue;
        }
        try {
          await this.deps.subscriptions.subscribe(stream, target.upstream, target.uri, exposedUri);
          subscribed.push(exposedUri);
        } catch (error) {
          this.deps.logger.warn({ err: error, uri: exposedUri }, 'listen: the upstream refused a resource subscription; left out of the filter');
        }
      }
      if (subscribed.length > 0) honored.resourceSubscriptions = subscribed;
    }
    stream.honored = honored;
    stream.acknowledge();
  }

  /** Tell the streams that see `namespace` which of their lists changed (`changesFor` per view). */
  listsChanged(namespace: string, changesFor: (view: CatalogView) => ListChanges): void {
    for (const stream of this.open) {
      if (stream.view.includes(namespace)) stream.listsChanged(changesFor(stream.view));
    }
  }

  /** Every list of every stream whose view matches `matches` (a view reconfigured, tools approved). */
  allListsChanged(matches: (view: CatalogView) => boolean): void {
    for (const stream of this.open) if (matches(stream.view)) stream.listsChanged({ tools: true, prompts: true, resources: true });
  }

  /** Shutdown: every stream gets the graceful-close result. */
  closeAll(): void {
    for (const stream of this.open) stream.closeGracefully();
    this.open.clear();
  }

  private async dropKey(stream: ListenStream, key: string): Promise<void> {
    const [namespace, ...rest] = key.split('\n');
    await this.deps.subscriptions.unsubscribe(stream, namespace ?? '', rest.join('\n')).catch(() => undefined);
  }
}
