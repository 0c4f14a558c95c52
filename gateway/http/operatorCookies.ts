import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { PendingSignIn } from '../auth/operatorSignIn.js';

/**
 * The operator page's cookies. The session cookie holds the access token the sign-in obtained
 * (HttpOnly, SameSite=Strict, Secure behind https, no longer than the token); only the
 * operator routes (`/`, `/metrics`, the page's forms) accept it, never an MCP endpoint. The
 * sign-in cookie holds the PKCE verifier and state for ten minutes, on the callback path only.
 */
export const SESSION_COOKIE = 'manifold_operator';
export const SIGN_IN_COOKIE = 'manifold_operator_signin';
export const CALLBACK_PATH = '/operator/callback';
const SIGN_IN_SECONDS = 600;

/** The paths that accept the session cookie, and where a sign-in may return to. */
export const OPERATOR_PAGES: ReadonlySet<string> = new Set(['/', '/metrics']);

/**
 * Cookies are read with Koa's `ctx.cookies.get`; they are written here, because Koa's `set`
 * refuses a Secure cookie on a request it did not see over TLS, which is every request behind a
 * TLS-terminating proxy.
 */
function cookie(name: string, value: string, options: { path: string; maxAgeSeconds: number; secure: boolean; sameSite: 'Strict' | 'Lax' }): string {
  return [
    `${name}=${value}`,
    `Path=${options.path}`,
    `Max-Age=${options.maxAgeSeconds}`,
    'HttpOnly',
    `SameSite=${options.sameSite}`,
    ...(options.secure ? ['Secure'] : []),
  ].join('; ');
}

export function sessionCookie(token: string, maxAgeSeconds: number, secure: boolean): string {
  return cookie(SESSION_COOKIE, token, { path: '/', maxAgeSeconds, secure, sameSite: 'Strict' });
}

export function clearedSessionCookie(secure: boolean): string {
  return cookie(SESSION_COOKIE, '', { path: '/', maxAgeSeconds: 0, secure, sameSite: 'Strict' });
}

/** Lax: it must come back with the authorization server's redirect, a top-level navigation from another site. */
export function signInCookie(pending: PendingSignIn, secure: boolean): string {
  const value = Buffer.from(JSON.stringify(pending)).toString('base64url');
  return cookie(SIGN_IN_COOKIE, value, { path: CALLBACK_PATH, maxAgeSeconds: SIGN_IN_SECONDS, secure, sameSite: 'Lax' });
}

export function clearedSignInCookie(secure: boolean): string {
  return cookie(SIGN_IN_COOKIE, '', { path: CALLBACK_PATH, maxAgeSeconds: 0, secure, sameSite: 'Lax' });
}

/** The pending sign-in the sign-in cookie holds (its value as `ctx.cookies.get(SIGN_IN_COOKIE)` reads it). */
export function readPendingSignIn(value: string | undefined): PendingSignIn | undefined {
  if (!value) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as Partial<PendingSignIn>;
    if (typeof parsed.state !== 'string' || typeof parsed.codeVerifier !== 'string' || typeof parsed.returnTo !== 'string') return undefined;
    return { state: parsed.state, codeVerifier: parsed.codeVerifier, returnTo: safeReturnPath(parsed.returnTo) };
  } catch {
    return undefined;
  }
}

/** Only the operator pages: never an address elsewhere (an open redirect). */
export function safeReturnPath(path: string | null | undefined): string {
  return path && OPERATOR_PAGES.has(path) ? path : '/';
}

/**
 * The page's forms carry a token derived from the session cookie: a page on another site can
 * neither read the cookie (HttpOnly) nor compute the token, so it cannot forge a form.
 */
export function csrfTokenFor(sessionToken: string): string {
  return createHash('sha256').update(`manifold-operator-csrf\0${sessionToken}`).digest('base64url');
}

export function csrfTokenMatches(sessionToken: string, submitted: string | null): boolean {
  if (!submitted) return false;
  const expected = Buffer.from(csrfTokenFor(sessionToken));
  const given = Buffer.from(submitted);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** A browser navigating, as opposed to a script or an MCP client. */
export function wantsHtml(req: IncomingMessage): boolean {
  return (req.headers.accept ?? '').includes('text/html');
}
