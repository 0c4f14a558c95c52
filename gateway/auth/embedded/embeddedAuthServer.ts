// Over 400 lines: the whole oidc-provider configuration is one object built in one function, so every setting of the authorization server reads in one place.
import { join } from 'node:path';
import type Koa from 'koa';
import mount from 'koa-mount';
import Provider, { errors, type Account, type ClientMetadata, type Configuration, type KoaContextWithOIDC, type ResourceServer } from 'oidc-provider';
import { DomainError } from '../../../shared/errors.js';
import { isAdminScope } from '../scopePolicy.js';
import { OPERATOR_CLIENT_ID } from '../operatorSignIn.js';
import type { Logger } from '../../../shared/logger.js';
import { EXTRA_CLIENT_METADATA, isMetadataDocumentClientId, registrationPolicy } from './clientPolicy.js';
import {
  DEFAULT_METADATA_DOCUMENT_MAX_BYTES,
  metadataDocumentFetch,
  metadataDocumentRefusalIn,
  type MetadataDocumentFetchOptions,
} from './metadataDocumentFetch.js';
import { messagePage, PAGE_CSP } from './interactionPages.js';
import { interactionRoutes, type UserDirectory } from './interactionRoutes.js';
import { SignInThrottle, waitInWords } from './signInThrottle.js';
import { ensureDataDir, loadCookieKeys, loadSigningKeys, publicJwks, SIGNING_ALGORITHM } from './persistentKeys.js';
import type { EmbeddedClient, EmbeddedUser } from './settings.js';
import { openOidcStateStore } from './sqliteAdapter.js';

/**
 * The embedded OAuth 2.1 authorization server: oidc-provider (an OpenID Certified
 * implementation) configured for MCP, mounted in the gateway's Koa app under `/oauth`.
 *
 * - Authorization code with PKCE S256 for every client (OAuth 2.1 §4.1.1; MCP authorization).
 * - Dynamic client registration (RFC 7591), open to public clients; see clientPolicy.ts.
 * - Refresh tokens for the authorization code grant, rotated on every use (OAuth 2.1 §4.3.1).
 * - Client credentials for configured script clients (OAuth 2.1 §4.2).
 * - Resource indicators (RFC 8707): access tokens are RFC 9068 JWTs (`typ: at+jwt`, ES256)
 *   whose `aud` is the requested gateway resource; any other resource is `invalid_target`.
 * - State (signing keys, cookie keys, clients, grants, sessions, refresh tokens) in `dataDir`.
 */
export interface EmbeddedAuthServerOptions {
  /** The gateway's external base URL, an origin without a path, e.g. `http://127.0.0.1:8080`. */
  publicUrl: string;
  /** The canonical URI of the gateway's main MCP endpoint, e.g. `http://127.0.0.1:8080/mcp`; the default audience. */
  resource: string;
  /** Further audiences tokens may be issued for, e.g. `${publicUrl}/servers/{ns}/mcp`. */
  extraResources?: string[];
  /** Supported scopes, e.g. `pm:read pm:write pm:admin github:read`. */
  scopes: string[];
  /**
   * What an authorization request that names no gateway scope gets (still narrowed to the
   * user's scopes and the consent page's ticks). Default: every supported scope but admin ones.
   */
  defaultScopes?: string[];
  users: EmbeddedUser[];
  /** Confidential script clients for the client credentials grant. */
  clients?: EmbeddedClient[];
  /**
   * Lets dynamic registration create client credentials clients when sent as
   * `Authorization: Bearer <token>`; without it such clients come from `clients` only.
   */
  registrationAdminToken?: string;
  /**
   * Client ID metadata documents (an https URL as `client_id`, fetched and cached): on unless
   * `enabled: false`. `allowLoopback` and `trustedCertificates` are for tests and development.
   */
  clientMetadataDocuments?: MetadataDocumentFetchOptions & { enabled?: boolean };
  /** Folder for persistent state (created 0700): keys, cookie keys, `oauth-state.sqlite`. */
  dataDir: string;
  /** Access token lifetime; default 3600. */
  accessTokenTtlSeconds?: number;
  /** Refresh token idle lifetime (each use rotates it and restarts the clock); default 30 days. */
  refreshTokenTtlSeconds?: number;
  /** Sign-in attempts and client registrations allowed (per account, per address); default DEFAULT_SIGN_IN_LIMITS, counted in memory. */
  signInThrottle?: SignInThrottle;
  /**
   * The operator page's own sign-in (http/operatorRoutes.ts): a built-in public client
   * (OPERATOR_CLIENT_ID) redirecting to `redirectUri`, whose tokens live `tokenTtlSeconds` at
   * most. As the gateway's own page, it is not shown a consent page: it gets what it asks for
   * and the user may grant.
   */
  operatorConsole?: { redirectUri: string; tokenTtlSeconds: number };
  logger: Logger;
}

