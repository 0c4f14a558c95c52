import { timingSafeEqual } from 'node:crypto';
import { errors, type ClientMetadata, type KoaContextWithOIDC } from 'oidc-provider';
import { classifyRedirectUri } from './redirectUris.js';

/**
 * Who may register what through dynamic client registration (RFC 7591 §3).
 *
 * Registration is open, because MCP clients register themselves on first use (MCP
 * authorization, "Dynamic Client Registration"). What an open registration can obtain is
 * bounded by a user's login and consent, so:
 * - redirect URIs must be `https:`, `http:` on a loopback address, or a native application's
 *   own (private-use) scheme; see redirectUris.ts;
 * - a client with a private-use redirect URI is a native application (RFC 8252). Sent without
 *   `application_type`, it is registered as `native`: oidc-provider follows OpenID Connect
 *   registration, which takes such a client for `web` and allows it only http(s) redirects.
 *   Declared `web`, it is refused with the fix named.
 * - such a client is public: without `token_endpoint_auth_method` it gets `none` (no secret is
 *   issued), and a secret-based method is refused. A secret kept by an application on the
 *   user's machine proves little (RFC 8252 §8.5), and PKCE, required of every client, already
 *   binds each code to the instance that asked for it. Native clients with only https or
 *   loopback redirect URIs register as before, secret included if they ask for one (dynamic
 *   registration gives each installation its own, RFC 8252 §8.4);
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

/**
 * Make a client with a private-use redirect URI a native public client, or refuse what
 * contradicts that. `requested` is the registration request as sent: `metadata` already holds
 * oidc-provider's defaults (`application_type: web`, the default auth method and the secret
 * issued for it), which must not be mistaken for the client's choice.
 */
function registerAsNativePublicClient(metadata: ClientMetadata, requested: Record<string, unknown>, privateUseUri: string): void {
  if (requested.application_type === undefined) metadata.application_type = 'native';
  else if (requested.application_type === 'web') {
    reject(`application_type: a "web" client cannot receive the code at "${privateUseUri}", an application's own scheme; register with application_type "native" (or leave it out).`);
  }
  const method = requested.token_endpoint_auth_method;
  if (method === undefined) {
    metadata.token_endpoint_auth_method = 'none';
    delete metadata.client_secret;
    delete metadata.client_secret_expires_at;
  } else if (method !== 'none') {
    reject(`token_endpoint_auth_method: a native application receiving the code at "${privateUseUri}" (its own scheme) is a public client and cannot use ${String(method)}; register with token_endpoint_auth_method "none" (PKCE protects its codes).`);
  }
}

/** The `extraClientMetadata.validator`: enforces the policy above on registration requests only. */
export function registrationPolicy(options: RegistrationPolicyOptions) {
  return (ctx: KoaContextWithOIDC | undefined, key: string, _value: unknown, metadata: ClientMetadata): void => {
    // Runs once per extra property; check once. Stored and configured clients are not re-judged.
    if (key !== EXTRA_CLIENT_METADATA[0] || ctx?.oidc.route !== 'registration') return;

    let privateUseUri: string | undefined;
    for (const uri of metadata.redirect_uris ?? []) {
      const verdict = classifyRedirectUri(uri);
      if ('problem' in verdict) reject(verdict.problem);
      if (verdict.kind === 'private-use') privateUseUri ??= uri;
    }
    if (privateUseUri !== undefined) registerAsNativePublicClient(metadata, ctx.oidc.body ?? {}, privateUseUri);

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
