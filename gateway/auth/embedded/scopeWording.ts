import { isAdminScope } from '../scopePolicy.js';

/**
 * How the consent page words a scope, so a user knows what ticking it allows. Gateway scopes
 * are `<namespace>:<level>` (scopePolicy.ts): levels nest, and a tool's level comes from its
 * annotations (read-only → read, non-destructive → write, otherwise admin).
 */
const LEVEL_WORDS: Readonly<Record<string, string>> = {
  read: 'see its data: read-only tools, resources and prompts',
  write: 'create and change its data with tools that are not destructive (includes read)',
  admin: 'use every tool, including destructive ones that delete or overwrite (includes write and read)',
};

export interface ScopeWording {
  scope: string;
  /** A sentence for the page, e.g. `pm: see its data: read-only tools, resources and prompts`. */
  words: string;
  /** Admin scopes are never ticked by default: the user opts in to destructive tools. */
  admin: boolean;
}

export function wordScope(scope: string): ScopeWording {
  const colon = scope.lastIndexOf(':');
  const level = colon === -1 ? undefined : LEVEL_WORDS[scope.slice(colon + 1)];
  const words = level ? `${scope.slice(0, colon)}: ${level}` : scope;
  return { scope, words, admin: isAdminScope(scope) };
}