export interface EmbeddedAuthServer {
  /** `<publicUrl>/oauth`: the `iss` of every token and the `authorization_servers` entry. */
  issuer: string;
  /** Where the public signing keys are published. */
  jwksUri: string;
  /** The public signing keys, for a resource server that wants them without an HTTP fetch. */
  publicJwks: { keys: Record<string, unknown>[] };
  /**
   * Koa middleware serving `/oauth/*` (authorization, token, registration, JWKS, discovery,
   * login and consent pages) and `/.well-known/oauth-authorization-server/oauth` (RFC 8414 §3).
   * Everything else passes through to `next`.
   */
  mount: Koa.Middleware;
  /** Issue an access token for a configured user (the token command). */
  mintAccessToken(user: string, scopes: string[], resource?: string): Promise<string>;
  /**
   * A call by `clientId` for `user` was refused for lack of `scopes` the user may grant: the
   * client's next refresh (which cannot add scopes) answers invalid_grant, so that the client
   * authorizes again asking for them (what 2025-era SDK clients do once a refresh fails).
   */
  stepUpWanted(user: string, clientId: string, scopes: readonly string[]): void;
  close(): Promise<void>;
}

/** The path the authorization server lives under; the issuer is `<publicUrl>` + this. */
export const AUTH_BASE_PATH = '/oauth';
/** A built-in client that only ever appears in tokens minted by `mintAccessToken`; it cannot use any endpoint. */
export const TOKEN_COMMAND_CLIENT_ID = 'manifold-token-command';

export const STATE_DATABASE_FILE = 'oauth-state.sqlite';

const DEFAULT_ACCESS_TOKEN_TTL = 3600;
const DEFAULT_REFRESH_TOKEN_TTL = 30 * 24 * 3600;
/** A grant bounds how long refresh tokens can keep being rotated. */
const GRANT_TTL = 365 * 24 * 3600;
const SESSION_TTL = 24 * 3600;
const INTERACTION_TTL = 10 * 60;
const PURGE_INTERVAL_MS = 15 * 60_000;
/** How long a refused call's step-up is waited for, and how many are kept. */
const STEP_UP_TTL_MS = 10 * 60_000;
const MAX_STEP_UPS = 10_000;

