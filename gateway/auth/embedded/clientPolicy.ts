import { timingSafeEqual } from 'node:crypto';
import { errors, type ClientMetadata, type KoaContextWithOIDC } from 'oidc-provider';
import { isLoopbackHost } from '../../../shared/config.js';

/**
 * Who may register what through dynamic client registration (RFC 7591 §3).
 *
 * Registration is open, because MCP clients register themselves on first use (MCP
 * authorization, "Dynamic Client Registration"). What an open registration can obtain is
 * bounded by a user's login and consent, so:
 * - redirect URIs must be `https:` or `http:` on a loopback address (RFC 8252 §7.3; OAuth 2.1
 *   §2.3.1 forbids other plain-http redirects);
 * - a public client (`token_endpoint_auth_method: none`) may only use the authorization code
 *   and refresh token grants;
 * - the client credentials grant issues tokens with no user in the loop, so registering such
 *   a client needs `Authorization: Bearer <registration admin token>`; without a configured
 *   token, script clients come from configuration only.
 */
export interface RegistrationPolicyOptions {
  registrationAdminToken?: string | undefined;
}

/** Standard RFC 7591 fields oidc-provider does not know; listing them makes it run our validator. */
export const EXTRA_CLIENT_METADATA = ['software_id', 'software_version'] as const;

const USER_GRANTS = new Set(['authorization_code', 'refresh_token']);

function reject(message: string): never {
  throw new errors.InvalidClientMetadata(message);
}

function adminTokenPresented(ctx: KoaContextWithOIDC, expected: string | undefined): boolean {
  if (!expected) return false;
  const match = /^Bearer\s+(\S+)$/i.exec(ctx.get('authorization'));
  if (!match?.[1]) return false;
  const given = Buffer.from(match[1]);
  const wanted = Buffer.from(expected);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

/** The `extraClientMetadata.validator`: enforces the policy above on registration requests only. */
export function registrationPolicy(options: RegistrationPolicyOptions) {
  return (ctx: KoaContextWithOIDC | undefined, key: string, _value: unknown, metadata: ClientMetadata): void => {
    // Runs once per extra property; check once. Stored and configured clients are not re-judged.
    if (key !== EXTRA_CLIENT_METADATA[0] || ctx?.oidc.route !== 'registration') return;

    for (const uri of metadata.redirect_uris ?? []) {
      const parsed = URL.parse(uri);
      if (!parsed) reject(`redirect_uris: "${uri}" is not a URL.`);
      const loopbackHttp = parsed.protocol === 'http:' && isLoopbackHost(parsed.hostname);
      if (parsed.protocol !== 'https:' && !loopbackHttp) {
        reject(`redirect_uris: "${uri}" must use https, or http on a loopback address (127.0.0.1, [::1] or localhost).`);
      }
    }

    const grantTypes = metadata.grant_types ?? ['authorization_code'];
    if (metadata.token_endpoint_auth_method === 'none') {
      const extra = grantTypes.filter((grant) => !USER_GRANTS.has(grant));
      if (extra.length > 0) reject(`grant_types: a public client (token_endpoint_auth_method "none") may only use authorization_code and refresh_token, not ${extra.join(', ')}.`);
    }

    if (grantTypes.includes('client_credentials')) {
      if (!adminTokenPresented(ctx, options.registrationAdminToken)) {
        reject('grant_types: registering a client_credentials client requires the registration admin token (Authorization: Bearer …); or declare the client in the gateway configuration.');
      }
      if (!metadata.scope) reject('scope: a client_credentials client must list the scopes it may request.');
    }
  };
}
