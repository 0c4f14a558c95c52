import { z } from 'zod';
import { embeddedAuthSettingsSchema } from '../auth/embedded/settings.js';
import { viewsSchema } from '../views/viewSettings.js';
import { clusterSchema } from './clusterSettings.js';
import { upstreamSchema } from '../upstreams/upstreamSettings.js';
import { observabilitySchema } from '../observability/observabilitySettings.js';
import { cacheSchema, limitsSchema } from '../policy/policySettings.js';
import { workflowsSchema } from '../workflows/workflowSettings.js';

/**
 * The gateway configuration file (JSON). Every field is documented in config/README.md;
 * the schema is the single source of truth and `loadGatewayConfig` reports a bad file with
 * the exact JSON path of each problem.
 */

export { NAMESPACE_PATTERN, UPSTREAM_PROTOCOLS, upstreamSchema } from '../upstreams/upstreamSettings.js';

export const AUTH_MODES = ['none-loopback-dev', 'oauth'] as const;

const devAuth = z
  .object({
    /**
     * `none-loopback-dev`: no authentication, accepted only on a loopback address, for local
     * development. Every request acts as `devUser` with every scope.
     */
    mode: z.literal('none-loopback-dev'),
    devUser: z.string().min(1).max(320).default('local-dev'),
  })
  .strict();

const scopeName = z.string().regex(/^[a-z][a-z0-9-]{0,15}:(read|write|admin)$/, 'must be a gateway scope such as "pm:write" (<namespace>:read|write|admin)');

const oauthAuth = z
  .object({
    /** OAuth 2.1 resource server (MCP authorization). */
    mode: z.literal('oauth'),
    /**
     * The gateway's external base URL (scheme, host, port), from which its resource
     * identifiers derive (`<publicUrl>/mcp`, `<publicUrl>/servers/<ns>/mcp`). Default: the
     * address it listens on. Set it when clients reach the gateway through a proxy.
     */
    publicUrl: z.url({ protocol: /^https?$/, message: 'must be an http(s) origin such as https://mcp.example.com' }).optional(),
    /** An external OpenID Provider / authorization server; when absent the embedded one runs. */
    issuer: z.url({ protocol: /^https?$/, message: 'must be the issuer URL, e.g. https://keycloak.example.com/realms/acme' }).optional(),
    /** `jwt`: RFC 9068 access tokens checked against the issuer's keys; `introspection`: RFC 7662. */
    tokenFormat: z.enum(['jwt', 'introspection']).default('jwt'),
    /** The gateway's own client for token introspection; the secret comes from an environment variable. */
    introspection: z
      .object({
        clientId: z.string().min(1),
        clientSecretEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'),
      })
      .strict()
      .optional(),
    /** Signature algorithms accepted on access tokens (never `none` or HMAC). */
    algorithms: z
      .array(z.enum(['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA', 'Ed25519']))
      .min(1)
      .default(['ES256', 'RS256', 'PS256', 'EdDSA']),
    /** Tolerated clock difference for exp/nbf, in seconds. */
    clockToleranceSeconds: z.number().int().min(0).max(300).default(30),
    /**
     * The least-privilege scopes a 401 challenge names and the embedded authorization server
     * grants a client that asks for none. Default: read and write of every upstream's namespace
     * (never admin; admin comes by step-up when a call needs it).
     */
    defaultScopes: z.array(scopeName).min(1, 'list at least one scope, e.g. ["pm:read"]').optional(),
    /** Per-tool scope overrides: { "<namespace>": { "<tool>": "<namespace>:<level>" } }. */
    toolScopes: z.record(z.string(), z.record(z.string(), scopeName)).default({}),
    /** Users and script clients of the embedded authorization server (ignored with `issuer`). */
    embedded: embeddedAuthSettingsSchema.optional(),
  })
  .strict()
  .superRefine((auth, ctx) => {
    if (auth.tokenFormat === 'introspection' && (!auth.issuer || !auth.introspection)) {
      ctx.addIssue({
        code: 'custom',
        path: ['introspection'],
        message: 'tokenFormat "introspection" needs "issuer" and "introspection": { clientId, clientSecretEnv }',
      });
    }
    if (auth.publicUrl && new URL(auth.publicUrl).pathname !== '/') {
      ctx.addIssue({ code: 'custom', path: ['publicUrl'], message: 'must be an origin without a path, e.g. https://mcp.example.com' });
    }
  });

export const authSchema = z.discriminatedUnion('mode', [devAuth, oauthAuth], {
  error: () => `must have "mode": one of ${AUTH_MODES.join(', ')}`,
});

