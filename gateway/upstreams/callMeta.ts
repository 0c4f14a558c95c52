import { CALLER_META_KEY, callerMeta } from '../../shared/callerContext.js';
import { CALL_META_KEY } from '../../shared/relatedRequestMeta.js';
import type { CallOrigin } from './types.js';

/** Keys a client may not set in forwarded `_meta`: the gateway alone speaks for the caller. */
const RESERVED_META_KEYS = [CALLER_META_KEY, CALL_META_KEY, 'progressToken'];

/**
 * The `_meta` a forwarded request carries: the client's own keys minus the reserved ones, and
 * for a call with an origin the caller's identity and the call id (shared/relatedRequestMeta.ts).
 */
export function forwardedMeta(meta: unknown, origin: CallOrigin | undefined, callId: string | undefined): Record<string, unknown> {
  const out = stripReserved(meta as Record<string, unknown> | undefined) ?? {};
  if (origin && callId) {
    Object.assign(out, callerMeta({ ...origin.caller, clientCapabilities: askableCapabilities(origin.session.clientCapabilities()) }));
    out[CALL_META_KEY] = callId;
  }
  return out;
}

/** Whether a client declared anything an upstream could ask of it mid-call. */
export function mayBeAsked(declared: Record<string, unknown> | undefined): boolean {
  return declared !== undefined && (declared.sampling !== undefined || declared.elicitation !== undefined || declared.roots !== undefined);
}

/**
 * What the end client can be asked for during a call: a child sees the gateway as its client
 * (which declares everything it can forward), so it learns the end client's own from the caller.
 */
export function askableCapabilities(declared: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ['sampling', 'elicitation', 'roots']) if (declared?.[key] !== undefined) out[key] = declared[key];
  return out;
}

/** `_meta` without the keys only the gateway may set. */
export function stripReserved(meta: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!meta) return undefined;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(meta)) if (!RESERVED_META_KEYS.includes(key)) out[key] = value;
  return out;
}
