import { z } from 'zod';
import { DEFAULT_SIGN_IN_LIMITS } from '../auth/embedded/signInLimits.js';

/**
 * The `limits` and `cache` sections of the gateway configuration (documented in
 * config/README.md). Both are optional; every field has a default.
 */

const count = z.number().int().min(0).max(10_000_000);

/** The methods besides tools/call that `limits.rate.requestsPerUser` and `.methods` count. */
export const LIMITED_METHODS = [
  'resources/read',
  'prompts/get',
  'completion/complete',
  'tools/list',
  'prompts/list',
  'resources/list',
  'resources/templates/list',
  'resources/subscribe',
  'subscriptions/listen',
] as const;

/** At most `max` attempts per `windowMs`. */
const tier = z
  .object({
    windowMs: z
      .number()
      .int()
      .min(1000)
      .max(7 * 86_400_000),
    max: z.number().int().min(1).max(1_000_000),
  })
  .strict();

const namespaceRateLimits = z
  .object({
    /** Calls of one user into this namespace per window. */
    perUser: count.optional(),
    /** Calls of one user to this namespace's write tools (not annotated read-only) per window. */
    writesPerUser: count.optional(),
    /** Calls of one user to one tool (upstream name) per window. */
    tools: z.record(z.string().min(1), count).default({}),
  })
  .strict();

export const rateLimitsSchema = z
  .object({
    /** Length of the fixed counting window. */
    windowMs: z
      .number()
      .int()
      .min(100)
      .max(24 * 3_600_000)
      .default(60_000),
    /** Calls of one user, all namespaces together, per window. */
    perUser: count.default(60),
    /** Calls of one user to write tools (not annotated read-only) per window. */
    writesPerUser: count.default(20),
    namespaces: z.record(z.string(), namespaceRateLimits).default({}),
    /**
     * Requests of one user per window other than tools/call that reach an upstream or cost work
     * (resources/read, prompts/get, completion/complete, the list methods, resources/subscribe,
     * subscriptions/listen), all together; `methods` caps single methods further.
     */
    requestsPerUser: count.default(300),
    methods: z.partialRecord(z.enum(LIMITED_METHODS), count).default({}),
    /**
     * Where counters live: `memory` (this process) or `redis` (shared by every instance, so
     * limits are global; the URL comes from the REDIS_URL environment variable).
     */
    store: z.enum(['memory', 'redis']).default('memory'),
  })
  .strict();

export const limitsSchema = z
  .object({
    /**
     * Per user and per tool rate limits. With OAuth the defaults apply when absent; with
     * `none-loopback-dev` (one local user) only when configured.
     */
    rate: rateLimitsSchema.optional(),
    /** A tool result or resource read larger than this (serialized JSON) is refused. */
    maxResponseBytes: z
      .number()
      .int()
      .min(1024)
      .max(512 * 1024 * 1024)
      .default(4 * 1024 * 1024),
    /** Check tools/call arguments against the upstream tool's input schema before forwarding. */
    validateArguments: z.boolean().default(true),
    /**
     * Calls of 2026-07-28 clients to 2025-era upstreams that wait, between two rounds, for the
     * client's answers to what the upstream asked (gateway/session/parkedCalls.ts), per instance:
     * at most `perUser` for one user and `total` in all. Each waits at most
     * MANIFOLD_RELAYED_INPUT_TTL_SECONDS (600) and is then cancelled upstream.
     */
    /**
     * What one user may hold open at once on one instance, so that no caller can take every
     * slot from the others: 2025 sessions (the global cap is http.maxSessions), 2026
     * subscriptions/listen streams, and calls in flight. A refusal says which cap, the count,
     * and when to retry.
     */
    perUser: z
      .object({
        sessions: z.number().int().min(1).max(1_000_000).default(100),
        listenStreams: z.number().int().min(1).max(1_000_000).default(20),
        /** Calls in flight at once, over every upstream. */
        inFlight: z.number().int().min(1).max(1_000_000).default(64),
      })
      .strict()
      .prefault({}),
    /**
     * Sign-in attempts the embedded authorization server accepts per account and per client
     * address, and client registrations per address: tiers of growing windows, so a guesser
     * waits a minute, then an hour, then a day (gateway/auth/embedded/signInThrottle.ts).
     */
    signIn: z
      .object({
        perAccount: z.array(tier).min(1).default(DEFAULT_SIGN_IN_LIMITS.perAccount),
        perAddress: z.array(tier).min(1).default(DEFAULT_SIGN_IN_LIMITS.perAddress),
        registrationsPerAddress: z.array(tier).min(1).default(DEFAULT_SIGN_IN_LIMITS.registrationsPerAddress),
      })
      .strict()
      .prefault({}),
    bridgedCalls: z
      .object({ perUser: z.number().int().min(1).max(100_000).default(16), total: z.number().int().min(1).max(1_000_000).default(1_000) })
      .strict()
      .prefault({}),
  })
  .strict();

const cacheRule = z
  .object({
    /** How long an entry is served; 0 turns caching off here. */
    ttlMs: z
      .number()
      .int()
      .min(0)
      .max(24 * 3_600_000)
      .optional(),
    /** Key entries by user (results may depend on who asks). `false` shares them between users. */
    perUser: z.boolean().optional(),
  })
  .strict();

const namespaceCache = cacheRule
  .extend({
    /** Rules for resources/read of this namespace. */
    resources: cacheRule.optional(),
    /** Rules per tool (upstream name). */
    tools: z.record(z.string().min(1), cacheRule).default({}),
  })
  .strict();

export const cacheSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Default time to live of tool results and resource reads. */
    ttlMs: z
      .number()
      .int()
      .min(0)
      .max(24 * 3_600_000)
      .default(30_000),
    perUser: z.boolean().default(true),
    maxEntries: z.number().int().min(1).max(10_000_000).default(10_000),
    /** Upper bound of the serialized size of all entries. */
    maxBytes: z
      .number()
      .int()
      .min(1024)
      .max(16 * 1024 * 1024 * 1024)
      .default(64 * 1024 * 1024),
    namespaces: z.record(z.string(), namespaceCache).default({}),
  })
  .strict();

export type LimitsSettings = z.output<typeof limitsSchema>;
export type RateLimitSettings = z.output<typeof rateLimitsSchema>;
export type CacheSettings = z.output<typeof cacheSchema>;
