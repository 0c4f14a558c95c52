import { DomainError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { UpstreamConfig } from './upstreamSettings.js';
import type { Cancellation } from './cancellation.js';
import type { UpstreamListener } from './types.js';

/** What the pool needs of a connection to an upstream (UpstreamConnection). */
export interface WorkerConnection {
  readonly state: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface IsolationSettings {
  /** Connections one user may have to this upstream at once (one call each). */
  perUser: number;
  /** Connections to this upstream at once, all users together. */
  total: number;
  /** A connection unused this long is closed (its child stopped). */
  idleMs: number;
}

interface Worker<C extends WorkerConnection> {
  connection: C;
  busy: boolean;
  lastUsed: number;
}

/** A connection lent to one call; `release` gives it back to its user's pool. */
export interface Lease<C> {
  connection: C;
  release(): void;
}

/**
 * `isolation: "per-user"` for an upstream that asks the client for input mid-call
 * (sampling, elicitation, roots) without echoing the gateway's `_meta`: then nothing in its
 * request says which call it belongs to, so each call of a client that can be asked runs on a
 * connection of its own — a child process (or remote session) that carries one call at a time
 * and belongs to one user. Whatever that connection asks belongs to that call, exactly.
 * Connections are pooled per user, capped per user and in all, and closed when idle.
 */
export class IsolatedWorkers<C extends WorkerConnection> {
  private readonly byUser = new Map<string, Array<Worker<C>>>();
  private count = 0;
  private readonly reaper: NodeJS.Timeout;

  constructor(
    private readonly namespace: string,
    private readonly settings: IsolationSettings,
    private readonly create: () => C,
    private readonly logger: Logger,
  ) {
    this.reaper = setInterval(() => this.reap(), Math.max(1000, Math.floor(settings.idleMs / 2)));
    this.reaper.unref();
  }

  get size(): number {
    return this.count;
  }

  /**
   * A connection of `user`'s own for one call: an idle one, a new one started for it, or — when
   * the caps are reached — the first of theirs to be released within `waitMs`.
   */
  async acquire(user: string, waitMs: number, cancellation?: Cancellation): Promise<Lease<C>> {
    const workers = this.byUser.get(user) ?? [];
    this.byUser.set(user, workers);
    const idle = workers.find((worker) => !worker.busy && worker.connection.state === 'ready');
    if (idle) return this.lend(idle, user);
    const { perUser, total } = this.settings;
    if (workers.length >= perUser || this.count >= total) {
      const mine = workers.length >= perUser;
      if (workers.length === 0) {
        throw new DomainError('rate_limited', `All ${total} isolated connections to upstream "${this.namespace}" are busy with other users' calls.`, {
          action: 'Retry in a few seconds (or raise upstreams[].isolationPool.total in the gateway configuration).',
        });
      }
      return this.waitForRelease(user, waitMs, cancellation, mine ? perUser : total);
    }
    const worker: Worker<C> = { connection: this.create(), busy: true, lastUsed: Date.now() };
    workers.push(worker);
    this.count++;
    this.logger.info({ upstream: this.namespace, user, connections: this.count }, 'isolated upstream connection starting');
    await worker.connection.start();
    if (worker.connection.state !== 'ready') {
      this.remove(user, worker);
      throw new DomainError('unavailable', `An isolated connection to upstream "${this.namespace}" could not be started.`, {
        action: 'Retry shortly; the gateway log has the reason.',
      });
    }
    return this.lend(worker, user);
  }

  /** Close every connection (the gateway is stopping). */
  async stop(): Promise<void> {
    clearInterval(this.reaper);
    const all = [...this.byUser.entries()].flatMap(([user, workers]) => workers.map((worker) => ({ user, worker })));
    await Promise.all(all.map(({ user, worker }) => this.remove(user, worker)));
  }

  private lend(worker: Worker<C>, user?: string): Lease<C> {
    worker.busy = true;
    let released = false;
    return {
      connection: worker.connection,
      release: () => {
        if (released) return;
        released = true;
        worker.busy = false;
        worker.lastUsed = Date.now();
        // A call of the same user waiting for a connection takes it at once.
        const waiter = user === undefined ? undefined : this.waiting.get(user)?.shift();
        if (waiter && worker.connection.state === 'ready') waiter(worker);
      },
    };
  }

  /** Calls waiting for one of their user's connections to be released, in order. */
  private readonly waiting = new Map<string, Array<(worker: Worker<C>) => void>>();

  private waitForRelease(user: string, waitMs: number, cancellation: Cancellation | undefined, cap: number): Promise<Lease<C>> {
    return new Promise((resolve, reject) => {
      const queue = this.waiting.get(user) ?? [];
      this.waiting.set(user, queue);
      const take = (worker: Worker<C>): void => {
        clearTimeout(timer);
        stopListening?.();
        resolve(this.lend(worker, user));
      };
      const leave = (): void => {
        const index = queue.indexOf(take);
        if (index !== -1) queue.splice(index, 1);
        if (queue.length === 0) this.waiting.delete(user);
      };
      const timer = setTimeout(() => {
        leave();
        stopListening?.();
        reject(
          new DomainError(
            'rate_limited',
            `All ${cap} isolated connections to upstream "${this.namespace}" you may use stayed busy with your other calls for ${Math.round(waitMs / 1000)} s.`,
            {
              action: 'Retry when one of those calls has finished (or raise upstreams[].isolationPool in the gateway configuration).',
            },
          ),
        );
      }, waitMs);
      timer.unref();
      const stopListening = cancellation?.onAbort((reason) => {
        clearTimeout(timer);
        leave();
        reject(reason);
      });
      queue.push(take);
    });
  }

  private reap(): void {
    const now = Date.now();
    for (const [user, workers] of [...this.byUser]) {
      for (const worker of [...workers]) {
        const broken = !worker.busy && worker.connection.state !== 'ready' && worker.connection.state !== 'starting';
        if ((!worker.busy && now - worker.lastUsed >= this.settings.idleMs) || broken) void this.remove(user, worker);
      }
    }
  }

  private async remove(user: string, worker: Worker<C>): Promise<void> {
    const workers = this.byUser.get(user);
    const index = workers?.indexOf(worker) ?? -1;
    if (index === -1) return;
    workers!.splice(index, 1);
    if (workers!.length === 0) this.byUser.delete(user);
    this.count--;
    this.logger.info({ upstream: this.namespace, user, connections: this.count }, 'isolated upstream connection closed');
    await worker.connection.stop().catch(() => undefined);
  }
}

/** What a pooled connection tells the gateway: only its log messages (lists and resources come from the shared connection). */
export function workerListener(listener: UpstreamListener): UpstreamListener {
  return {
    onStateChange: () => undefined,
    onListsChanged: () => undefined,
    onResourceUpdated: () => undefined,
    onLogMessage: (namespace, params) => listener.onLogMessage(namespace, params),
  };
}

/** The configuration of a pooled connection: one call at a time, never required for readiness. */
export function workerConfig(config: UpstreamConfig): UpstreamConfig {
  return { ...config, maxConcurrency: 1, maxQueue: 0, required: false, isolation: 'shared' };
}