export async function createEmbeddedAuthServer(options: EmbeddedAuthServerOptions): Promise<EmbeddedAuthServer> {
  const { logger } = options;
  const publicUrl = canonicalPublicUrl(options.publicUrl);
  const issuer = `${publicUrl}${AUTH_BASE_PATH}`;
  const supportedScopes = new Set(options.scopes);
  const defaultScopes = (options.defaultScopes ?? options.scopes.filter((scope) => !isAdminScope(scope))).filter((scope) => supportedScopes.has(scope));
  const resources = new Set([options.resource, ...(options.extraResources ?? [])]);
  for (const resource of resources) {
    if (!URL.canParse(resource) || resource.includes('#'))
      throw new DomainError('invalid_input', `Resource "${resource}" is not an absolute URI without a fragment (RFC 8707 §2).`, { field: 'resource' });
  }
  const accessTokenTtl = options.accessTokenTtlSeconds ?? DEFAULT_ACCESS_TOKEN_TTL;
  const refreshTokenTtl = options.refreshTokenTtlSeconds ?? DEFAULT_REFRESH_TOKEN_TTL;
  const users = userDirectory(options.users, supportedScopes);
  /** Step-ups owed, by user and client (stepUpWanted); kept STEP_UP_TTL_MS at most. */
  const stepUps = new Map<string, { scopes: string[]; expiresAt: number }>();
  const stepUpKey = (user: string, clientId: string): string => `${user}\0${clientId}`;
  const cimd = options.clientMetadataDocuments ?? {};

  const dataDir = ensureDataDir(options.dataDir);
  const signingKeys = await loadSigningKeys(dataDir, logger);
  const cookieKeys = await loadCookieKeys(dataDir, logger);
  const store = openOidcStateStore(join(dataDir, STATE_DATABASE_FILE));

  const resourceServer = (resource: string, scopes: Iterable<string>): ResourceServer => ({
    scope: [...scopes].join(' '),
    audience: resource,
    accessTokenTTL: accessTokenTtl,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: SIGNING_ALGORITHM } },
  });

  const configuration: Configuration = {
    adapter: store.adapter,
    jwks: signingKeys,
    clients: [
      tokenCommandClient(),
      ...(options.operatorConsole ? [operatorClient(options.operatorConsole.redirectUri)] : []),
      ...(options.clients ?? []).map(scriptClient),
    ],
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: SIGNING_ALGORITHM,
    },
    clientAuthMethods: ['none', 'client_secret_basic', 'client_secret_post'],
    enabledJWA: { idTokenSigningAlgValues: [SIGNING_ALGORITHM] },
    responseTypes: ['code'],
    // Resource scopes are listed here too, so discovery advertises them (scopes_supported) and a
    // client's registered `scope` can restrict them.
    scopes: ['openid', 'offline_access', ...supportedScopes],
    pkce: { required: () => true },
    cookies: {
      keys: cookieKeys,
      names: { session: 'manifold_oauth_session', interaction: 'manifold_oauth_interaction', resume: 'manifold_oauth_resume' },
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true, initialAccessToken: false, issueRegistrationAccessToken: true },
      clientCredentials: { enabled: true },
      revocation: {
        enabled: true,
        // RFC 7009 §2.1: a client may revoke only its own tokens.
        allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId,
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx, _client, oneOf) =>
          oneOf ? (oneOf.includes(options.resource) ? options.resource : (oneOf[0] ?? options.resource)) : options.resource,
        // At the token endpoint, a request without `resource` gets the resource of its grant.
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, indicator, client) => {
          if (!resources.has(indicator)) {
            throw new errors.InvalidTarget(`unknown resource; this server issues tokens for ${[...resources].join(', ')}`);
          }
          const info = resourceServer(indicator, scopesFor(ctx, client.scope));
          // The operator page's tokens live no longer than its sign-in does.
          if (client.clientId === OPERATOR_CLIENT_ID && options.operatorConsole)
            info.accessTokenTTL = Math.min(accessTokenTtl, options.operatorConsole.tokenTtlSeconds);
          return info;
        },
      },
      // draft-ietf-oauth-client-id-metadata-document, the registration MCP 2026-07-28 prefers:
      // oidc-provider fetches the document (through `fetch` below), checks client_id, secrets
      // and https URIs, caches it by Cache-Control within `cacheDuration` (seconds), and
      // advertises client_id_metadata_document_supported. clientPolicy.ts checks the rest.
      clientIdMetadataDocument: {
        enabled: cimd.enabled !== false,
        ack: 'draft-02',
        cacheDuration: { min: 60, max: 24 * 3600 },
      },
      dPoP: { enabled: false },
      userinfo: { enabled: false },
      rpInitiatedLogout: { enabled: false },
    },
    extraClientMetadata: {
      properties: [...EXTRA_CLIENT_METADATA],
      validator: registrationPolicy({
        registrationAdminToken: options.registrationAdminToken,
        knownScopes: new Set(['openid', 'offline_access', ...supportedScopes]),
      }),
    },
    // oidc-provider runs these validators after its own scope check, on every authorization
    // and pushed authorization request, present or not: a request that names no gateway scope
    // gets the least-privilege default rather than a token that can do nothing, or everything.
    extraParams: {
      scope: (ctx: KoaContextWithOIDC) => {
        const params = ctx.oidc.params as { scope?: string | undefined };
        const requested = (params.scope ?? '').split(' ').filter(Boolean);
        if (requested.some((scope) => supportedScopes.has(scope)) || defaultScopes.length === 0) return;
        params.scope = [...requested, ...defaultScopes].join(' ');
      },
    },
    // A scope the user unticked is recorded as rejected, so oidc-provider would not ask for it
    // again; when a new request asks for one the user could grant (a step-up), ask again.
    loadExistingGrant: async (ctx) => {
      // Just consented: that grant, declined scopes and all (asking again would loop).
      const consented = ctx.oidc.result?.consent?.grantId;
      if (consented) return ctx.oidc.provider.Grant.find(consented);
      const grantId = ctx.oidc.session?.grantIdFor(ctx.oidc.client!.clientId);
      if (!grantId) return undefined;
      const grant = await ctx.oidc.provider.Grant.find(grantId);
      if (!grant) return undefined;
      const user = ctx.oidc.session?.accountId ? users.byId(ctx.oidc.session.accountId) : undefined;
      const grantable = user ? users.grantableScopes(user) : new Set<string>();
      const requested = ctx.oidc.requestParamScopes;
      for (const indicator of Object.keys(ctx.oidc.resourceServers ?? {})) {
        const declined = (grant.getRejectedResourceScope(indicator) ?? '').split(' ');
        if (declined.some((scope) => requested.has(scope) && grantable.has(scope))) return undefined;
      }
      return grant;
    },
    findAccount: (_ctx, sub) => {
      const user = users.byId(sub);
      return user ? accountOf(user) : undefined;
    },
    // RFC 9068 §2.2.1 allows identity claims; the gateway passes `email` on to its children.
    extraTokenClaims: (_ctx, token) => {
      const user = 'accountId' in token && typeof token.accountId === 'string' ? users.byId(token.accountId) : undefined;
      return user ? { email: user.email } : undefined;
    },
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    // Refresh tokens outlive the browser session at this server: signing out here must not
    // disconnect MCP clients, and a restart keeps them working.
    expiresWithSession: () => false,
    // A refresh after a refusal for a scope the user may grant: refused, so the client steps up (stepUpWanted).
    rotateRefreshToken: (ctx) => {
      const token = ctx.oidc.entities.RefreshToken;
      if (!token?.accountId || !token.clientId) return true;
      const key = stepUpKey(token.accountId, token.clientId);
      const wanted = stepUps.get(key);
      if (!wanted) return true;
      const missing = wanted.scopes.filter((scope) => !token.scopes.has(scope));
      if (wanted.expiresAt < Date.now() || missing.length === 0) {
        stepUps.delete(key);
        return true;
      }
      throw new errors.InvalidGrant(`a call needed scope ${missing.join(' ')}, which a refresh cannot add; authorize again asking for it`);
    },
    ttl: {
      AccessToken: accessTokenTtl,
      ClientCredentials: accessTokenTtl,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: refreshTokenTtl,
      Grant: GRANT_TTL,
      Session: SESSION_TTL,
      Interaction: INTERACTION_TTL,
    },
    // Every URL oidc-provider fetches (only metadata documents here: no jwks_uri or
    // sector_identifier_uri clients) goes through the checks of metadataDocumentFetch.ts.
    fetch: metadataDocumentFetch(cimd) as unknown as Configuration['fetch'],
    fetchResponseBodyLimits: { 'client_id metadata document': cimd.maxBytes ?? DEFAULT_METADATA_DOCUMENT_MAX_BYTES },
    interactions: { url: (_ctx, interaction) => `${AUTH_BASE_PATH}/interaction/${interaction.uid}` },
    clientBasedCORS: (_ctx, origin, client) => (client.redirectUris ?? []).some((uri) => URL.parse(uri)?.origin === origin),
    renderError: (ctx, out, error) => {
      ctx.type = 'text/html; charset=utf-8';
      ctx.set('Content-Security-Policy', PAGE_CSP);
      ctx.set('Cache-Control', 'no-store');
      const explanation = clientIdProblem(ctx, error) ?? `${out.error}${out.error_description ? `: ${out.error_description}` : ''}`;
      ctx.body = messagePage('Authorization failed', `${explanation}. Go back to the application and start again.`);
    },
  };

  /**
   * The scopes a resource server offers for this request: every supported scope, narrowed to
   * what the signed-in user may grant (so a user whose scopes shrank gets the smaller set on
   * the next refresh), and for client credentials to the client's registered `scope`.
   */
  function scopesFor(ctx: KoaContextWithOIDC, clientScope: string | undefined): Set<string> {
    const offered = new Set(supportedScopes);
    const grantType = (ctx.oidc.params as { grant_type?: unknown } | undefined)?.grant_type;
    if (ctx.oidc.route === 'token' && grantType === 'client_credentials') {
      const allowed = new Set((clientScope ?? '').split(' '));
      for (const scope of offered) if (!allowed.has(scope)) offered.delete(scope);
    }
    const accountId = (ctx.oidc.entities as { Account?: { accountId?: unknown } }).Account?.accountId;
    if (typeof accountId === 'string') {
      const user = users.byId(accountId);
      const grantable = user ? users.grantableScopes(user) : new Set<string>();
      for (const scope of offered) if (!grantable.has(scope)) offered.delete(scope);
    }
    return offered;
  }

  const provider = new Provider(issuer, configuration);
  provider.on('server_error', (_ctx, error) => logger.error({ err: error }, 'embedded authorization server failed'));
  // Client mistakes (invalid_grant, invalid_target…) are routine; their codes help debugging.
  const logRefusal = (event: string) => (_ctx: KoaContextWithOIDC, error: errors.OIDCProviderError) =>
    logger.debug({ event, error: error.error, description: error.error_description }, 'embedded authorization server refused a request');
  provider.on('authorization.error', logRefusal('authorization.error'));
  provider.on('grant.error', logRefusal('grant.error'));
  provider.on('registration_create.error', logRefusal('registration_create.error'));
  provider.on('revocation.error', logRefusal('revocation.error'));
  // A document that could not be used: the operator sees why, as the user does.
  provider.on('authorization.error', (ctx, error) => {
    const refusal = metadataDocumentRefusalIn(error);
    const clientId = ctx.oidc?.params?.client_id;
    if (refusal || (error instanceof errors.InvalidClientMetadata && isMetadataDocumentClientId(clientId))) {
      logger.warn(
        { client: clientId, code: refusal?.code, reason: refusal?.message ?? error.error_description },
        'embedded authorization server: client ID metadata document refused',
      );
    }
  });
  provider.on('registration_create.success', (_ctx, client) => {
    logger.info({ client: client.clientId, name: client.clientName }, 'embedded authorization server: client registered');
  });

  const purge = (): void => {
    try {
      const purged = store.purgeExpired();
      if (purged > 0) logger.debug({ purged }, 'embedded authorization server: purged expired state');
    } catch (error) {
      logger.warn({ err: error }, 'embedded authorization server: purging expired state failed');
    }
  };
  purge();
  const purgeTimer = setInterval(purge, PURGE_INTERVAL_MS);
  purgeTimer.unref();

  const providerAtBase = mount(AUTH_BASE_PATH, provider);
  const throttle = options.signInThrottle ?? new SignInThrottle();
  const interactions = interactionRoutes({
    provider,
    basePath: AUTH_BASE_PATH,
    issuerOrigin: publicUrl,
    users,
    supportedScopes,
    defaultResource: options.resource,
    ...(options.operatorConsole ? { firstPartyClientId: OPERATOR_CLIENT_ID } : {}),
    throttle,
    logger,
  });
  // RFC 8414 §3.1: for an issuer with a path, the metadata lives at the well-known path with the
  // issuer's path appended. The MCP SDK tries that first; oidc-provider serves it under its own
  // prefix, so rewrite. (The OpenID form `/oauth/.well-known/openid-configuration` is native.)
  const insertedWellKnown = new Map([
    [`/.well-known/oauth-authorization-server${AUTH_BASE_PATH}`, `${AUTH_BASE_PATH}/.well-known/oauth-authorization-server`],
    [`/.well-known/openid-configuration${AUTH_BASE_PATH}`, `${AUTH_BASE_PATH}/.well-known/openid-configuration`],
  ]);

  // oidc-provider signs its cookies with its own keys (the persistent cookie keys) but sets some
  // through `ctx.cookies`, which in a mounted app belongs to the gateway's app and its keys.
  // Give its requests a cookie jar bound to the provider, so every cookie is signed and checked
  // with the same keys; and follow the gateway's `proxy` setting for `Secure` cookies.
  const useProviderCookies = (ctx: Koa.Context): void => {
    provider.proxy = ctx.app.proxy;
    ctx.cookies = provider.createContext(ctx.req, ctx.res).cookies;
  };

  const mountMiddleware: Koa.Middleware = async (ctx, next) => {
    const rewritten = insertedWellKnown.get(ctx.path);
    if (rewritten !== undefined) {
      const original = ctx.path;
      ctx.path = rewritten;
      try {
        await providerAtBase(ctx, async () => {
          ctx.path = original;
          await next();
        });
      } finally {
        ctx.path = original;
      }
      return;
    }
    if (ctx.path !== AUTH_BASE_PATH && !ctx.path.startsWith(`${AUTH_BASE_PATH}/`)) return next();
    if (ctx.method === 'POST' && ctx.path === `${AUTH_BASE_PATH}/reg`) {
      // Open registration stores a client per request: throttled per address.
      const admitted = await throttle.registration(ctx.ip);
      if (!admitted.ok) {
        ctx.status = 429;
        ctx.set({ 'Retry-After': String(Math.ceil(admitted.retryAfterMs / 1000)), 'Cache-Control': 'no-store' });
        ctx.body = {
          error: 'invalid_request',
          error_description: `Too many client registrations from this address. Reuse the client you registered, or try again in ${waitInWords(admitted.retryAfterMs)}.`,
        };
        return;
      }
    }
    useProviderCookies(ctx);
    await interactions(ctx, () => providerAtBase(ctx, next));
  };

  const mintAccessToken = async (login: string, scopes: string[], resource: string = options.resource): Promise<string> => {
    const user = users.byLogin(login);
    if (!user)
      throw new DomainError('not_found', `No configured user "${login}".`, { field: 'user', action: 'Name a user id or email from the auth configuration.' });
    const unique = [...new Set(scopes.filter(Boolean))];
    const unknown = unique.filter((s) => !supportedScopes.has(s));
    if (unknown.length) {
      throw new DomainError('invalid_input', `Unsupported scope ${unknown.map((s) => `"${s}"`).join(', ')}.`, {
        field: 'scope',
        action: `Supported scopes: ${[...supportedScopes].join(' ') || '(none)'}.`,
      });
    }
    const grantable = users.grantableScopes(user);
    const denied = unique.filter((s) => !grantable.has(s));
    if (denied.length) {
      throw new DomainError('forbidden', `User "${user.id}" may not have ${denied.map((s) => `"${s}"`).join(', ')}.`, {
        field: 'scope',
        action: `Their scopes: ${[...grantable].join(' ') || '(none)'}.`,
      });
    }
    if (!resources.has(resource)) {
      throw new DomainError('invalid_input', `Resource "${resource}" is not one of this gateway's (invalid_target).`, {
        field: 'resource',
        action: `Use one of: ${[...resources].join(', ')}.`,
      });
    }
    const client = await provider.Client.find(TOKEN_COMMAND_CLIENT_ID);
    if (!client) throw new Error('The built-in token command client is missing.');
    const scope = unique.join(' ');
    const grant = new provider.Grant({ accountId: user.id, clientId: client.clientId });
    if (scope) grant.addResourceScope(resource, scope);
    const grantId = await grant.save();
    const token = new provider.AccessToken({
      accountId: user.id,
      client,
      grantId,
      gty: 'manifold_token_command',
      scope,
      resourceServer: new provider.ResourceServer(resource, resourceServer(resource, supportedScopes)),
    });
    const value = await token.save();
    logger.info({ user: user.id, scope, resource }, 'embedded authorization server: minted an access token');
    return value;
  };

  logger.info({ issuer, resources: [...resources], dataDir }, 'embedded authorization server ready');

  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    publicJwks: publicJwks(signingKeys),
    mount: mountMiddleware,
    mintAccessToken,
    stepUpWanted: (userId, clientId, scopes) => {
      const user = users.byId(userId);
      const grantable = user ? users.grantableScopes(user) : new Set<string>();
      const wanted = scopes.filter((scope) => grantable.has(scope));
      if (wanted.length === 0 || clientId === OPERATOR_CLIENT_ID) return;
      if (stepUps.size >= MAX_STEP_UPS) stepUps.delete(stepUps.keys().next().value!);
      stepUps.set(stepUpKey(userId, clientId), { scopes: wanted, expiresAt: Date.now() + STEP_UP_TTL_MS });
    },
    close: async () => {
      clearInterval(purgeTimer);
      store.close();
    },
  };
}

