import { DomainError } from '../../shared/errors.js';
import { KeyCounts } from '../../shared/keyCounts.js';

/**
 * Calls one user may have in flight at once on this instance, over every upstream (tools,
 * prompts, reads, completions, composite steps, and bridged calls waiting for input), so that
 * one caller cannot take every upstream's concurrency from the others.
 */
export class UserCallLimit {
  private readonly counts = new KeyCounts();

  constructor(readonly max: number) {}

  /** Count a call of `user` in, or the refusal if they are at the cap. */
  enter(user: string): DomainError | undefined {
    const open = this.counts.get(user);
    if (open >= this.max) {
      return new DomainError('rate_limited', `You have ${open} calls in flight on this gateway instance, the most one user may have at once (${this.max}).`, {
        action: 'Retry when one of them has finished (limits.perUser.inFlight).',
      });
    }
    this.counts.add(user);
    return undefined;
  }

  leave(user: string): void {
    this.counts.remove(user);
  }
}
