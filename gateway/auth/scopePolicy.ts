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
