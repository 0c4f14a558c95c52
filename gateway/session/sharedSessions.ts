import { isDeepStrictEqual } from 'node:util';
import type { Logger } from '../../shared/logger.js';
import type { CallerIdentity } from '../auth/authenticate.js';
import type { CatalogView } from '../catalog/upstreamCatalog.js';
import type { ViewDirectory } from '../views/viewDirectory.js';
import type { ClientSession } from './clientSession.js';
import type { SessionDirectory, SessionRecord } from './clusterPorts.js';
import type { ResourceSubscriptions } from './resourceSubscriptions.js';
import type { SessionRegistry } from './sessionRegistry.js';

/** A record is renewed at most this often while its session is in use. */
const TOUCH_INTERVAL_MS = 60_000;

export interface SharedSessionsOptions {
  directory: SessionDirectory;
  /** How long a record lives without use (the session idle timeout). */
  ttlMs: number;
  views: ViewDirectory;
  sessions: SessionRegistry;
  subscriptions: ResourceSubscriptions;
  logger: Logger;
  isAccepting(): boolean;
  openSession(view: CatalogView, identity: CallerIdentity, id: string): ClientSession;
  /** A restored session brought a log level with it. */
  onLogLevelRestored(): void;
}

/**
 * 2025 sessions shared between gateway instances (cluster.redis): each session's record — its
 * owner, endpoint, the client's handshake, log level and subscriptions — is kept in the session
 * directory, so that any instance can continue a session another one opened.
 */
export class SharedSessions {
  private readonly savedAt = new Map<string, number>();

  constructor(private readonly options: SharedSessionsOptions) {}

  /** Record a new session (before its initialize is answered, so any instance can take the next request). */
  async share(session: ClientSession, handshake: NonNullable<ClientSession['handshake']>): Promise<void> {
    session.handshake = handshake;
    await this.save(session);
  }

  async save(session: ClientSession): Promise<void> {
    if (!session.handshake) return;
    this.savedAt.set(session.id, Date.now());
    const record: SessionRecord = {
      id: session.id,
      user: session.identity.user,
      view: this.options.views.keyOf(session.view),
      initialize: session.handshake,
      ...(session.logLevel ? { logLevel: session.logLevel } : {}),
      subscriptions: [...session.subscribedUris],
    };
    await this.options.directory
      .save(record, this.options.ttlMs)
      .catch((error: unknown) => this.options.logger.warn({ err: error, session: session.id }, 'session state not shared'));
  }

  /** A request on a shared session: keep its record alive. */
  touch(session: ClientSession): void {
    if (Date.now() - (this.savedAt.get(session.id) ?? 0) > TOUCH_INTERVAL_MS) void this.save(session);
  }

  /**
   * Continue, on this instance, a session another instance opened: the same id, user and
   * endpoint; the client's handshake is replayed into a fresh protocol server (its answer goes
   * nowhere), then its log level and subscriptions are restored.
   */
  async restore(id: string, view: CatalogView, identity: CallerIdentity): Promise<ClientSession | undefined> {
    const { directory, views, sessions, logger } = this.options;
    if (!this.options.isAccepting()) return undefined;
    const record = await directory.load(id).catch(() => undefined);
    if (!record || record.user !== identity.user || !isDeepStrictEqual(record.view, views.keyOf(view))) return undefined;
    const existing = sessions.get(id);
    if (existing) return existing;
    if (views.byKey(record.view) !== view) return undefined;
    const session = this.options.openSession(view, identity, id);
    session.handshake = record.initialize;
    session.transport.setProtocolVersion(record.initialize.protocolVersion);
    session.transport.onmessage?.({ jsonrpc: '2.0', id: `restore:${id}`, method: 'initialize', params: record.initialize });
    session.transport.onmessage?.({ jsonrpc: '2.0', method: 'notifications/initialized' });
    await new Promise((resolve) => setImmediate(resolve));
    if (record.logLevel) {
      session.logLevel = record.logLevel as ClientSession['logLevel'];
      this.options.onLogLevelRestored();
    }
    for (const uri of record.subscriptions) {
      const target = view.resolveUri(uri);
      if (!target) continue;
      await this.options.subscriptions.subscribe(session, target.upstream, target.uri, uri).then(
        () => session.subscribedUris.add(uri),
        (error: unknown) => logger.warn({ err: error, session: id, uri }, 'subscription not restored'),
      );
    }
    logger.info({ session: id, user: identity.user }, 'session continued from another instance');
    return session;
  }

  /** The client ended the session (DELETE): forget it everywhere. */
  async forget(id: string): Promise<void> {
    this.savedAt.delete(id);
    await this.options.directory.remove(id).catch(() => undefined);
  }

  /** The session closed on this instance (its record stays for other instances until it expires). */
  closed(id: string): void {
    this.savedAt.delete(id);
  }
}
