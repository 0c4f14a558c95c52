import { RedisRateLimitStore } from '../limits/redisRateLimitStore.js';
import type { RedisLink } from '../redis/redisLink.js';
import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import type { GatewayConfig } from '../config/schema.js';
import type { ManifoldGateway } from '../session/gatewayCore.js';
import { AuditLog } from '../observability/auditLog.js';
import { CallRecorder } from '../observability/callRecorder.js';
import { createCallTracing } from '../observability/callTracing.js';
import { GatewayMetrics } from '../observability/gatewayMetrics.js';
import type { OperatorAuth } from '../auth/operatorSignIn.js';
import { operatorRoutes, type OperatorRoutes } from '../http/operatorRoutes.js';
import { RefusalLog } from '../observability/refusalLog.js';
import { createRedactor } from '../observability/redaction.js';
import type { UpstreamListener } from '../upstreams/types.js';
import { ToolArgumentValidator } from '../policy/argumentValidation.js';
import { cacheAndLimitResourceReads, cacheToolResults, limitResponseSize, rateLimit, refusalsAsResults, validateArguments } from '../policy/callPolicies.js';
import { rateLimitsSchema } from '../policy/policySettings.js';
import { InMemoryRateLimitStore, RateLimiter, type RateLimitStore } from '../policy/rateLimiter.js';
import { RequestLimiter } from '../policy/requestLimiter.js';
import type { ResourceReadMiddleware } from '../calls/resourceReadPipeline.js';
import { ResponseCache } from '../policy/responseCache.js';
import type { ToolCallMiddleware } from '../calls/toolCallPipeline.js';

export interface PolicyStack {
  toolCallMiddlewares: ToolCallMiddleware[];
  resourceReadMiddlewares: ResourceReadMiddleware[];
  upstreamObservers: Array<Partial<UpstreamListener>>;
  cache: ResponseCache;
  metrics: GatewayMetrics | undefined;
  recorder: CallRecorder;
  /** The append-only audit log, when enabled. */
  audit: AuditLog | undefined;
  /** Where rate-limit counters live (in memory, or Redis in a cluster): sign-in throttling counts there too. */
  counters: RateLimitStore;
  /** Rate limits on requests other than tools/call, when rate limits apply. */
  requestLimiter: RequestLimiter | undefined;
  /** The HTTP routes for operators, once the gateway and its authentication exist. */
  routes(gateway: ManifoldGateway, auth: OperatorAuth | undefined): OperatorRoutes;
  close(): Promise<void>;
}

/**
 * The stages around every forwarded call, outermost first:
 *   trace (when enabled) → record (log, metrics, audit) → refusals as results → rate limit → argument validation
 *   → cache (and write invalidation) → response size limit → upstream
 * Resource reads: trace → record → cache → response size limit → upstream.
 */
