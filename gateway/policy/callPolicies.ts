import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { NameTarget } from '../catalog/upstreamCatalog.js';
import { wireSizeOf } from '../upstreams/wireSize.js';
import type { ToolArgumentValidator } from './argumentValidation.js';
import { describeWait, PolicyRefusal } from './policyRefusal.js';
import type { RateLimiter } from './rateLimiter.js';
import type { ResourceReadMiddleware } from '../calls/resourceReadPipeline.js';
import type { CacheRule, ResponseCache } from './responseCache.js';
import type { ToolCallContext, ToolCallMiddleware } from '../calls/toolCallPipeline.js';

/** Gateway `_meta` key on a result served from the cache: `{ hit: true, ageMs }`. */
export const CACHE_META_KEY = 'io.manifold/cache';

const toolIndexes = new WeakMap<readonly Tool[], Map<string, Tool>>();

/** The upstream's definition of the called tool (annotations, input schema), as last listed. */
export function toolDefinition(target: NameTarget): Tool | undefined {
  const tools = target.upstream.tools;
  let index = toolIndexes.get(tools);
  if (!index) {
    index = new Map(tools.map((tool) => [tool.name, tool]));
    toolIndexes.set(tools, index);
  }
  return index.get(target.name);
}

/** A write is any tool not annotated read-only (MCP's default for an unannotated tool). */
export function isWriteTool(tool: Tool | undefined): boolean {
  return tool?.annotations?.readOnlyHint !== true;
}