export const gatewaySchema = z
  .object({
    listen: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8080),
      })
      .strict()
      .default({ host: '127.0.0.1', port: 8080 }),
    /** Joins namespace and name for tools and prompts (`pm__create_task`). */
    separator: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,4}$/, 'must be 1-4 of A-Z a-z 0-9 _ -')
      .default('__'),
    auth: authSchema,
    http: z
      .object({
        /** Browser origins allowed besides loopback ones (DNS-rebinding defence, MCP transport spec). */
        allowedOrigins: z.array(z.string().regex(/^https?:\/\/[^/]+$/, 'must be an origin such as https://app.example.com')).default([]),
        /** Host header values allowed besides loopback names (only checked when bound to loopback). */
        allowedHosts: z.array(z.string().min(1)).default([]),
        maxBodyBytes: z
          .number()
          .int()
          .min(1024)
          .max(64 * 1024 * 1024)
          .default(1024 * 1024),
        /** Idle sessions (no request, no open stream) are closed after this long. */
        sessionIdleTimeoutMs: z
          .number()
          .int()
          .min(1000)
          .default(30 * 60_000),
        maxSessions: z.number().int().min(1).default(10_000),
        /** SSE events kept per session for `Last-Event-ID` replay. */
        replayBufferEvents: z.number().int().min(0).max(100_000).default(256),
        /** Items per page of tools/list, prompts/list, resources/templates/list. */
        pageSize: z.number().int().min(1).max(10_000).default(100),
        /** How long SIGTERM waits for in-flight calls before stopping the children. */
        drainTimeoutMs: z.number().int().min(0).max(600_000).default(10_000),
        /**
         * A client has this long to send a request's headers, and `requestTimeoutMs` to send the
         * whole request, or its connection is closed (slow senders hold no connection for long).
         * Answers are not bounded by them: SSE streams and long calls stay open.
         */
        headersTimeoutMs: z.number().int().min(500).max(600_000).default(20_000),
        requestTimeoutMs: z.number().int().min(500).max(3_600_000).default(30_000),
      })
      .strict()
      .refine((http) => http.headersTimeoutMs <= http.requestTimeoutMs, {
        message: 'headersTimeoutMs must not exceed requestTimeoutMs',
        path: ['headersTimeoutMs'],
      })
      .default({
        allowedOrigins: [],
        allowedHosts: [],
        maxBodyBytes: 1024 * 1024,
        sessionIdleTimeoutMs: 30 * 60_000,
        maxSessions: 10_000,
        replayBufferEvents: 256,
        pageSize: 100,
        drainTimeoutMs: 10_000,
        headersTimeoutMs: 20_000,
        requestTimeoutMs: 30_000,
      }),
    upstreams: z.array(upstreamSchema).min(1, 'declare at least one upstream'),
    /** Curated tool sets served at /views/{name}/mcp (gateway/views/viewSettings.ts); reloaded without a restart. */
    views: viewsSchema,
    /** Several instances behind a load balancer sharing sessions, limits and cache invalidations (gateway/cluster/). */
    cluster: clusterSchema.prefault({}),
    /** Rate limits, response size limit, argument validation (gateway/policy/policySettings.ts). */
    limits: limitsSchema.prefault({}),
    /** Caching of read-only idempotent tool results and resource reads. */
    cache: cacheSchema.prefault({}),
    /** Call logs, audit log, metrics, status page (gateway/observability/observabilitySettings.ts). */
    observability: observabilitySchema.prefault({}),
    /** Composite tools across upstreams (gateway/workflows/workflowSettings.ts); absent means none. */
    workflows: workflowsSchema.optional(),
  })
  .strict()
  .superRefine((config, ctx) => {
    const seen = new Map<string, number>();
    config.upstreams.forEach((upstream, index) => {
      const first = seen.get(upstream.namespace);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `duplicate namespace "${upstream.namespace}" (already used by upstreams[${first}])`,
          path: ['upstreams', index, 'namespace'],
        });
      } else seen.set(upstream.namespace, index);
    });
    if (config.workflows && seen.has(config.workflows.namespace)) {
      ctx.addIssue({
        code: 'custom',
        message: `"${config.workflows.namespace}" is an upstream's namespace; composite tools need a namespace of their own`,
        path: ['workflows', 'namespace'],
      });
    }
  });

export type GatewayConfigInput = z.input<typeof gatewaySchema>;
export type GatewayConfig = z.output<typeof gatewaySchema>;
export type { UpstreamConfig } from '../upstreams/upstreamSettings.js';
export type AuthMode = (typeof AUTH_MODES)[number];
export type OAuthConfig = z.output<typeof oauthAuth>;