/**
 * A sentence for the error page when the client id is the problem: a metadata document that
 * could not be fetched safely (the refusal says why), or a URL that is not https (which
 * oidc-provider takes for an unknown client id).
 */
function clientIdProblem(ctx: KoaContextWithOIDC, error: unknown): string | undefined {
  const refusal = metadataDocumentRefusalIn(error);
  if (refusal) return `invalid_client: the client's metadata document was refused: ${refusal.message.replace(/\.$/, '')}`;
  if (!(error instanceof errors.InvalidClient)) return undefined;
  const clientId = ctx.oidc?.params?.client_id ?? ctx.query?.client_id;
  if (typeof clientId === 'string' && /^http:\/\//i.test(clientId)) {
    return `invalid_client: client_id ${clientId} is an http URL; a client ID metadata document must be served over https`;
  }
  return undefined;
}

/** Refuse a base URL with a path: the authorization server's routes assume it sits at the root. */
function canonicalPublicUrl(publicUrl: string): string {
  const url = URL.parse(publicUrl);
  if (
    !url ||
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    (url.pathname !== '/' && url.pathname !== '') ||
    url.search ||
    url.hash ||
    url.username
  ) {
    throw new DomainError('invalid_input', `publicUrl "${publicUrl}" must be an http(s) origin without a path, e.g. http://127.0.0.1:8080.`, {
      field: 'publicUrl',
    });
  }
  return url.origin;
}

