import type { GatewayMetrics } from './gatewayMetrics.js';

/** One request the gateway refused: unauthenticated (401), not allowed (403), or over a limit (429). */
export interface Refusal {
  time: string;
  status: 401 | 403 | 429;
  /** A stable reason: missing_token, invalid_token, insufficient_scope, not_an_operator, origin_not_allowed, a rate limit's name… */
  reason: string;
  /** The namespace the request was for, when one can be told. */
  namespace?: string;
  /** Who was refused, when known (a 401 has no user). Never a metric label. */
  user?: string;
  /** The HTTP method and path, or `tools/call` and the tool. */
  request: string;
  /** The message the client was given. */
  detail: string;
}

/**
 * The recent refusals for the operator page, and their count in the metrics
 * (`manifold_refusals_total` by status, reason and namespace; no user labels).
 */
export class RefusalLog {
  readonly recent: Refusal[] = [];

  constructor(
    private readonly capacity: number,
    private readonly metrics: GatewayMetrics | undefined,
  ) {}

  record(refusal: Omit<Refusal, 'time'>): void {
    this.metrics?.refusals.inc({ status: String(refusal.status), reason: refusal.reason, namespace: refusal.namespace ?? '' });
    if (this.capacity === 0) return;
    this.recent.push({ time: new Date().toISOString(), ...refusal });
    if (this.recent.length > this.capacity) this.recent.splice(0, this.recent.length - this.capacity);
  }
}
