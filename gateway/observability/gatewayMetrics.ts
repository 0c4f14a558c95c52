import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { UpstreamConnection } from '../upstreams/upstreamConnection.js';

/** What the upstream gauges read at each scrape. */
export type UpstreamGaugeSource = Pick<UpstreamConnection, 'namespace' | 'state' | 'restarts' | 'inFlight'>;

/**
 * Prometheus metrics (prom-client, a registry of the gateway's own). Labels are bounded by
 * the catalog (upstream, tool) and by stable codes (outcome, limit); never by user or session.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly calls: Counter<'upstream' | 'tool' | 'outcome'>;
  readonly errors: Counter<'upstream' | 'tool' | 'code'>;
  readonly duration: Histogram<'upstream' | 'tool'>;
  readonly resourceReads: Counter<'upstream' | 'outcome'>;
  readonly cacheLookups: Counter<'kind' | 'upstream' | 'result'>;
  readonly cacheInvalidations: Counter<'upstream' | 'reason'>;
  readonly rateLimited: Counter<'upstream' | 'tool' | 'limit'>;
  readonly refusals: Counter<'status' | 'reason' | 'namespace'>;
  private readonly restartsSeen = new Map<string, number>();

  constructor(sources: { upstreams: () => readonly UpstreamGaugeSource[]; openSessions: () => number }) {
    const { upstreams, openSessions } = sources;
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'manifold_' });
    this.calls = new Counter({
      name: 'manifold_tool_calls_total',
      help: 'tools/call requests handled, by outcome',
      labelNames: ['upstream', 'tool', 'outcome'],
      registers,
    });
    this.errors = new Counter({
      name: 'manifold_tool_call_errors_total',
      help: 'tools/call requests that failed or were refused, by stable code',
      labelNames: ['upstream', 'tool', 'code'],
      registers,
    });
    this.duration = new Histogram({
      name: 'manifold_tool_call_duration_seconds',
      help: 'tools/call latency at the gateway',
      labelNames: ['upstream', 'tool'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.resourceReads = new Counter({
      name: 'manifold_resource_reads_total',
      help: 'resources/read requests handled',
      labelNames: ['upstream', 'outcome'],
      registers,
    });
    this.cacheLookups = new Counter({
      name: 'manifold_cache_lookups_total',
      help: 'Cache lookups of cacheable calls and reads, by result (hit, miss)',
      labelNames: ['kind', 'upstream', 'result'],
      registers,
    });
    this.cacheInvalidations = new Counter({
      name: 'manifold_cache_invalidations_total',
      help: 'Cache invalidations, by reason',
      labelNames: ['upstream', 'reason'],
      registers,
    });
    this.rateLimited = new Counter({
      name: 'manifold_rate_limit_refusals_total',
      help: 'Calls refused by a rate limit',
      labelNames: ['upstream', 'tool', 'limit'],
      registers,
    });
    this.refusals = new Counter({
      name: 'manifold_refusals_total',
      help: 'Requests refused: 401 (no or bad token), 403 (not allowed), 429 (over a limit), by reason and namespace',
      labelNames: ['status', 'reason', 'namespace'],
      registers,
    });
    const restartsSeen = this.restartsSeen;
    new Counter({
      name: 'manifold_upstream_restarts_total',
      help: 'Upstream restarts (child exits, hangs, lost connections)',
      labelNames: ['upstream'],
      registers,
      collect() {
        for (const upstream of upstreams()) {
          const before = restartsSeen.get(upstream.namespace) ?? 0;
          this.inc({ upstream: upstream.namespace }, upstream.restarts - before);
          restartsSeen.set(upstream.namespace, upstream.restarts);
        }
      },
    });
    new Gauge({
      name: 'manifold_upstream_up',
      help: '1 when the upstream is initialized and answering',
      labelNames: ['upstream', 'state'],
      registers,
      collect() {
        this.reset();
        for (const upstream of upstreams()) this.set({ upstream: upstream.namespace, state: upstream.state }, upstream.state === 'ready' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'manifold_upstream_in_flight',
      help: 'Calls in flight to the upstream',
      labelNames: ['upstream'],
      registers,
      collect() {
        for (const upstream of upstreams()) this.set({ upstream: upstream.namespace }, upstream.inFlight.size);
      },
    });
    new Gauge({
      name: 'manifold_sessions',
      help: 'Open client sessions',
      registers,
      collect() {
        this.set(openSessions());
      },
    });
  }

  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
