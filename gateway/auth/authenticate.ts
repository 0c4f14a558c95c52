import type { IncomingMessage } from 'node:http';

/** Who is calling, as established by the authenticator (OAuth 2.1 bearer tokens, or the loopback development identity). */
export interface CallerIdentity {
  user: string;
  email?: string;
  scopes: string[];
  /** How the identity was established, for logs and audit. */
  method: string;
  /** The OAuth client the token was issued to. */
  clientId?: string;
}

export type AuthOutcome =
  | { ok: true; identity: CallerIdentity }
  /** `headers` carries e.g. `WWW-Authenticate` (RFC 6750 §3, RFC 9728 §5.1). */
  | { ok: false; status: 401 | 403; message: string; headers?: Record<string, string> };

/** One authentication mode. The HTTP layer calls it for every MCP request, with the request's path (no query). */
export interface Authenticator {
  readonly mode: string;
  authenticate(req: IncomingMessage, path: string): Promise<AuthOutcome> | AuthOutcome;
}

/**
 * `none-loopback-dev`: no authentication, for local development only. The configuration
 * loader refuses it on a non-loopback address; every request acts as `auth.devUser` with all
 * scopes.
 */
export function loopbackDevAuthenticator(devUser: string): Authenticator {
  const outcome: AuthOutcome = { ok: true, identity: { user: devUser, scopes: ['*'], method: 'none-loopback-dev' } };
  return { mode: 'none-loopback-dev', authenticate: () => outcome };
}
