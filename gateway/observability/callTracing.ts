import { SpanKind, type Span } from '@opentelemetry/api';
import type { Logger } from '../../shared/logger.js';
import { activeTracer, inSpan, startTracing, stopTracing, traceContextFromMeta, traceMetaFor, TRACE_META_KEY } from '../../shared/tracing.js';
import type { ResourceReadMiddleware } from '../calls/resourceReadPipeline.js';
import type { ToolCallMiddleware } from '../calls/toolCallPipeline.js';
import type { ObservabilitySettings } from './observabilitySettings.js';

type TracingSettings = ObservabilitySettings['tracing'];

export interface CallTracing {
  toolCalls: ToolCallMiddleware;
  resourceReads: ResourceReadMiddleware;
  /** Export what is buffered and stop. */
  close(): Promise<void>;
}

const DEFAULT_OTLP_ENDPOINT = 'http://localhost:4318';

/**
 * What a stdio child is started with while the gateway traces: MANIFOLD_TRACING=1, the same
 * OTLP endpoint, and the gateway's other OTEL_* variables (headers, batching). Empty when off.
 */
export function tracingChildEnv(settings: TracingSettings, env: NodeJS.ProcessEnv = process.env): Readonly<Record<string, string>> {
  if (!settings.enabled) return {};
  const passed: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    // Children name themselves; the endpoint is the gateway's resolved one.
    if (value !== undefined && name.startsWith('OTEL_') && !/^OTEL_(SERVICE_NAME|EXPORTER_OTLP_(TRACES_)?ENDPOINT)$/.test(name)) passed[name] = value;
  }
  return { ...passed, MANIFOLD_TRACING: '1', OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpointOf(settings, env) };
}

function otlpEndpointOf(settings: TracingSettings, env: NodeJS.ProcessEnv): string {
  return settings.otlpEndpoint ?? env.OTEL_EXPORTER_OTLP_ENDPOINT ?? DEFAULT_OTLP_ENDPOINT;
}

/**
 * A span per forwarded tools/call and resources/read (outermost stage, so refusals, cache hits
 * and timeouts are traced too), whose W3C trace context goes to the upstream in
 * `_meta["io.manifold/trace"]`. A client's own `traceparent` in `_meta` becomes the parent.
 * Undefined when `observability.tracing.enabled` is false: no stage, no SDK, no provider.
 */
export function createCallTracing(settings: TracingSettings, logger: Logger, env: NodeJS.ProcessEnv = process.env): CallTracing | undefined {
  if (!settings.enabled) return undefined;
  const otlpEndpoint = otlpEndpointOf(settings, env);
  const ready = startTracing({ serviceName: settings.serviceName, otlpEndpoint, sampleRatio: settings.sampleRatio }).then(
    () => logger.info({ otlpEndpoint, serviceName: settings.serviceName, sampleRatio: settings.sampleRatio }, 'exporting OpenTelemetry traces'),
    (error: unknown) => logger.error({ err: error }, 'tracing could not start; calls are not traced'),
  );

  return {
    async toolCalls(call, next) {
      await ready;
      const tracer = activeTracer();
      if (!tracer) return next(call);
      const attributes = {
        'mcp.method.name': 'tools/call',
        'gen_ai.tool.name': call.exposedName,
        'manifold.upstream': call.target.upstream.namespace,
        'manifold.upstream.tool': call.target.name,
        'enduser.id': call.caller.user,
        'mcp.session.id': call.session.id,
        ...(call.via ? { 'manifold.via.tool': call.via.tool, 'manifold.via.step': call.via.step } : {}),
      };
      return inSpan(tracer, `tools/call ${call.exposedName}`, { kind: SpanKind.SERVER, parent: traceContextFromMeta(call.meta), attributes }, (span) =>
        next({ ...call, meta: withTraceMeta(call.meta, span) }),
      );
    },
    async resourceReads(read, next) {
      await ready;
      const tracer = activeTracer();
      if (!tracer) return next(read);
      const meta = read.params._meta as Record<string, unknown> | undefined;
      const attributes = {
        'mcp.method.name': 'resources/read',
        'mcp.resource.uri': read.exposedUri,
        'manifold.upstream': read.upstream.namespace,
        'enduser.id': read.caller.user,
        'mcp.session.id': read.session.id,
      };
      return inSpan(tracer, 'resources/read', { kind: SpanKind.SERVER, parent: traceContextFromMeta(meta), attributes }, (span) =>
        next({ ...read, params: { ...read.params, _meta: withTraceMeta(meta, span) } }),
      );
    },
    async close() {
      await ready;
      await stopTracing();
    },
  };
}

/** The forwarded `_meta`: ours under `io.manifold/trace`, and a client's standard keys now naming our span. */
function withTraceMeta(meta: Record<string, unknown> | undefined, span: Span): Record<string, unknown> | undefined {
  const context = traceMetaFor(span);
  if (!context) return meta;
  const out: Record<string, unknown> = { ...meta, [TRACE_META_KEY]: context };
  if (meta && 'traceparent' in meta) {
    out.traceparent = context.traceparent;
    if (context.tracestate) out.tracestate = context.tracestate;
    else delete out.tracestate;
  }
  return out;
}