function userDirectory(list: EmbeddedUser[], supportedScopes: ReadonlySet<string>): UserDirectory {
  const byId = new Map(list.map((user) => [user.id, user]));
  const byEmail = new Map(list.map((user) => [user.email.toLowerCase(), user]));
  return {
    byId: (id) => byId.get(id),
    byLogin: (login) => byId.get(login) ?? byEmail.get(login.toLowerCase()),
    grantableScopes: (user) => new Set(user.scopes ? user.scopes.filter((s) => supportedScopes.has(s)) : supportedScopes),
  };
}

function accountOf(user: EmbeddedUser): Account {
  return {
    accountId: user.id,
    claims: () => ({ sub: user.id, email: user.email, ...(user.name ? { name: user.name } : {}) }),
  };
}

function tokenCommandClient(): ClientMetadata {
  return {
    client_id: TOKEN_COMMAND_CLIENT_ID,
    client_name: 'Manifold token command',
    token_endpoint_auth_method: 'none',
    grant_types: [],
    response_types: [],
    redirect_uris: [],
  };
}

function operatorClient(redirectUri: string): ClientMetadata {
  return {
    client_id: OPERATOR_CLIENT_ID,
    client_name: 'Manifold operator page',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [redirectUri],
  };
}

function scriptClient(client: EmbeddedClient): ClientMetadata {
  return {
    client_id: client.clientId,
    client_secret: client.clientSecret,
    client_name: client.name ?? client.clientId,
    token_endpoint_auth_method: client.authMethod,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: client.scopes.join(' '),
  };
}
