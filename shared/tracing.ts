import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';

/**
 * OpenTelemetry traces across the gateway and its children, off by default.
 *
 * The gateway puts the W3C trace context (https://www.w3.org/TR/trace-context/) of its span for
 * a forwarded call in the request's `_meta`:
 *
 *   "io.manifold/trace": { "traceparent": "00-<trace id>-<span id>-01", "tracestate": "…" }
 *
 * and a child started by it (MANIFOLD_TRACING=1, OTEL_EXPORTER_OTLP_ENDPOINT set by the gateway)
 * runs the tool handler in a span whose parent is that one. The standard top-level
 * `_meta.traceparent` / `_meta.tracestate` keys are read too, for callers that send them.
 *
 * When tracing is off nothing is loaded beyond the API, no provider is registered and no span
 * objects are made: the SDK is imported only by `startTracing`.
 */
export const TRACE_META_KEY = 'io.manifold/trace';

export interface TracingOptions {
  /** `service.name` of the spans. */
  serviceName: string;
  /** OTLP/HTTP base URL (spans go to `<url>/v1/traces`); unset: the exporter's OTEL_EXPORTER_OTLP_* variables. */
  otlpEndpoint?: string | undefined;
  /** Share of new traces recorded; a remote parent's sampled flag is followed. */
  sampleRatio: number;
}

interface ActiveTracing {
  tracer: Tracer;
  flushAndStop(): Promise<void>;
}

let active: ActiveTracing | undefined;

/** Whether this process exports spans (the tracing hooks are no-ops otherwise). */
export function tracingActive(): boolean {
  return active !== undefined;
}

/** Register a tracer provider exporting over OTLP/HTTP (JSON). Once per process; later calls are ignored. */
export async function startTracing(options: TracingOptions): Promise<void> {
  if (active) return;
  const [
    { NodeTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler },
    { OTLPTraceExporter },
    { resourceFromAttributes },
    { ATTR_SERVICE_NAME },
  ] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/semantic-conventions'),
  ]);
  if (active) return;
  const exporter = new OTLPTraceExporter(options.otlpEndpoint ? { url: `${options.otlpEndpoint.replace(/\/+$/, '')}/v1/traces` } : {});
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.sampleRatio) }),
    // OTEL_BSP_* variables tune the batching (e.g. OTEL_BSP_SCHEDULE_DELAY).
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  // The W3C trace context propagator and an AsyncLocalStorage context manager.
  provider.register();
  active = {
    tracer: provider.getTracer('manifold'),
    flushAndStop: async () => {
      await provider.forceFlush();
      await provider.shutdown();
    },
  };
}

/**
 * A server's switch: with MANIFOLD_TRACING=1 (set by a gateway that traces), export spans to
 * OTEL_EXPORTER_OTLP_ENDPOINT as `OTEL_SERVICE_NAME` or `manifold-<name>`.
 */
export async function startTracingFromEnv(name: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  if (!/^(1|true|yes|on)$/i.test(env.MANIFOLD_TRACING ?? '')) return false;
  const ratio = Number(env.OTEL_TRACES_SAMPLER_ARG);
  await startTracing({
    serviceName: env.OTEL_SERVICE_NAME || `manifold-${name}`,
    sampleRatio: env.OTEL_TRACES_SAMPLER_ARG !== undefined && ratio >= 0 && ratio <= 1 ? ratio : 1,
  });
  return true;
}

/** Export what is buffered and stop; call before the process exits. */
export async function stopTracing(): Promise<void> {
  const current = active;
  active = undefined;
  await current?.flushAndStop();
}

/** The tracer, when tracing is active. */
export function activeTracer(): Tracer | undefined {
  return active?.tracer;
}

function stringField(record: Record<string, unknown>, key: string): string | undefined {
  const value = record[key];
  return typeof value === 'string' && value.length <= 512 ? value : undefined;
}

/** The remote parent named in a request's `_meta` (`io.manifold/trace`, else top-level `traceparent`), or the root context. */
export function traceContextFromMeta(meta: Record<string, unknown> | undefined): Context {
  if (!meta) return ROOT_CONTEXT;
  const nested = meta[TRACE_META_KEY];
  const source =
    typeof nested === 'object' && nested !== null && stringField(nested as Record<string, unknown>, 'traceparent') ? (nested as Record<string, unknown>) : meta;
  const traceparent = stringField(source, 'traceparent');
  if (!traceparent) return ROOT_CONTEXT;
  const tracestate = stringField(source, 'tracestate');
  const carrier: Record<string, string> = { traceparent, ...(tracestate ? { tracestate } : {}) };
  return propagation.extract(ROOT_CONTEXT, carrier);
}

/** `{ traceparent, tracestate? }` for a span, as it goes into `_meta`. */
export function traceMetaFor(span: Span): { traceparent: string; tracestate?: string } | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
  if (!carrier.traceparent) return undefined;
  return { traceparent: carrier.traceparent, ...(carrier.tracestate ? { tracestate: carrier.tracestate } : {}) };
}

/** The outcome of a tool result: `ok`, the failure code in `_meta["io.manifold/failure"]`, or `tool_error`. */
export function toolResultOutcome(result: Record<string, unknown>): string {
  if (result.isError !== true) return 'ok';
  const failure = (result._meta as Record<string, unknown> | undefined)?.['io.manifold/failure'];
  const code = typeof failure === 'object' && failure !== null ? (failure as Record<string, unknown>).code : undefined;
  return typeof code === 'string' ? code : 'tool_error';
}

/**
 * Run `work` in a span (child of `parent`) and end it with the outcome: a result's
 * `isError` or a thrown error sets the span status to ERROR.
 */
export async function inSpan<T extends Record<string, unknown>>(
  tracer: Tracer,
  name: string,
  options: { kind: SpanKind; parent: Context; attributes: Attributes },
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const span = tracer.startSpan(name, { kind: options.kind, attributes: options.attributes }, options.parent);
  try {
    const result = await context.with(trace.setSpan(options.parent, span), () => work(span));
    const outcome = toolResultOutcome(result);
    span.setAttribute('manifold.outcome', outcome);
    if (outcome !== 'ok') span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
    return result;
  } catch (error) {
    span.setAttribute('manifold.outcome', 'error');
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message.slice(0, 300) : 'error' });
    throw error;
  } finally {
    span.end();
  }
}

/**
 * A server's span around one tool handler, child of the gateway's span named in `_meta`.
 * Only called while tracing is active (see `guardTool`).
 */
export function traceToolHandler<T extends Record<string, unknown>>(
  tool: string,
  meta: Record<string, unknown> | undefined,
  run: () => Promise<T>,
): Promise<T> {
  const tracer = active?.tracer;
  if (!tracer) return run();
  return inSpan(
    tracer,
    `tools/call ${tool}`,
    { kind: SpanKind.SERVER, parent: traceContextFromMeta(meta), attributes: { 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': tool } },
    run,
  );
}
