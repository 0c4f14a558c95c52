import type { ServerResponse } from 'node:http';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { CallerIdentity } from '../auth/authenticate.js';
import type { ScopeCheck } from '../auth/scopeGate.js';
import type { CatalogView } from '../catalog/upstreamCatalog.js';
import { sendRpcError } from './jsonRpcMessages.js';

/** Admits a 2025-era POST, or writes its scope refusal and says no. */
export type ScopeGate = (res: ServerResponse, path: string, view: CatalogView, identity: CallerIdentity, messages: readonly JSONRPCMessage[]) => boolean;

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
