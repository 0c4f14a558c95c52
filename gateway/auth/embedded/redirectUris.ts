import { isLoopbackHost } from '../../../shared/config.js';

/**
 * The redirect URIs a client may register, and how the consent page names them.
 *
 * - `https:` anywhere, `http:` only on a loopback address (RFC 8252 §7.3; OAuth 2.1 §2.3.1
 *   forbids other plain-http redirects).
 * - A private-use scheme (RFC 8252 §7.1): a desktop or mobile application receives the code on
 *   a scheme it registered with the operating system, e.g.
 *   `cursor://anysphere.cursor-retrieval/oauth/…/callback` or `com.example.app:/callback`.
 *   Another application may claim the same scheme; PKCE, required of every client, keeps an
 *   intercepted code useless to it (RFC 8252 §8.1).
 */
export type RedirectUriKind = 'https' | 'loopback-http' | 'private-use';

/**
 * Schemes that are not an application's own, so never private-use redirect targets:
 * - `javascript:`, `vbscript:` run script in the page that follows the redirect;
 * - `data:`, `blob:`, `about:` are content the browser makes itself, which an attacker can
 *   shape and which no application receives;
 * - `file:` opens a local file;
 * - `ws:`, `wss:`, `ftp:` name network servers, not applications, and browsers do not
 *   navigate to them (and `ws:`/`ftp:` are plaintext);
 * - `mailto:`, `tel:`, `sms:` hand the URI, code included, to whichever mail, phone or
 *   messaging application the user has.
 */
const REFUSED_SCHEMES: ReadonlyMap<string, string> = new Map([
  ['javascript:', 'runs script in the browser'],
  ['vbscript:', 'runs script in the browser'],
  ['data:', 'is content made by the browser, not an application'],
  ['blob:', 'is content made by the browser, not an application'],
  ['about:', 'is a page of the browser, not an application'],
  ['file:', 'opens a local file'],
  ['ws:', 'names a network server, not an application'],
  ['wss:', 'names a network server, not an application'],
  ['ftp:', 'names a network server, not an application'],
  ['mailto:', 'hands the code to the mail application'],
  ['tel:', 'hands the code to the phone application'],
  ['sms:', 'hands the code to the messaging application'],
]);

const ACCEPTED =
  'Use https, http on a loopback address (127.0.0.1, [::1] or localhost), or, for a native application, its own scheme (e.g. com.example.app:/callback).';

/** What kind of redirect URI this is, or why it cannot be registered (a sentence naming the URI). */
export function classifyRedirectUri(uri: string): { kind: RedirectUriKind } | { problem: string } {
  const url = URL.parse(uri);
  if (!url) return { problem: `redirect_uris: "${uri}" is not a URL.` };
  if (url.protocol === 'https:') return { kind: 'https' };
  if (url.protocol === 'http:') {
    if (isLoopbackHost(url.hostname)) return { kind: 'loopback-http' };
    return {
      problem: `redirect_uris: "${uri}" must use https, or http on a loopback address (127.0.0.1, [::1] or localhost); a native application may instead use its own scheme (e.g. com.example.app:/callback).`,
    };
  }
  const scheme = url.protocol.slice(0, -1);
  const refusal = REFUSED_SCHEMES.get(url.protocol);
  if (refusal) return { problem: `redirect_uris: "${uri}" uses the ${scheme} scheme, which ${refusal}. ${ACCEPTED}` };
  if (url.host === '' && url.pathname.replace(/^\/+/, '') === '') {
    return { problem: `redirect_uris: "${uri}" names only a scheme; add where the application receives the code, e.g. ${scheme}:/callback.` };
  }
  return { kind: 'private-use' };
}

/**
 * Where the code goes, as the consent page shows it so a user can spot a look-alike: the host
 * for http(s) (`app.example.com`), the scheme and host for an application's own scheme
 * (`cursor://anysphere.cursor-retrieval`), the scheme alone when it has no host
 * (`com.example.app:`). Not escaped: the page escapes it.
 */
export function redirectTarget(uri: unknown): string {
  if (typeof uri !== 'string') return '';
  const url = URL.parse(uri);
  if (!url) return uri;
  if (url.protocol === 'http:' || url.protocol === 'https:') return url.host;
  return url.host ? `${url.protocol}//${url.host}` : url.protocol;
}
