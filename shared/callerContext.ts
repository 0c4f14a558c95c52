/**
 * Who a request is for. The gateway tells its children which user and session a
 * call belongs to through `_meta` on every request it forwards:
 *
 *   "_meta": { "io.manifold/caller": { "user": "ada", "email": "ada@example.com",
 *              "scopes": ["pm:write"], "session": "<gateway session id>",
 *              "clientCapabilities": { "elicitation": {}, "sampling": {} } } }
 *
 * `clientCapabilities` are those the gateway's own client declared: a child connected to the
 * gateway sees the gateway's capabilities, not the end client's, and needs these to choose, say,
 * an elicitation over a two-step confirmation.
 *
 * A server trusts this only when it was started by a gateway (MANIFOLD_TRUST_CALLER_META=1);
 * otherwise any client could claim to be anyone, so the configured local user is used.
 */
export const CALLER_META_KEY = 'io.manifold/caller';

export interface CallerContext {
  /** A stable user identifier (subject or login). */
  user: string;
  email?: string;
  scopes: string[];
  /** The gateway session the call came from, when there is one. */
  session?: string;
  /** What the end client can be asked for (`sampling`, `elicitation`, `roots`), as it declared them. */
  clientCapabilities?: Record<string, unknown>;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Read the caller from request `_meta`, or undefined when absent or malformed. */
export function readCallerMeta(meta: Record<string, unknown> | undefined): CallerContext | undefined {
  const raw = meta?.[CALLER_META_KEY];
  if (typeof raw !== 'object' || raw === null) return undefined;
  const record = raw as Record<string, unknown>;
  if (typeof record.user !== 'string' || record.user.length === 0 || record.user.length > 320) return undefined;
  return {
    user: record.user,
    ...(typeof record.email === 'string' ? { email: record.email } : {}),
    scopes: isStringArray(record.scopes) ? record.scopes : [],
    ...(typeof record.session === 'string' ? { session: record.session } : {}),
    ...(isObject(record.clientCapabilities) ? { clientCapabilities: record.clientCapabilities } : {}),
  };
}

/** Build the `_meta` entry the gateway attaches to a forwarded request. */
export function callerMeta(caller: CallerContext): Record<string, unknown> {
  return { [CALLER_META_KEY]: caller };
}

/** Resolve the acting user for a request: trusted gateway metadata, else the local user. */
export function resolveCaller(meta: Record<string, unknown> | undefined, options: { trustMeta: boolean; localUser: string }): CallerContext {
  if (options.trustMeta) {
    const fromGateway = readCallerMeta(meta);
    if (fromGateway) return fromGateway;
  }
  return { user: options.localUser, scopes: [] };
}
