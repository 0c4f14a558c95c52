import { LRUCache } from 'lru-cache';
import type { CacheSettings } from './policySettings.js';

/** How one tool's results, or one namespace's resource reads, are cached. */
export interface CacheRule {
  ttlMs: number;
  perUser: boolean;
}

interface Entry {
  value: Record<string, unknown>;
  bytes: number;
  storedAt: number;
}

/** A place in the cache, taken before the upstream is asked; `store` is refused if it was invalidated meanwhile. */
export interface CacheSlot {
  key: string;
  namespace: string;
  generation: string;
  rule: CacheRule;
}

export type InvalidationReason = 'write' | 'resource_updated' | 'list_changed' | 'remote';

/**
 * Results of read-only idempotent tools and resource reads, keyed by everything that can
 * change the answer: namespace, tool or URI, canonical arguments and — unless configured as
 * shared — the user. Invalidation bumps generations that are part of the keys (a write or a
 * list_changed: the whole namespace; resources/updated: that URI and the namespace's tool
 * results, which may reflect it), so it costs O(1) and stale entries age out of the LRU.
 */
export class ResponseCache {
  private readonly entries: LRUCache<string, Entry>;
  /** Bumped by anything that may change a namespace's tool results. */
  private readonly toolGenerations = new Map<string, number>();
  /** Bumped by anything that may change every resource of a namespace. */
  private readonly namespaceGenerations = new Map<string, number>();
  private readonly uriGenerations = new Map<string, number>();
  private readonly listeners: Array<(namespace: string, uri: string | undefined, reason: InvalidationReason) => void> = [];

  constructor(private readonly settings: CacheSettings) {
    this.entries = new LRUCache<string, Entry>({
      max: settings.maxEntries,
      maxSize: settings.maxBytes,
      sizeCalculation: (entry) => Math.max(1, entry.bytes),
    });
  }

  get size(): number {
    return this.entries.size;
  }

  /** The rule for a tool, or undefined when its results are not cached here. */
  toolRule(namespace: string, tool: string): CacheRule | undefined {
    const ns = this.settings.namespaces[namespace];
    return this.rule([this.settings, ns, ns?.tools[tool]]);
  }

  resourceRule(namespace: string): CacheRule | undefined {
    const ns = this.settings.namespaces[namespace];
    return this.rule([this.settings, ns, ns?.resources]);
  }

  private rule(layers: ReadonlyArray<{ ttlMs?: number | undefined; perUser?: boolean | undefined } | undefined>): CacheRule | undefined {
    if (!this.settings.enabled) return undefined;
    let ttlMs = this.settings.ttlMs;
    let perUser = this.settings.perUser;
    for (const layer of layers) {
      if (layer?.ttlMs !== undefined) ttlMs = layer.ttlMs;
      if (layer?.perUser !== undefined) perUser = layer.perUser;
    }
    return ttlMs > 0 ? { ttlMs, perUser } : undefined;
  }

  toolSlot(namespace: string, tool: string, user: string, args: unknown, rule: CacheRule): CacheSlot {
    const generation = `${this.toolGenerations.get(namespace) ?? 0}`;
    const key = ['t', namespace, generation, tool, rule.perUser ? user : '*', canonicalJson(args ?? {})].join('\0');
    return { key, namespace, generation, rule };
  }

  resourceSlot(namespace: string, uri: string, user: string, rule: CacheRule): CacheSlot {
    const generation = `${this.namespaceGenerations.get(namespace) ?? 0}.${this.uriGenerations.get(`${namespace}\0${uri}`) ?? 0}`;
    const key = ['r', namespace, generation, uri, rule.perUser ? user : '*'].join('\0');
    return { key, namespace, generation, rule };
  }

  get(slot: CacheSlot): { value: Record<string, unknown>; ageMs: number; bytes: number } | undefined {
    const entry = this.entries.get(slot.key);
    return entry ? { value: entry.value, ageMs: Date.now() - entry.storedAt, bytes: entry.bytes } : undefined;
  }

  /** Keep a result (for `ttlMs`, at most the slot's rule) unless the namespace (or URI) was invalidated while it was being fetched. */
  store(slot: CacheSlot, value: Record<string, unknown>, bytes: number, current: CacheSlot, ttlMs = slot.rule.ttlMs): boolean {
    if (current.generation !== slot.generation) return false;
    this.entries.set(slot.key, { value, bytes, storedAt: Date.now() }, { ttl: Math.min(ttlMs, slot.rule.ttlMs) });
    return true;
  }

  /** Everything cached for a namespace (a write through the gateway, a list_changed). */
  invalidateNamespace(namespace: string, reason: InvalidationReason): void {
    bump(this.toolGenerations, namespace);
    bump(this.namespaceGenerations, namespace);
    for (const listener of this.listeners) listener(namespace, undefined, reason);
  }

  /** One resource changed upstream: its reads, and the namespace's tool results, which may reflect it. */
  invalidateResource(namespace: string, uri: string, reason: InvalidationReason): void {
    bump(this.uriGenerations, `${namespace}\0${uri}`);
    bump(this.toolGenerations, namespace);
    for (const listener of this.listeners) listener(namespace, uri, reason);
  }

  /** Told of every invalidation (metrics, and a shared bus between instances). */
  onInvalidate(listener: (namespace: string, uri: string | undefined, reason: InvalidationReason) => void): void {
    this.listeners.push(listener);
  }
}

function bump(generations: Map<string, number>, key: string): void {
  generations.set(key, (generations.get(key) ?? 0) + 1);
}

/** JSON with object keys sorted at every level, so `{a,b}` and `{b,a}` share an entry. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return item;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(item).sort()) sorted[key] = (item as Record<string, unknown>)[key];
    return sorted;
  });
}
