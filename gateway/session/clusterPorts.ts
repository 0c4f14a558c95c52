import type { LocalInterestListener } from './resourceSubscriptions.js';
import type { ListKind } from '../upstreams/types.js';
import type { ViewKey } from '../views/viewDirectory.js';

/**
 * What sessions need from a cluster, as interfaces the cluster layer implements
 * (cluster/sessionDirectory.ts, cluster/resourceUpdateBus.ts): sessions depend on these, not on
 * Redis.
 */

/** Where a session is served: the aggregate, one upstream, or a curated view. */
export type SessionViewKey = ViewKey;

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
  /** The client ended the session: forget its record, and have every instance close its copy. */
  remove(id: string): Promise<void>;
  close(): Promise<void>;
}

/** What the bus needs of the gateway instance it serves. */
export interface ClusterResourceHost {
  /** Tell this instance's subscribed sessions that a resource changed. */
  deliver(namespace: string, uri: string): void;
  /** Keep this instance's upstream subscribed to `uri` for another instance's sessions, or stop. */
  holdForInstance(instance: string, namespace: string, uri: string, held: boolean): void;
  /** Resources this instance's sessions are subscribed to. */
  localInterests(): Array<{ namespace: string; uri: string }>;
  onLocalInterest(listener: LocalInterestListener): void;
  /** Tell this instance's clients that an upstream's lists changed (seen by another instance's child). */
  deliverListsChanged(namespace: string, kinds: ReadonlySet<ListKind>): void;
  /** Send `message` on session `session`'s GET stream if this instance holds it. */
  deliverToSession(session: string, message: Record<string, unknown>): void;
  /** Let this instance's sessions hand over what they cannot deliver themselves. */
  onUndeliveredSessionMessage(relay: (session: string, message: Record<string, unknown>) => void): void;
  /** A client's message for session `session` that another instance received: handled if this instance's copy of the session is the one it is for. */
  deliverClientMessage(session: string, message: Record<string, unknown>): void;
  /** Let this instance's sessions hand over client messages that belong to another instance's copy (answers to its requests, cancellations). */
  onForeignClientMessage(relay: (session: string, message: Record<string, unknown>) => void): void;
}
