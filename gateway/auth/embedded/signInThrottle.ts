import { InMemoryRateLimitStore, type RateLimitStore } from '../../limits/rateLimitStore.js';
import { DEFAULT_SIGN_IN_LIMITS, type SignInLimits, type Tier } from './signInLimits.js';

export type Admission = { ok: true } | { ok: false; retryAfterMs: number };

/** A key that has just gone over a tier: worth an entry in the audit log, once per window. */
export interface Lockout {
  kind: 'account' | 'address' | 'registration';
  key: string;
  windowMs: number;
  retryAfterMs: number;
}

/**
 * Counts sign-in attempts and registrations in the same counter store as the gateway's rate
 * limits (in memory, or Redis when instances form a cluster, so the counts are global).
 */
export class SignInThrottle {
  constructor(
    private readonly limits: SignInLimits = DEFAULT_SIGN_IN_LIMITS,
    private readonly store: RateLimitStore = new InMemoryRateLimitStore(),
    private readonly onLockout: (lockout: Lockout) => void = () => undefined,
  ) {}

  /** One sign-in attempt for `account` from `address`. */
  async signIn(account: string, address: string): Promise<Admission> {
    const byAccount = account ? await this.count('account', account.toLowerCase(), this.limits.perAccount) : undefined;
    const byAddress = await this.count('address', address, this.limits.perAddress);
    const waits = [byAccount, byAddress].filter((wait): wait is number => wait !== undefined);
    return waits.length === 0 ? { ok: true } : { ok: false, retryAfterMs: Math.max(...waits) };
  }

  /** One client registration from `address`. */
  async registration(address: string): Promise<Admission> {
    const wait = await this.count('registration', address, this.limits.registrationsPerAddress);
    return wait === undefined ? { ok: true } : { ok: false, retryAfterMs: wait };
  }

  /** Count one attempt in every tier; the longest wait of those it exceeds, if any. */
  private async count(kind: Lockout['kind'], key: string, tiers: readonly Tier[]): Promise<number | undefined> {
    let wait: number | undefined;
    for (const tier of tiers) {
      const { count, resetInMs } = await this.store.hit(`signin:${kind}:${tier.windowMs}:${key}`, tier.windowMs);
      if (count <= tier.max) continue;
      if (count === tier.max + 1) this.onLockout({ kind, key, windowMs: tier.windowMs, retryAfterMs: resetInMs });
      wait = Math.max(wait ?? 0, resetInMs);
    }
    return wait;
  }
}

/** "3 minutes", "1 hour": a wait in words. */
export function waitInWords(ms: number): string {
  const minutes = Math.max(1, Math.ceil(ms / 60_000));
  if (minutes < 90) return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  const hours = Math.ceil(minutes / 60);
  return `${hours} hour${hours === 1 ? '' : 's'}`;
}