export function createPolicyStack(
  config: GatewayConfig,
  options: { logger: Logger; dataDir: string; rateLimitStore?: RateLimitStore; redis?: RedisLink },
): PolicyStack {
  checkNamespaces(config);
  const { limits, cache: cacheSettings, observability } = config;
  let attached: ManifoldGateway | undefined;
  const metrics = observability.metrics.enabled
    ? new GatewayMetrics({ upstreams: () => attached?.upstreams ?? [], openSessions: () => attached?.sessions.size ?? 0 })
    : undefined;
  const audit = observability.audit.enabled
    ? new AuditLog(
        isAbsolute(observability.audit.file) ? observability.audit.file : resolve(options.dataDir, observability.audit.file),
        observability.audit.flushIntervalMs,
      )
    : undefined;
  const recorder = new CallRecorder(observability, options.logger, metrics, audit, createRedactor(observability.redactFields));
  const refusals = new RefusalLog(observability.statusPage.recentRefusals, metrics);
  // In a cluster, counters are shared so that limits are global.
  const store = options.rateLimitStore ?? rateLimitStoreFor(config.cluster.redis ? 'redis' : (config.limits.rate?.store ?? 'memory'), options.redis);
  // One local developer (none-loopback-dev) is limited only when limits are configured.
  const rate = limits.rate ?? (config.auth.mode === 'oauth' ? rateLimitsSchema.parse({}) : undefined);
  const limiter = rate ? new RateLimiter(rate, store) : undefined;
  const cache = new ResponseCache(cacheSettings);
  const tracing = createCallTracing(observability.tracing, options.logger);
  cache.onInvalidate((namespace, _uri, reason) => metrics?.cacheInvalidations.inc({ upstream: namespace, reason }));

  const toolCallMiddlewares: ToolCallMiddleware[] = [
    ...(tracing ? [tracing.toolCalls] : []),
    recorder.toolCalls,
    refusalsAsResults,
    ...(limiter
      ? [
          rateLimit(limiter, (limit, call) => {
            metrics?.rateLimited.inc({ upstream: call.target.upstream.namespace, tool: call.exposedName, limit });
            // Answered as a tool result, not an HTTP 429, but a refusal all the same.
            refusals.record({
              status: 429,
              reason: limit,
              namespace: call.target.upstream.namespace,
              user: call.caller.user,
              request: `tools/call ${call.exposedName}`,
              detail: `Rate limit "${limit}" reached; the call was not forwarded.`,
            });
          }),
        ]
      : []),
    ...(limits.validateArguments ? [validateArguments(new ToolArgumentValidator())] : []),
    cacheToolResults(cache, (hit, call) => metrics?.cacheLookups.inc({ kind: 'tool', upstream: call.target.upstream.namespace, result: hit ? 'hit' : 'miss' })),
    limitResponseSize(limits.maxResponseBytes),
  ];
  const resourceReadMiddlewares: ResourceReadMiddleware[] = [
    ...(tracing ? [tracing.resourceReads] : []),
    recorder.resourceReads,
    cacheAndLimitResourceReads(cache, limits.maxResponseBytes, (hit, namespace) =>
      metrics?.cacheLookups.inc({ kind: 'resource', upstream: namespace, result: hit ? 'hit' : 'miss' }),
    ),
  ];
  const upstreamObservers: Array<Partial<UpstreamListener>> = [
    {
      onResourceUpdated: (namespace, uri) => cache.invalidateResource(namespace, uri, 'resource_updated'),
      onListsChanged: (namespace) => cache.invalidateNamespace(namespace, 'list_changed'),
    },
  ];
  return {
    counters: store,
    requestLimiter: rate ? new RequestLimiter(rate, store) : undefined,
    toolCallMiddlewares,
    resourceReadMiddlewares,
    upstreamObservers,
    cache,
    metrics,
    recorder,
    audit,
    routes(gateway, auth) {
      attached = gateway;
      return operatorRoutes({
        gateway,
        settings: observability,
        metrics,
        recorder,
        refusals,
        auth,
        logger: options.logger,
        cacheEntries: () => (cacheSettings.enabled ? cache.size : undefined),
        onApproval: (approval) =>
          audit?.append(
            { at: new Date().toISOString(), event: 'tool_change_approved', user: approval.user, upstream: approval.namespace, tools: approval.tools },
            { urgent: true },
          ),
      });
    },
    async close() {
      await audit?.close();
      await store.close();
      await tracing?.close();
    },
  };
}

/** Limits and cache rules for a namespace no upstream has are mistakes worth stopping for. */
function checkNamespaces(config: GatewayConfig): void {
  const known = new Set(config.upstreams.map((u) => u.namespace));
  const problems: string[] = [];
  for (const [section, namespaces] of [
    ['limits.rate.namespaces', config.limits.rate?.namespaces ?? {}],
    ['cache.namespaces', config.cache.namespaces],
  ] as const) {
    for (const namespace of Object.keys(namespaces)) {
      if (!known.has(namespace)) problems.push(`${section}.${namespace}: no upstream has namespace "${namespace}" (known: ${[...known].join(', ')})`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
}

/** The counter store the configuration names; Redis is the link main opened to REDIS_URL. */
function rateLimitStoreFor(kind: 'memory' | 'redis', redis: RedisLink | undefined): RateLimitStore {
  if (kind === 'memory') return new InMemoryRateLimitStore();
  if (!redis) throw new ConfigError(['REDIS_URL: must be set (e.g. redis://127.0.0.1:6379) when limits.rate.store is "redis".']);
  return new RedisRateLimitStore(redis);
}
