import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { CatalogView } from '../catalog/upstreamCatalog.js';
import type { AccessPolicy } from './accessPolicy.js';
import type { CallerIdentity } from './authenticate.js';
import { insufficientScopeChallenge, type ProtectedResource } from './protectedResource.js';
import { missingScopes } from './scopePolicy.js';

/** JSON-RPC error code for a request refused for lack of scope (server-defined range). */
export const INSUFFICIENT_SCOPE = -32003;

/** Why a request may not go on: HTTP 403, the JSON-RPC error, and the step-up challenge. */
export interface ScopeRefusal {
  status: 403;
  code: number;
  message: string;
  headers: Record<string, string>;
  /** The scopes the request needs that the token lacks. */
  missing: string[];
}

/** The refusal for the first request in `messages` that needs a scope the token lacks, if any. */
export type ScopeCheck = (
  path: string,
  view: CatalogView,
  identity: CallerIdentity,
  messages: ReadonlyArray<JSONRPCMessage | { id: unknown; method: string; params?: Record<string, unknown> }>,
) => ScopeRefusal | undefined;

/**
 * Which scopes a step-up challenge names. The revisions differ (MCP authorization, scope
 * challenge handling): up to 2025-11-25 a client asks for the challenged scopes exactly, so the
 * server names what the token holds plus what the call needs (`held-and-needed`); from
 * 2026-07-28 (SEP-2350) the server names what the call needs, as RFC 6750 §3.1 has it
 * (`needed`), and the client adds what it already holds.
 */
export type StepUpChallenge = 'held-and-needed' | 'needed';

/**
 * Refuse, before anything is forwarded, a request that needs a scope the token lacks: HTTP
 * 403 with `WWW-Authenticate: Bearer error="insufficient_scope", scope="…"` so that a client can
 * step up, and a JSON-RPC error naming the scope for clients and models that read the body.
 */
export function createScopeCheck(
  policy: AccessPolicy,
  resourceFor: (path: string) => { resource: ProtectedResource },
  challenge: StepUpChallenge = 'held-and-needed',
): ScopeCheck {
  return (path, view, identity, messages) => {
    const granted = new Set(identity.scopes);
    for (const message of messages) {
      if (!('method' in message) || !('id' in message)) continue;
      const requirement = policy.requirementOf(view, message.method, message.params as Record<string, unknown> | undefined);
      if (!requirement) continue;
      const missing = missingScopes(granted, requirement.scopes);
      if (missing.length === 0) continue;
      const description = `${requirement.what} needs scope ${missing.join(' ')}; the access token has ${identity.scopes.length ? identity.scopes.join(' ') : 'no scopes'}`;
      const held = challenge === 'held-and-needed' ? identity.scopes : [];
      return {
        status: 403,
        code: INSUFFICIENT_SCOPE,
        message: `Forbidden: ${description}. Authorize again asking for ${missing.join(' ')}.`,
        headers: { 'WWW-Authenticate': insufficientScopeChallenge(resourceFor(path).resource, held, missing, description) },
        missing,
      };
    }
    return undefined;
  };
}
