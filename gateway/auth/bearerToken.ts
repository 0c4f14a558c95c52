/**
 * Read the access token from `Authorization: Bearer <token>` (RFC 6750 §2.1, the only
 * method MCP allows; tokens in query strings are refused by not being looked for).
 */
export type BearerResult = { kind: 'missing' } | { kind: 'malformed'; reason: string } | { kind: 'token'; token: string };

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const MAX_TOKEN_LENGTH = 16 * 1024;

export function readBearerToken(authorization: string | undefined): BearerResult {
  if (authorization === undefined || authorization.trim() === '') return { kind: 'missing' };
  const trimmed = authorization.trim();
  const space = trimmed.indexOf(' ');
  const scheme = space === -1 ? trimmed : trimmed.slice(0, space);
  if (scheme.toLowerCase() !== 'bearer') return { kind: 'malformed', reason: `the Authorization scheme must be Bearer, not "${scheme.slice(0, 20)}"` };
  const token = space === -1 ? '' : trimmed.slice(space + 1).trim();
  if (token.length === 0) return { kind: 'malformed', reason: 'the Bearer token is empty' };
  if (token.length > MAX_TOKEN_LENGTH) return { kind: 'malformed', reason: 'the Bearer token is too long' };
  if (!B64TOKEN.test(token)) return { kind: 'malformed', reason: 'the Bearer token contains characters RFC 6750 does not allow' };
  return { kind: 'token', token };
}
