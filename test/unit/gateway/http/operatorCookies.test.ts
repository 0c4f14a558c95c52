import { describe, expect, it } from 'vitest';
import { csrfTokenFor, csrfTokenMatches, readPendingSignIn, safeReturnPath, sessionCookie, signInCookie } from '../../../../gateway/http/operatorCookies.js';
import { refusalReason } from '../../../../gateway/http/refusalObserver.js';

/** The value a Set-Cookie line sets, as the browser sends it back. */
const valueOf = (setCookie: string): string => setCookie.split(';')[0]!.split('=').slice(1).join('=');

describe('the operator page cookies', () => {
  it('sets the session cookie HttpOnly, SameSite=Strict, on /, Secure only behind https', () => {
    expect(sessionCookie('tok', 1800, false)).toBe('manifold_operator=tok; Path=/; Max-Age=1800; HttpOnly; SameSite=Strict');
    expect(sessionCookie('tok', 60, true)).toMatch(/; Secure$/);
  });

  it('reads the pending sign-in back, sending only to operator pages', () => {
    const pending = { state: 's', codeVerifier: 'v', returnTo: '/metrics' };
    expect(signInCookie(pending, false)).toMatch(/^manifold_operator_signin=[^;]+; Path=\/operator\/callback; Max-Age=600; HttpOnly; SameSite=Lax$/);
    expect(readPendingSignIn(valueOf(signInCookie(pending, false)))).toEqual(pending);
    expect(readPendingSignIn(valueOf(signInCookie({ ...pending, returnTo: 'https://evil.example/' }, false)))?.returnTo).toBe('/');
    expect(readPendingSignIn('not-json')).toBeUndefined();
    expect(readPendingSignIn(undefined)).toBeUndefined();
    expect(safeReturnPath('//evil.example')).toBe('/');
  });

  it('accepts only the CSRF token derived from the session it belongs to', () => {
    const token = csrfTokenFor('session-a');
    expect(csrfTokenMatches('session-a', token)).toBe(true);
    expect(csrfTokenMatches('session-b', token)).toBe(false);
    expect(csrfTokenMatches('session-a', null)).toBe(false);
    expect(csrfTokenMatches('session-a', token.slice(1))).toBe(false);
  });
});

describe('refusal reasons', () => {
  it('names 401s by their challenge, 403s by their challenge or the reason their sender noted, and 429s by their limit', () => {
    expect(refusalReason(401, 'Bearer resource_metadata="x"', undefined, undefined)).toBe('missing_token');
    expect(refusalReason(401, 'Bearer error="invalid_token"', undefined, undefined)).toBe('invalid_token');
    expect(refusalReason(403, 'Bearer error="insufficient_scope", scope="pm:write"', undefined, undefined)).toBe('insufficient_scope');
    expect(refusalReason(403, '', 'origin_not_allowed', undefined)).toBe('origin_not_allowed');
    expect(refusalReason(403, '', 'not_an_operator', undefined)).toBe('not_an_operator');
    expect(refusalReason(403, '', undefined, undefined)).toBe('forbidden');
    expect(refusalReason(429, '', undefined, { limit: 'user_requests' })).toBe('user_requests');
    expect(refusalReason(429, '', 'sessions_per_user', undefined)).toBe('sessions_per_user');
    // A label is never taken from a client's text.
    expect(refusalReason(429, '', undefined, { limit: 'Robert"); DROP' })).toBe('rate_limited');
  });
});
