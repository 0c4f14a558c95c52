import { z } from 'zod';

/**
 * One upstream's settings (`upstreams[]` in the gateway configuration; every field is documented
 * in config/README.md). The upstreams layer owns them; gateway/config/schema.ts assembles them
 * with the other subsystems' settings.
 */

/** When an upstream changes a tool definition it advertised before (integrity/toolPins.ts). */
export const INTEGRITY_POLICIES = ['withhold', 'warn', 'accept'] as const;
export type IntegrityPolicy = (typeof INTEGRITY_POLICIES)[number];

export const NAMESPACE_PATTERN = /^[a-z][a-z0-9-]{0,15}$/;
/** `*` matches any run of characters; everything else is literal. */
const toolPattern = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_.*\-/]+$/, 'may contain letters, digits, _ - . / and * (wildcard)');

const stdioLaunch = z
  .object({
    command: z.string().min(1, 'must name the program to run, e.g. "node"'),
    args: z.array(z.string()).default([]),
    /** Literal variables for the child, merged over a minimal inherited environment. */
    env: z.record(z.string(), z.string()).default({}),
    /** Names of gateway environment variables passed through unchanged (e.g. "GITHUB_TOKEN"). */
    inheritEnv: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')).default([]),
    /** Working directory; relative paths resolve against the configuration file's folder. */
    cwd: z.string().optional(),
  })
  .strict();

const remoteLaunch = z
  .object({
    url: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }),
    /** `streamable-http` first with a fallback to legacy HTTP+SSE (`auto`), or one of them. */
    transport: z.enum(['auto', 'streamable-http', 'sse']).default('auto'),
    /** The gateway's own credentials for this upstream; never a client's token. */
    headers: z.record(z.string(), z.string()).default({}),
    /** Or: the gateway's own access token from the client credentials grant (OAuth 2.1 §4.2). */
    clientCredentials: z
      .object({
        issuer: z.url({ protocol: /^https?$/, message: 'must be the authorization server URL' }),
        clientId: z.string().min(1),
        /** The environment variable holding the client secret (secrets never live in the file). */
        clientSecretEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'),
        scope: z.string().optional(),
        /** Resource indicator (RFC 8707); defaults to the upstream URL. */
        resource: z.url().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** What the gateway may speak to an upstream (see `protocol` below). */
export const UPSTREAM_PROTOCOLS = ['auto', '2025-11-25', '2026-07-28'] as const;

export const upstreamSchema = z
  .object({
    namespace: z.string().regex(NAMESPACE_PATTERN, 'must be 1-16 characters: a lowercase letter, then lowercase letters, digits or "-"'),
    description: z.string().max(500).optional(),
    stdio: stdioLaunch.optional(),
    remote: remoteLaunch.optional(),
    tools: z
      .object({
        /** When set, only matching tools are exposed. */
        allow: z.array(toolPattern).optional(),
        /** Matching tools are never exposed nor callable (applied after `allow`). */
        deny: z.array(toolPattern).default([]),
      })
      .strict()
      .default({ deny: [] }),
    /** Longest wait for one call's answer without progress; progress notifications reset it. */
    callTimeoutMs: z.number().int().min(100).max(3_600_000).default(60_000),
    /** Hard ceiling for one call even with progress. */
    maxCallDurationMs: z
      .number()
      .int()
      .min(100)
      .max(24 * 3_600_000)
      .default(600_000),
    /** Calls in flight at once to this upstream; further calls wait in a bounded queue. */
    maxConcurrency: z.number().int().min(1).max(10_000).default(64),
    /** Calls allowed to wait for a slot; beyond it a call fails at once with a clear error. */
    maxQueue: z.number().int().min(0).max(100_000).default(256),
    /** A required upstream must be initialized for /readyz to be green. */
    required: z.boolean().default(true),
    /**
     * The MCP revision the gateway speaks to this upstream: `auto` asks with server/discover and
     * falls back to the 2025 initialize handshake (asked again whenever the upstream restarts);
     * a revision pins it.
     */
    protocol: z.enum(UPSTREAM_PROTOCOLS, { message: `must be one of ${UPSTREAM_PROTOCOLS.join(', ')}` }).default('auto'),
    /**
     * When this upstream changes a tool definition it advertised before: `withhold` the tool
     * until an operator approves (`integrity approve`), `warn` (serve it, log and record the
     * change), or `accept` it silently.
     */
    integrity: z.enum(INTEGRITY_POLICIES, { message: `must be one of ${INTEGRITY_POLICIES.join(', ')}` }).default('withhold'),
    /**
     * How calls share the upstream: `shared` — one connection (one child) for every client, and
     * a request the upstream sends mid-call (sampling, elicitation, roots) reaches its caller by
     * the `_meta` it echoes, or as the only call in flight; `per-user` — each call of a client
     * that can be asked such things runs on a pooled connection of its own user's that carries
     * one call at a time (isolationPool), for upstreams that ask without echoing `_meta`;
     * `auto` — shared, but while a 2025-era upstream not yet seen echoing `_meta` carries a call
     * of a client that can be asked, other calls go to pooled connections, so that whatever it
     * asks has one possible owner. A pooled connection is a process (or remote session) of its
     * own: state kept in the upstream's memory is not shared with it, which is why `shared`, not
     * `auto`, is the default (the gateway cannot tell whether a server keeps such state).
     */
    isolation: z.enum(['shared', 'auto', 'per-user'], { message: 'must be "shared", "auto" or "per-user"' }).default('shared'),
    isolationPool: z
      .object({
        perUser: z.number().int().min(1).max(1_000).default(4),
        total: z.number().int().min(1).max(10_000).default(32),
        idleMs: z
          .number()
          .int()
          .min(1_000)
          .max(24 * 3_600_000)
          .default(60_000),
      })
      .strict()
      .prefault({}),
    health: z
      .object({
        pingIntervalMs: z.number().int().min(100).max(3_600_000).default(15_000),
        pingTimeoutMs: z.number().int().min(50).max(600_000).default(5_000),
        /** Longest wait for `initialize` after the child starts. */
        startTimeoutMs: z.number().int().min(100).max(600_000).default(20_000),
      })
      .strict()
      .default({ pingIntervalMs: 15_000, pingTimeoutMs: 5_000, startTimeoutMs: 20_000 }),
    restart: z
      .object({
        initialDelayMs: z.number().int().min(10).max(600_000).default(500),
        maxDelayMs: z.number().int().min(10).max(3_600_000).default(30_000),
        /** A child that stayed up this long resets the backoff to its initial delay. */
        resetAfterMs: z.number().int().min(100).max(3_600_000).default(60_000),
      })
      .strict()
      .default({ initialDelayMs: 500, maxDelayMs: 30_000, resetAfterMs: 60_000 }),
  })
  .strict()
  .superRefine((upstream, ctx) => {
    if (!upstream.stdio === !upstream.remote) {
      ctx.addIssue({
        code: 'custom',
        message: 'set exactly one of "stdio" (a child process) or "remote" (a URL)',
        path: [],
      });
    }
    if (upstream.health.pingTimeoutMs >= upstream.health.pingIntervalMs) {
      ctx.addIssue({ code: 'custom', message: 'must be shorter than health.pingIntervalMs', path: ['health', 'pingTimeoutMs'] });
    }
  });

export type UpstreamConfig = z.output<typeof upstreamSchema>;
