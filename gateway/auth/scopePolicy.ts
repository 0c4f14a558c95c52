import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';

/**
 * Scopes are `<namespace>:<level>`. Levels nest: admin includes write, write includes
 * read, so a token with `pm:write` may also read project data.
 */
export const ACCESS_LEVELS = ['read', 'write', 'admin'] as const;
export type AccessLevel = (typeof ACCESS_LEVELS)[number];

/** Every scope the gateway knows: read, write and admin for each namespace. */
export function scopesForNamespaces(namespaces: readonly string[]): string[] {
  return namespaces.flatMap((ns) => ACCESS_LEVELS.map((level) => `${ns}:${level}`));
}

/**
 * Default level from a tool's annotations. MCP's defaults apply when a hint is absent:
 * readOnlyHint false and destructiveHint true — so an unannotated tool needs admin.
 */
export function accessLevelFor(annotations: ToolAnnotations | undefined): AccessLevel {
  if (annotations?.readOnlyHint === true) return 'read';
  if (annotations?.destructiveHint === false) return 'write';
  return 'admin';
}

/**
 * The least-privilege default: read and write of each namespace, never admin. This is what a
 * 401 challenge names (MCP authorization, scope selection: a client asks for the challenged
 * scope before falling back to `scopes_supported`) and what the embedded authorization server
 * grants a client that asks for nothing. Admin levels (destructive tools, by MCP's annotation
 * defaults) come only by step-up, when a call needs them.
 */
export function defaultScopesForNamespaces(namespaces: readonly string[]): string[] {
  return namespaces.flatMap((ns) => [scopeFor(ns, 'read'), scopeFor(ns, 'write')]);
}

/** Is this an admin-level scope (`<ns>:admin`)? Such scopes are never granted by default. */
export function isAdminScope(scope: string): boolean {
  return scope.endsWith(':admin');
}

/**
 * What a step-up challenge asks for: the scopes the token holds plus those the call misses
 * (MCP authorization, scope challenge handling), so that re-authorizing does not lose what the
 * client could already do. Order: held first, then missing; no duplicates.
 */
export function stepUpScopes(held: readonly string[], missing: readonly string[]): string[] {
  return [...new Set([...held, ...missing])];
}

export function scopeFor(namespace: string, level: AccessLevel): string {
  return `${namespace}:${level}`;
}

/** Does a set of granted scopes include `required`, counting level nesting and `*`? */
export function grants(granted: ReadonlySet<string>, required: string): boolean {
  if (granted.has('*') || granted.has(required)) return true;
  const colon = required.lastIndexOf(':');
  if (colon === -1) return false;
  const namespace = required.slice(0, colon);
  const level = required.slice(colon + 1) as AccessLevel;
  const rank = ACCESS_LEVELS.indexOf(level);
  if (rank === -1) return false;
  return ACCESS_LEVELS.slice(rank + 1).some((higher) => granted.has(`${namespace}:${higher}`));
}

/** The scopes in `required` that `granted` lacks. */
export function missingScopes(granted: ReadonlySet<string>, required: readonly string[]): string[] {
  return required.filter((scope) => !grants(granted, scope));
}
