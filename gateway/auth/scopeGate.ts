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

export type ScopeGate = (res: ServerResponse, path: string, view: CatalogView, identity: CallerIdentity, messages: readonly JSONRPCMessage[]) => boolean;

/**
 * Refuse, before anything is forwarded, a POST whose requests need a scope the token lacks:
 * HTTP 403 with `WWW-Authenticate: Bearer error="insufficient_scope", scope="…"` so that a
 * client can step up (MCP authorization, scope challenge), and a JSON-RPC error naming the
 * scope for clients and models that read the body.
 */
export function createScopeGate(policy: AccessPolicy, resourceFor: (path: string) => { resource: ProtectedResource }): ScopeGate {
  return (res, path, view, identity, messages) => {
    const granted = new Set(identity.scopes);
    for (const message of messages) {
      if (!('method' in message) || !('id' in message)) continue;
      const requirement = policy.requirementOf(view, message.method, message.params as Record<string, unknown> | undefined);
      if (!requirement) continue;
      const missing = missingScopes(granted, requirement.scopes);
      if (missing.length === 0) continue;
      const description = `${requirement.what} needs scope ${missing.join(' ')}; the access token has ${identity.scopes.length ? identity.scopes.join(' ') : 'no scopes'}`;
      sendRpcError(res, 403, INSUFFICIENT_SCOPE, `Forbidden: ${description}. Authorize again asking for ${missing.join(' ')}.`, {
        'WWW-Authenticate': insufficientScopeChallenge(resourceFor(path).resource, [...new Set([...identity.scopes, ...missing])], description),
      });
      return false;
    }
    return true;
  };
}
