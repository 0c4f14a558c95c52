import type { RateLimitStore } from '../limits/rateLimitStore.js';
import type { RateLimitSettings } from './policySettings.js';

export { InMemoryRateLimitStore, type RateLimitStore } from '../limits/rateLimitStore.js';

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
    if (toolMax !== undefined)
      rules.push({ limit: 'tool', key: `t\0${user}\0${namespace}\0${tool}`, max: toolMax, describes: `calls of ${exposedName} per user` });
    if (write && ns?.writesPerUser !== undefined) {
      rules.push({ limit: 'namespace_writes', key: `nw\0${user}\0${namespace}`, max: ns.writesPerUser, describes: `write calls into "${namespace}" per user` });
    }
    if (ns?.perUser !== undefined)
      rules.push({ limit: 'namespace', key: `n\0${user}\0${namespace}`, max: ns.perUser, describes: `calls into "${namespace}" per user` });
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
