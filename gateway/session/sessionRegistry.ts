import { KeyCounts } from '../../shared/keyCounts.js';
import type { ClientSession } from './clientSession.js';

/** The live client sessions by id, with an idle sweep and SSE keep-alives. */
export class SessionRegistry {
  private readonly sessions = new Map<string, ClientSession>();
  /** Open sessions per acting user (per-user caps). */
  private readonly perUser = new KeyCounts();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly idleTimeoutMs: number,
    private readonly onIdle: (session: ClientSession) => void,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  get(id: string): ClientSession | undefined {
    return this.sessions.get(id);
  }

  add(session: ClientSession): void {
    if (this.sessions.has(session.id)) return;
    this.sessions.set(session.id, session);
    this.perUser.add(session.caller.user);
  }

  delete(id: string): void {
    const session = this.sessions.get(id);
    if (!session) return;
    this.sessions.delete(id);
    this.perUser.remove(session.caller.user);
  }

  /** Sessions `user` has open on this instance. */
  openFor(user: string): number {
    return this.perUser.get(user);
  }

  values(): IterableIterator<ClientSession> {
    return this.sessions.values();
  }

  /** Every 15 s: keep open streams alive, close sessions idle for longer than the timeout. */
  startSweeping(intervalMs = 15_000): void {
    this.timer = setInterval(() => {
      const now = Date.now();
      for (const session of this.sessions.values()) {
        const transport = session.transport;
        if (transport.openStreams > 0) transport.keepAlive();
        else if (now - transport.lastActivity > this.idleTimeoutMs) this.onIdle(session);
      }
    }, intervalMs);
    this.timer.unref();
  }

  stopSweeping(): void {
    clearInterval(this.timer);
  }
}
