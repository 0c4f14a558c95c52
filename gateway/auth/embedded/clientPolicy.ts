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
 * - a client with a private-use redirect URI is a native application (RFC 8252), registered
 *   as `native` whatever `application_type` it sent (oidc-provider follows OpenID Connect
 *   registration, which takes a client for `web` by default and allows it only http(s)
 *   redirects), and public unless it asks for a secret; see registerAsNativeApplication;
 * - a public client (`token_endpoint_auth_method: none`) may only use the authorization code
 *   and refresh token grants;
 * - a client acting for a user keeps no registered `scope`: its tokens carry what the user
 *   grants at consent, and a step-up may ask for more than it asked for at registration;
 * - the client credentials grant issues tokens with no user in the loop, so registering such
 *   a client needs `Authorization: Bearer <registration admin token>`; without a configured
 *   token, script clients come from configuration only.
 */
export interface RegistrationPolicyOptions {
  registrationAdminToken?: string | undefined;
  /** Scopes a registration may name (the server's, with `openid` and `offline_access`). */
  knownScopes: ReadonlySet<string>;
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
 * Register a client with a private-use redirect URI as a native application. `requested` is
 * the registration request as sent: `metadata` already holds oidc-provider's defaults
 * (`application_type: web`, the default auth method and the secret issued for it), which
 * must not be mistaken for the client's choice.
 *
 * Desktop clients are lenient about these fields (some send `application_type: "web"` with
 * their own scheme), so the scheme decides: the client is `native`, whatever it called
 * itself; oidc-provider uses the type only to judge redirect URIs. Without an auth method it
 * is public (`none`, no secret issued); one that asks for a secret gets its own, as a
 * dynamically registered native client may (RFC 8252 §8.4), which proves little on the
 * user's machine (§8.5), while PKCE, required of every client, binds each code to the
 * instance that asked for it.
 */
function registerAsNativeApplication(metadata: ClientMetadata, requested: Record<string, unknown>): void {
  metadata.application_type = 'native';
  if (requested.token_endpoint_auth_method === undefined) {
    metadata.token_endpoint_auth_method = 'none';
    delete metadata.client_secret;
    delete metadata.client_secret_expires_at;
  }
}

/** Is this client id a URL naming a client ID metadata document (an https URL)? */
export function isMetadataDocumentClientId(clientId: unknown): clientId is string {
  return typeof clientId === 'string' && /^https:\/\//i.test(clientId);
}

/**
 * What a client ID metadata document must say (draft-ietf-oauth-client-id-metadata-document
 * §4; oidc-provider already checks that `client_id` equals the URL and that no secret is in it):
 * - `client_name`, which the consent page shows beside the publishing host;
 * - `token_endpoint_auth_method: "none"`: a document is public, so it cannot hold a secret;
 * - only the authorization code and refresh token grants;
 * - redirect URIs as for registration (redirectUris.ts), under the type the document declares
 *   (`application_type`, OpenID Connect registration: `web` by default): a private-use scheme
 *   only for `native`. Unlike registration, the declared type is not overridden: the document
 *   is the client's own statement, fetched anew when its cache time ends.
 */
function checkMetadataDocument(metadata: ClientMetadata): void {
  const where = `client ID metadata document ${metadata.client_id}`;
  if (typeof metadata.client_name !== 'string' || metadata.client_name.trim() === '')
    reject(`${where}: client_name is required; the consent page shows it to the user.`);
  if (metadata.token_endpoint_auth_method !== 'none') {
    reject(
      `${where}: token_endpoint_auth_method must be "none" (a published document cannot hold a secret); it is ${metadata.token_endpoint_auth_method ? `"${metadata.token_endpoint_auth_method}"` : 'missing'}.`,
    );
  }
  const extra = (metadata.grant_types ?? ['authorization_code']).filter((grant) => !USER_GRANTS.has(grant));
  if (extra.length > 0) reject(`${where}: grant_types may only be authorization_code and refresh_token, not ${extra.join(', ')}.`);
  const uris = metadata.redirect_uris ?? [];
  if (uris.length === 0) reject(`${where}: redirect_uris must list where the application receives the code.`);
  for (const uri of uris) {
    const verdict = classifyRedirectUri(uri);
    if ('problem' in verdict) reject(`${where}: ${verdict.problem}`);
    if (verdict.kind === 'private-use' && metadata.application_type !== 'native') {
      reject(
        `${where}: redirect_uris: "${uri}" is an application's own scheme, which only a native application may use; declare "application_type": "native".`,
      );
    }
  }
}

/**
 * The `extraClientMetadata.validator`: enforces the registration policy above on registration
 * requests, and the metadata document policy on every client whose id is an https URL (each
 * time its document is read, fetched or from the cache).
 */
export function registrationPolicy(options: RegistrationPolicyOptions) {
  return (ctx: KoaContextWithOIDC | undefined, key: string, _value: unknown, metadata: ClientMetadata): void => {
    // Runs once per extra property; check once.
    if (key !== EXTRA_CLIENT_METADATA[0]) return;
    if (isMetadataDocumentClientId(metadata.client_id)) return checkMetadataDocument(metadata);
    // Stored and configured clients are not re-judged.
    if (ctx?.oidc.route !== 'registration') return;

    let nativeApplication = false;
    for (const uri of metadata.redirect_uris ?? []) {
      const verdict = classifyRedirectUri(uri);
      if ('problem' in verdict) reject(verdict.problem);
      if (verdict.kind === 'private-use') nativeApplication = true;
    }
    if (nativeApplication) registerAsNativeApplication(metadata, ctx.oidc.body ?? {});

    const grantTypes = metadata.grant_types ?? ['authorization_code'];
    if (metadata.token_endpoint_auth_method === 'none') {
      const extra = grantTypes.filter((grant) => !USER_GRANTS.has(grant));
      if (extra.length > 0)
        reject(`grant_types: a public client (token_endpoint_auth_method "none") may only use authorization_code and refresh_token, not ${extra.join(', ')}.`);
    }

    // MCP clients register with the scope of the first challenge, the least-privilege default;
    // kept, it would forbid every later step-up (oidc-provider refuses scopes beyond a client's
    // registered `scope`). A client acting for a user gets what the user grants at consent.
    const unknown = (metadata.scope ?? '').split(' ').filter((scope) => scope && !options.knownScopes.has(scope));
    if (unknown.length > 0)
      reject(`scope: ${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not supported here; see scopes_supported in the server's metadata.`);
    if (!grantTypes.includes('client_credentials')) delete metadata.scope;

    if (grantTypes.includes('client_credentials')) {
      if (!adminTokenPresented(ctx, options.registrationAdminToken)) {
        reject(
          'grant_types: registering a client_credentials client requires the registration admin token (Authorization: Bearer …); or declare the client in the gateway configuration.',
        );
      }
      if (!metadata.scope) reject('scope: a client_credentials client must list the scopes it may request.');
    }
  };
}
