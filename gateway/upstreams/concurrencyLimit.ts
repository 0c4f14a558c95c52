import type { Cancellation } from './cancellation.js';

/**
 * At most `max` holders at once; up to `maxQueue` callers wait in order. A caller beyond the
 * queue is refused at once (the gateway never queues without bound nor retries silently).
 */
export class ConcurrencyLimit {
  private active = 0;
  private readonly waiting: Array<{ resolve: () => void; reject: (error: Error) => void; stopListening?: () => void }> = [];

  constructor(
    private readonly max: number,
    private readonly maxQueue: number,
  ) {}

  get inUse(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Take a slot now when one is free (no promise on the hot path). */
  tryAcquire(): boolean {
    if (this.active < this.max && this.waiting.length === 0) {
      this.active++;
      return true;
    }
    return false;
  }

  /** Wait for a slot; rejects with `full` when the queue is full, or when the call is cancelled. */
  acquire(full: () => Error, cancellation?: Cancellation): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    if (this.waiting.length >= this.maxQueue) return Promise.reject(full());
    return new Promise((resolve, reject) => {
      const entry: (typeof this.waiting)[number] = { resolve, reject };
      if (cancellation) {
        entry.stopListening = cancellation.onAbort((reason) => {
          const index = this.waiting.indexOf(entry);
          if (index !== -1) this.waiting.splice(index, 1);
          reject(reason instanceof Error ? reason : new Error('cancelled while waiting for a slot'));
        });
      }
      this.waiting.push(entry);
    });
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) {
      next.stopListening?.();
      next.resolve();
      return;
    }
    this.active--;
  }
}
