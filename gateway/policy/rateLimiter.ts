import type { RateLimitSettings } from './policySettings.js';

/**
 * Where rate-limit counters live. Fixed windows: `hit` counts one call on `key` in the
 * current window of `windowMs` and says how far the window has to go. The in-memory store
 * serves one gateway process; a shared store (Redis: INCR, PEXPIRE NX, PTTL in one MULTI)
 * implements the same two calls so that several instances count together.
 */
export interface RateLimitStore {
  hit(key: string, windowMs: number): Promise<{ count: number; resetInMs: number }>;
  close(): Promise<void>;
}

/** Counters in this process; expired windows are swept as new ones open. */
export class InMemoryRateLimitStore implements RateLimitStore {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();
  private nextSweep = 0;

  constructor(private readonly now: () => number = Date.now) {}

  async hit(key: string, windowMs: number): Promise<{ count: number; resetInMs: number }> {
    const now = this.now();
    if (now >= this.nextSweep) this.sweep(now, windowMs);
    let window = this.windows.get(key);
    if (!window || window.resetAt <= now) {
      window = { count: 0, resetAt: now + windowMs };
      this.windows.set(key, window);
    }
    window.count += 1;
    return { count: window.count, resetInMs: window.resetAt - now };
  }

  private sweep(now: number, windowMs: number): void {
    for (const [key, window] of this.windows) if (window.resetAt <= now) this.windows.delete(key);
    this.nextSweep = now + windowMs;
  }

  async close(): Promise<void> {
    this.windows.clear();
  }
}

/** One limit that applies to a call: what it counts, and how many per window. */
export interface RateLimitRule {
  /** Stable name for metrics and `_meta`: `user`, `user_writes`, `namespace`, `namespace_writes`, `tool`. */
  limit: string;
  key: string;
  max: number;
  /** Says what is counted, for the error message ("calls per user"). */
  describes: string;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** The rule that refused the call. */
  rule?: RateLimitRule;
  retryAfterMs?: number;
}

export interface RateLimitedCall {
  user: string;
  namespace: string;
  /** The upstream's tool name. */
  tool: string;
  exposedName: string;
  write: boolean;
}

/**
 * Per user and per tool limits from the `limits.rate` configuration. Each rule that applies
 * is counted, most specific first; the first one over its limit refuses the call (the more
 * general counters are then not charged).
 */
export class RateLimiter {
  constructor(
    private readonly settings: RateLimitSettings,
    private readonly store: RateLimitStore,
  ) {}

  get windowMs(): number {
    return this.settings.windowMs;
  }

  rulesFor(call: RateLimitedCall): RateLimitRule[] {
    const { user, namespace, tool, exposedName, write } = call;
    const rules: RateLimitRule[] = [];
    const ns = this.settings.namespaces[namespace];
    const toolMax = ns?.tools[tool];
    if (toolMax !== undefined) rules.push({ limit: 'tool', key: `t\0${user}\0${namespace}\0${tool}`, max: toolMax, describes: `calls of ${exposedName} per user` });
    if (write && ns?.writesPerUser !== undefined) {
      rules.push({ limit: 'namespace_writes', key: `nw\0${user}\0${namespace}`, max: ns.writesPerUser, describes: `write calls into "${namespace}" per user` });
    }
    if (ns?.perUser !== undefined) rules.push({ limit: 'namespace', key: `n\0${user}\0${namespace}`, max: ns.perUser, describes: `calls into "${namespace}" per user` });
    if (write) rules.push({ limit: 'user_writes', key: `uw\0${user}`, max: this.settings.writesPerUser, describes: 'write calls per user' });
    rules.push({ limit: 'user', key: `u\0${user}`, max: this.settings.perUser, describes: 'calls per user' });
    return rules;
  }

  async check(call: RateLimitedCall): Promise<RateLimitDecision> {
    for (const rule of this.rulesFor(call)) {
      const { count, resetInMs } = await this.store.hit(rule.key, this.settings.windowMs);
      if (count > rule.max) return { allowed: false, rule, retryAfterMs: Math.max(resetInMs, 1) };
    }
    return { allowed: true };
  }
}