/** The size of a value as JSON: as it came from an upstream when its transport noted that, else serialized. */
export function jsonBytes(value: unknown): number {
  if (value === undefined) return 0;
  return wireSizeOf(value) ?? Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/** A refusal becomes the call's result (isError, with the details in `_meta`); anything else passes. */
export const refusalsAsResults: ToolCallMiddleware = async (call, next) => {
  try {
    return await next(call);
  } catch (error) {
    if (!(error instanceof PolicyRefusal)) throw error;
    return error.toToolResult();
  }
};

/** Per user and per tool rate limits; a refused call names the limit and when to retry. */
export function rateLimit(limiter: RateLimiter, onRefused: (limit: string, call: ToolCallContext) => void): ToolCallMiddleware {
  return async (call, next) => {
    const tool = toolDefinition(call.target);
    const decision = await limiter.check({
      user: call.caller.user,
      namespace: call.target.upstream.namespace,
      tool: call.target.name,
      exposedName: call.exposedName,
      write: isWriteTool(tool),
    });
    if (decision.allowed) return next(call);
    const rule = decision.rule!;
    const retryAfterMs = decision.retryAfterMs ?? limiter.windowMs;
    const retryAt = new Date(Date.now() + retryAfterMs).toISOString();
    onRefused(rule.limit, call);
    throw new PolicyRefusal(
      'rate_limited',
      `Rate limit "${rule.limit}" reached: at most ${rule.max} ${rule.describes} every ${describeWait(limiter.windowMs)}. ` +
        `Retry after ${describeWait(retryAfterMs)} (at ${retryAt}). The call was not forwarded.`,
      { limit: rule.limit, max: rule.max, windowMs: limiter.windowMs, retryAfterMs, retryAfterSeconds: Math.ceil(retryAfterMs / 1000), retryAt },
    );
  };
}

/** Arguments checked against the tool's input schema before they reach the upstream. */
export function validateArguments(validator: ToolArgumentValidator): ToolCallMiddleware {
  return async (call, next) => {
    const tool = toolDefinition(call.target);
    if (tool) {
      const refusal = validator.check(tool, call.arguments, call.exposedName);
      if (refusal) throw refusal;
    }
    return next(call);
  };
}

/** A result larger than `maxBytes` is refused rather than passed on (and never cached). */
export function limitResponseSize(maxBytes: number): ToolCallMiddleware {
  return async (call, next) => {
    const result = await next(call);
    const facts = call.facts;
    const bytes = facts?.responseBytes ?? jsonBytes(result);
    if (facts) facts.responseBytes = bytes;
    if (bytes > maxBytes) throw tooLarge(`The result of ${call.exposedName}`, bytes, maxBytes);
    return result;
  };
}

function tooLarge(what: string, bytes: number, maxBytes: number): PolicyRefusal {
  return new PolicyRefusal(
    'too_large',
    `${what} is ${bytes} bytes, over the gateway's response limit of ${maxBytes} bytes (limits.maxResponseBytes). Ask for less (a narrower query, a page, a smaller range).`,
    { bytes, maxBytes },
  );
}

/**
 * Results of tools annotated read-only and idempotent come from the cache while fresh (unless
 * the call asks for a fresh read, whose answer then replaces the cached one); any
 * other tool through the gateway is a write that invalidates its namespace (before it is
 * forwarded, so a concurrent read cannot store an answer from before it, and after it).
 */
export function cacheToolResults(cache: ResponseCache, onLookup: (hit: boolean, call: ToolCallContext) => void): ToolCallMiddleware {
  return async (call, next) => {
    const namespace = call.target.upstream.namespace;
    const tool = toolDefinition(call.target);
    const facts = call.facts;
    if (isWriteTool(tool)) {
      cache.invalidateNamespace(namespace, 'write');
      try {
        return await next(call);
      } finally {
        cache.invalidateNamespace(namespace, 'write');
      }
    }
    const rule = tool?.annotations?.idempotentHint === true && !call.inputRound ? cache.toolRule(namespace, call.target.name) : undefined;
    if (!rule) {
      if (facts) facts.cache = 'bypass';
      return next(call);
    }
    const slot = cache.toolSlot(namespace, call.target.name, call.caller.user, call.arguments, rule);
    // An answer its upstream marked private (MCP 2026-07-28 cacheScope) is kept per user even where the rule shares.
    const privateSlot = rule.perUser ? slot : cache.toolSlot(namespace, call.target.name, call.caller.user, call.arguments, { ...rule, perUser: true });
    const cached = call.freshRead ? undefined : (cache.get(slot) ?? (privateSlot === slot ? undefined : cache.get(privateSlot)));
    if (!call.freshRead) onLookup(cached !== undefined, call);
    if (cached) {
      if (facts) {
        facts.cache = 'hit';
        facts.responseBytes = cached.bytes;
      }
      return withCacheMeta(cached.value, cached.ageMs);
    }
    if (facts) facts.cache = call.freshRead ? 'bypass' : 'miss';
    const result = await next(call);
    // Only final answers are kept: not an input_required round, nor a CreateTaskResult (SEP-2663 `resultType: "task"`).
    if (result.isError !== true && result.resultType !== 'input_required' && result.resultType !== 'task') {
      const bytes = facts?.responseBytes ?? jsonBytes(result);
      if (facts) facts.responseBytes = bytes;
      const stored = storedRule(rule, result);
      if (stored) {
        cache.store(
          stored.perUser === rule.perUser ? slot : privateSlot,
          result,
          bytes,
          cache.toolSlot(namespace, call.target.name, call.caller.user, call.arguments, stored),
          stored.ttlMs,
        );
      }
    }
    return result;
  };
}

/**
 * How a result is kept, given the rule and the upstream's own cache hint (MCP 2026-07-28
 * `ttlMs`, `cacheScope`): an answer marked private is kept per user even where the rule
 * shares, and never longer than the upstream said it stays fresh; `ttlMs: 0` is not kept.
 */
function storedRule(rule: CacheRule, result: Record<string, unknown>): CacheRule | undefined {
  const perUser = rule.perUser || result.cacheScope === 'private';
  const hint = result.ttlMs;
  const ttlMs = typeof hint === 'number' && Number.isSafeInteger(hint) && hint >= 0 ? Math.min(rule.ttlMs, hint) : rule.ttlMs;
  if (ttlMs <= 0) return undefined;
  return perUser === rule.perUser && ttlMs === rule.ttlMs ? rule : { ttlMs, perUser };
}

/** A cached answer marked as such; its own freshness hint, when it has one, counts down from when it was stored. */
function withCacheMeta(value: Record<string, unknown>, ageMs: number): Record<string, unknown> {
  const meta = (value._meta as Record<string, unknown> | undefined) ?? {};
  const fresh = typeof value.ttlMs === 'number' ? { ttlMs: Math.max(0, value.ttlMs - ageMs) } : {};
  return { ...value, ...fresh, _meta: { ...meta, [CACHE_META_KEY]: { hit: true, ageMs } } };
}

/** resources/read: cache per namespace rules, then the response size limit. */
export function cacheAndLimitResourceReads(
  cache: ResponseCache,
  maxBytes: number,
  onLookup: (hit: boolean, namespace: string) => void,
): ResourceReadMiddleware {
  return async (read, next) => {
    const namespace = read.upstream.namespace;
    const facts = read.facts;
    const round = read.params.inputResponses !== undefined || read.params.requestState !== undefined;
    const rule = round ? undefined : cache.resourceRule(namespace);
    const slot = rule ? cache.resourceSlot(namespace, read.uri, read.caller.user, rule) : undefined;
    const privateSlot = rule && !rule.perUser ? cache.resourceSlot(namespace, read.uri, read.caller.user, { ...rule, perUser: true }) : slot;
    if (slot) {
      const cached = cache.get(slot) ?? (privateSlot && privateSlot !== slot ? cache.get(privateSlot) : undefined);
      onLookup(cached !== undefined, namespace);
      if (cached) {
        if (facts) {
          facts.cache = 'hit';
          facts.responseBytes = cached.bytes;
        }
        return withCacheMeta(cached.value, cached.ageMs);
      }
      if (facts) facts.cache = 'miss';
    } else if (facts) facts.cache = 'bypass';
    const result = await next(read);
    const bytes = jsonBytes(result);
    if (facts) facts.responseBytes = bytes;
    if (bytes > maxBytes) throw tooLarge(`Resource ${read.exposedUri}`, bytes, maxBytes).toRpcError();
    if (slot && rule && privateSlot && result.resultType !== 'input_required') {
      const stored = storedRule(rule, result);
      if (stored)
        cache.store(
          stored.perUser === rule.perUser ? slot : privateSlot,
          result,
          bytes,
          cache.resourceSlot(namespace, read.uri, read.caller.user, stored),
          stored.ttlMs,
        );
    }
    return result;
  };
}
