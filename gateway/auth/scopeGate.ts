import type { ServerResponse } from 'node:http';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { CatalogView } from '../catalog/upstreamCatalog.js';
import { sendRpcError } from '../http/jsonRpcMessages.js';
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
}

/** The refusal for the first request in `messages` that needs a scope the token lacks, if any. */
export type ScopeCheck = (path: string, view: CatalogView, identity: CallerIdentity, messages: ReadonlyArray<JSONRPCMessage | { id: unknown; method: string; params?: Record<string, unknown> }>) => ScopeRefusal | undefined;

export type ScopeGate = (res: ServerResponse, path: string, view: CatalogView, identity: CallerIdentity, messages: readonly JSONRPCMessage[]) => boolean;

/**
 * Refuse, before anything is forwarded, a request that needs a scope the token lacks: HTTP
 * 403 with `WWW-Authenticate: Bearer error="insufficient_scope", scope="…"` so that a client can
 * step up (MCP authorization, scope challenge; the scope asked for is the union of those held
 * and those missing), and a JSON-RPC error naming the scope for clients and models that read
 * the body.
 */
export function createScopeCheck(policy: AccessPolicy, resourceFor: (path: string) => { resource: ProtectedResource }): ScopeCheck {
  return (path, view, identity, messages) => {
    const granted = new Set(identity.scopes);
    for (const message of messages) {
      if (!('method' in message) || !('id' in message)) continue;
      const requirement = policy.requirementOf(view, message.method, message.params as Record<string, unknown> | undefined);
      if (!requirement) continue;
      const missing = missingScopes(granted, requirement.scopes);
      if (missing.length === 0) continue;
      const description = `${requirement.what} needs scope ${missing.join(' ')}; the access token has ${identity.scopes.length ? identity.scopes.join(' ') : 'no scopes'}`;
      return {
        status: 403,
        code: INSUFFICIENT_SCOPE,
        message: `Forbidden: ${description}. Authorize again asking for ${missing.join(' ')}.`,
        headers: { 'WWW-Authenticate': insufficientScopeChallenge(resourceFor(path).resource, identity.scopes, missing, description) },
      };
    }
    return undefined;
  };
}

/** A scope check that writes its refusal, for 2025-era POSTs (echoing the id of a single request). */
export function scopeGateOf(check: ScopeCheck): ScopeGate {
  return (res, path, view, identity, messages) => {
    const refusal = check(path, view, identity, messages);
    if (!refusal) return true;
    const only = messages.length === 1 ? messages[0] : undefined;
    const id = only && 'id' in only && (typeof only.id === 'string' || typeof only.id === 'number') ? only.id : null;
    sendRpcError(res, refusal.status, refusal.code, refusal.message, refusal.headers, id);
    return false;
  };
}
