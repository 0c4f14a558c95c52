import { z } from 'zod';

/** The `observability` section of the gateway configuration (documented in config/README.md). */
export const observabilitySchema = z
  .object({
    /** One JSON log line per tools/call and resources/read. */
    logCalls: z.boolean().default(true),
    /** Include the (redacted) arguments in call log lines. */
    logArguments: z.boolean().default(false),
    /** Argument and field names redacted in logs and the audit log, besides the built-in ones (token, password, authorization…). */
    redactFields: z.array(z.string().min(1).max(128)).default([]),
    audit: z
      .object({
        enabled: z.boolean().default(true),
        /** JSONL file, appended to; relative to the data directory. */
        file: z.string().min(1).default('audit/tool-writes.jsonl'),
        /** Lines are written in batches at most this long after the call (0: each at once); always on exit. */
        flushIntervalMs: z.number().int().min(0).max(10_000).default(100),
      })
      .strict()
      .prefault({}),
    metrics: z
      .object({
        enabled: z.boolean().default(true),
        /** Serve /metrics without authentication to loopback peers (a local scraper). */
        publicOnLoopback: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    statusPage: z
      .object({
        enabled: z.boolean().default(true),
        /** Scopes that may open the page (any one suffices); empty means any admin scope. */
        scopes: z.array(z.string().min(1)).default([]),
        /** Calls and errors kept for the page. */
        recentCalls: z.number().int().min(0).max(10_000).default(100),
        /** Refusals (401, 403, 429) kept for the page. */
        recentRefusals: z.number().int().min(0).max(10_000).default(100),
        /**
         * Browser sign-in to the page and /metrics (OAuth mode): through the embedded
         * authorization server with its built-in client, or through the external issuer with
         * `clientId` (registered there with redirect URI <publicUrl>/operator/callback).
         */
        signIn: z
          .object({
            enabled: z.boolean().default(true),
            /** The page's client at an external issuer; the embedded server needs none. */
            clientId: z.string().min(1).max(512).optional(),
            /** Environment variable holding that client's secret, for a confidential client. */
            clientSecretEnv: z.string().min(1).max(128).optional(),
            /** The longest a browser stays signed in (and no longer than its token). */
            sessionMinutes: z.number().int().min(1).max(720).default(30),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /** OpenTelemetry traces of forwarded calls, exported over OTLP/HTTP; children get the trace context in `_meta`. */
    tracing: z
      .object({
        enabled: z.boolean().default(false),
        /** OTLP/HTTP base URL (spans go to `<url>/v1/traces`); unset: OTEL_EXPORTER_OTLP_ENDPOINT, else http://localhost:4318. */
        otlpEndpoint: z.url({ protocol: /^https?$/ }).optional(),
        /** `service.name` of the gateway's spans; children are named `manifold-<server>`. */
        serviceName: z.string().min(1).max(200).default('manifold-gateway'),
        /** Share of new traces recorded (0–1); a client's sampled `traceparent` decision is followed. */
        sampleRatio: z.number().min(0).max(1).default(1),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type ObservabilitySettings = z.output<typeof observabilitySchema>;
