import { join } from 'node:path';
import type { Middleware } from 'koa';
import { ConfigError, isLoopbackHost } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import type { GatewayConfig, OAuthConfig } from '../config/schema.js';
import type { AccessPolicy } from '../auth/accessPolicy.js';
import { cachedVerifier, introspectionVerifier, jwtAccessTokenVerifier, type AccessTokenVerifier } from '../auth/accessTokenVerifier.js';
import { loopbackDevAuthenticator, type Authenticator } from '../auth/authenticate.js';
import type * as oauth from 'oauth4webapi';
import { OPERATOR_CLIENT_ID, OperatorSignIn, type OperatorAuth } from '../auth/operatorSignIn.js';
import { CALLBACK_PATH as OPERATOR_CALLBACK_PATH } from '../http/operatorCookies.js';
import { bootstrapAdmin } from '../auth/bootstrapAdmin.js';
import type { EmbeddedAuthServer, EmbeddedAuthServerOptions } from '../auth/embedded/embeddedAuthServer.js';
import { discoverIssuer, insecureAllowedFor } from '../oauth/issuerDiscovery.js';
import { oauthAuthenticator } from '../auth/oauthAuthenticator.js';
import { protectedResourceMetadata } from '../auth/protectedResource.js';
import { createScopeCheck, type ScopeCheck } from '../auth/scopeGate.js';
import type { GatewayAuth, MetadataAnswer } from '../auth/gatewayAuthSurface.js';
import { GatewayResources, viewDefaultScopes } from '../auth/gatewayResources.js';

export type { GatewayAuth, MetadataAnswer } from '../auth/gatewayAuthSurface.js';
export { GatewayResources } from '../auth/gatewayResources.js';
import { defaultScopesForNamespaces, scopesForNamespaces } from '../auth/scopePolicy.js';
import type { SignInThrottle } from '../auth/embedded/signInThrottle.js';

export interface GatewayAuthOptions {
  /** The gateway's external base URL (origin). */
  publicUrl: string;
  /** The gateway's data directory; the embedded server keeps its state in `<dataDir>/auth`. */
  dataDir: string;
  access: AccessPolicy;
  logger: Logger;
  /** Sign-in and registration throttling for the embedded authorization server (counted in memory when absent). */
  signInThrottle?: SignInThrottle;
  /** Where this process listens, reachable from itself (the operator page calls the embedded token endpoint there). */
  localUrl?: string;
}

/** Well-known URLs at the origin's root, where this gateway publishes nothing. */
const ROOT_METADATA_PATHS: ReadonlySet<string> = new Set([
  '/.well-known/oauth-protected-resource',
  '/.well-known/oauth-authorization-server',
  '/.well-known/openid-configuration',
]);
const noRefusal: ScopeCheck = () => undefined;

export async function setUpGatewayAuth(config: GatewayConfig, options: GatewayAuthOptions): Promise<GatewayAuth> {
  if (config.auth.mode === 'none-loopback-dev') {
    return {
      authenticator: loopbackDevAuthenticator(config.auth.devUser),
      scopeCheck: noRefusal,
      sessionScopeCheck: noRefusal,
      metadataAt: () => undefined,
      close: async () => undefined,
    };
  }
  const auth = config.auth;
  const namespaces = config.upstreams.map((u) => u.namespace);
  const defaults = defaultScopesOf(config);
  const resources = new GatewayResources(
    options.publicUrl,
    namespaces,
    defaults,
    new Map(
      config.views.map((view) => [
        view.name,
        viewDefaultScopes(view, {
          separator: config.separator,
          defaultScopes: defaults,
          ...(config.workflows ? { workflowNamespace: config.workflows.namespace } : {}),
          workflowUpstreams: config.workflows ? Object.values(config.workflows.upstreams) : [],
        }),
      ]),
    ),
  );
  const scopes = scopesForNamespaces(namespaces);

  let embedded: EmbeddedAuthServer | undefined;
  let verifier: AccessTokenVerifier;
  let issuer: string;
  if (auth.issuer) {
    issuer = auth.issuer;
    verifier = await externalVerifier(auth, auth.issuer);
  } else {
    // The embedded authorization server (oidc-provider) is loaded only when no external issuer is configured.
    const { createEmbeddedAuthServer } = await import('../auth/embedded/embeddedAuthServer.js');
    embedded = await createEmbeddedAuthServer({ ...(await embeddedAuthOptions(config, auth, options)), ...operatorConsoleOf(config, options.publicUrl) });
    issuer = embedded.issuer;
    const keys = embedded.publicJwks;
    verifier = jwtAccessTokenVerifier({
      authorizationServer: { issuer: embedded.issuer, jwks_uri: embedded.jwksUri },
      algorithms: auth.algorithms,
      clockToleranceSeconds: auth.clockToleranceSeconds,
      allowInsecureRequests: insecureAllowedFor(embedded.issuer),
      // The keys are in this process: no HTTP round trip to ourselves.
      customFetch: async () => Response.json(keys),
    });
  }

  const metadataAt = (method: string, path: string): MetadataAnswer | undefined => {
    if (method !== 'GET') return undefined;
    if (ROOT_METADATA_PATHS.has(path)) {
      // Nothing is served at the roots: the origin is neither a protected resource (RFC 9728 §3.3
      // ties a metadata document to the resource its path names) nor the issuer (RFC 8414 §3).
      return {
        status: 404,
        body: {
          error: 'not_found',
          error_description:
            `Nothing is published here. Protected resource metadata is at ${resources.main.metadataUrl} (and under /servers/{namespace}/mcp and /views/{name}/mcp); ` +
            `the authorization server is ${issuer}, whose metadata is at its own well-known URL (RFC 8414 §3.1).`,
        },
      };
    }
    if (!path.startsWith('/.well-known/oauth-protected-resource')) return undefined;
    const found = resources.byMetadataPath(path);
    if (!found) return undefined;
    return {
      status: 200,
      body: protectedResourceMetadata(found.resource, {
        authorizationServers: [issuer],
        scopes: found.namespace ? scopesForNamespaces([found.namespace]) : scopes,
        name: found.namespace ? `Manifold: ${found.namespace}` : 'Manifold MCP gateway',
      }),
    };
  };
  const mount = embedded?.mount;
  const authenticator = oauthAuthenticator({ verifier: cachedVerifier(verifier), resourceFor: resources.resourceFor, logger: options.logger });
  const operator = operatorAuthOf(config, { ...options, authenticator, resource: resources.main.resource, embeddedIssuer: embedded?.issuer });
  // scopeCheck answers 2026-07-28 requests, sessionScopeCheck 2025 sessions: see StepUpChallenge.
  const scopeCheck = createScopeCheck(options.access, resources.resourceFor, 'needed');
  return {
    authenticator,
    operator,
    sessionScopeCheck: owingStepUps(createScopeCheck(options.access, resources.resourceFor, 'held-and-needed'), embedded),
    scopeCheck,
    metadataAt,
    ...(mount ? { authorizationServerRoutes: mount as Middleware } : {}),
    issuer,
    resourceFor: resources.resourceFor,
    close: async () => embedded?.close(),
  };
}

/** Where the operator page's sign-in comes back to, and how long it lasts; undefined when browser sign-in is off. */
function operatorSignInOf(config: GatewayConfig, publicUrl: string): { redirectUri: string; sessionSeconds: number } | undefined {
  const page = config.observability.statusPage;
  if (!page.enabled || !page.signIn.enabled) return undefined;
  return { redirectUri: `${publicUrl}${OPERATOR_CALLBACK_PATH}`, sessionSeconds: page.signIn.sessionMinutes * 60 };
}

/** The built-in operator client of the embedded server, when the page's browser sign-in is on. */
function operatorConsoleOf(config: GatewayConfig, publicUrl: string): Pick<EmbeddedAuthServerOptions, 'operatorConsole'> {
  const signIn = operatorSignInOf(config, publicUrl);
  return signIn ? { operatorConsole: { redirectUri: signIn.redirectUri, tokenTtlSeconds: signIn.sessionSeconds } } : {};
}

/**
 * The operator page's browser sign-in: a client of the embedded server (built in), or of the
 * external issuer when `observability.statusPage.signIn.clientId` names one registered there.
 */
function operatorAuthOf(
  config: GatewayConfig,
  options: GatewayAuthOptions & { authenticator: Authenticator; resource: string; embeddedIssuer: string | undefined },
): OperatorAuth {
  const page = config.observability.statusPage;
  const signIn = operatorSignInOf(config, options.publicUrl);
  const base = { authenticator: options.authenticator, publicUrl: options.publicUrl, sessionSeconds: page.signIn.sessionMinutes * 60 };
  if (!signIn) {
    return { ...base, signInUnavailable: "Browser sign-in is off (observability.statusPage.signIn.enabled). Send an operator's bearer token instead." };
  }
  const { redirectUri } = signIn;
  const scopes = page.scopes.length > 0 ? page.scopes : config.upstreams.map((u) => `${u.namespace}:admin`);
  const issuer = options.embeddedIssuer;
  if (issuer !== undefined) {
    // The embedded server's endpoints are on this process's own listener.
    const local = options.localUrl;
    const publicOrigin = new URL(options.publicUrl).origin;
    const toLocal: typeof fetch = (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      if (local && url.origin === publicOrigin) return fetch(new URL(`${url.pathname}${url.search}`, local), init);
      return fetch(input, init);
    };
    return {
      ...base,
      signIn: new OperatorSignIn({
        authorizationServer: async () => ({
          issuer,
          authorization_endpoint: `${issuer}/auth`,
          token_endpoint: `${issuer}/token`,
          authorization_response_iss_parameter_supported: true,
        }),
        clientId: OPERATOR_CLIENT_ID,
        redirectUri,
        resource: options.resource,
        scopes,
        allowInsecureRequests: true,
        fetch: toLocal,
      }),
    };
  }
  const external = config.auth.mode === 'oauth' ? config.auth.issuer : undefined;
  const { clientId, clientSecretEnv } = page.signIn;
  if (!external || !clientId) {
    return {
      ...base,
      signInUnavailable:
        `Browser sign-in needs a client at ${external ?? 'the authorization server'}: register one with redirect URI ${redirectUri} and set observability.statusPage.signIn.clientId. ` +
        "Scripts send an operator's bearer token instead.",
    };
  }
  const clientSecret = clientSecretEnv ? process.env[clientSecretEnv] : undefined;
  if (clientSecretEnv && !clientSecret)
    throw new ConfigError([`${clientSecretEnv}: must hold the operator page's client secret (observability.statusPage.signIn.clientSecretEnv).`]);
  let discovered: Promise<oauth.AuthorizationServer> | undefined;
  return {
    ...base,
    signIn: new OperatorSignIn({
      authorizationServer: () => {
        discovered ??= discoverIssuer(external).catch((error: unknown) => {
          discovered = undefined;
          throw error;
        });
        return discovered;
      },
      clientId,
      ...(clientSecret ? { clientSecret } : {}),
      redirectUri,
      resource: options.resource,
      scopes,
      allowInsecureRequests: insecureAllowedFor(external),
    }),
  };
}

/**
 * 2025-era clients (SDK v1) step up by refreshing first, which cannot add a scope: the embedded
 * server is told of each refusal, so that refresh fails and the client authorizes again.
 */
function owingStepUps(check: ScopeCheck, embedded: EmbeddedAuthServer | undefined): ScopeCheck {
  if (!embedded) return check;
  return (path, view, identity, messages) => {
    const refusal = check(path, view, identity, messages);
    if (refusal && identity.clientId) embedded.stepUpWanted(identity.user, identity.clientId, refusal.missing);
    return refusal;
  };
}

async function externalVerifier(auth: OAuthConfig, issuer: string): Promise<AccessTokenVerifier> {
  const authorizationServer = await discoverIssuer(issuer);
  const allowInsecureRequests = insecureAllowedFor(issuer);
  if (auth.tokenFormat === 'introspection') {
    const introspection = auth.introspection!;
    const secret = process.env[introspection.clientSecretEnv];
    if (!secret) throw new ConfigError([`${introspection.clientSecretEnv}: must hold the introspection client's secret (auth.introspection.clientSecretEnv).`]);
    return introspectionVerifier({
      authorizationServer,
      clientId: introspection.clientId,
      clientSecret: secret,
      allowInsecureRequests,
      clockToleranceSeconds: auth.clockToleranceSeconds,
    });
  }
  return jwtAccessTokenVerifier({ authorizationServer, algorithms: auth.algorithms, clockToleranceSeconds: auth.clockToleranceSeconds, allowInsecureRequests });
}

/** The embedded authorization server's settings from the gateway configuration (shared with the token command). */
export async function embeddedAuthOptions(
  config: GatewayConfig,
  auth: OAuthConfig,
  options: { publicUrl: string; dataDir: string; logger: Logger; createBootstrapAdmin?: boolean; signInThrottle?: SignInThrottle },
): Promise<EmbeddedAuthServerOptions> {
  const namespaces = config.upstreams.map((u) => u.namespace);
  const resources = new GatewayResources(options.publicUrl, namespaces);
  const authDataDir = join(options.dataDir, 'auth');
  const configured = auth.embedded?.users ?? [];
  const users = configured.length > 0 || options.createBootstrapAdmin === false ? configured : [await bootstrapAdmin(authDataDir, options.logger)];
  return {
    publicUrl: options.publicUrl,
    resource: resources.main.resource,
    extraResources: [
      ...resources
        .all()
        .slice(1)
        .map((r) => r.resource),
      ...config.views.map((view) => `${options.publicUrl}/views/${view.name}/mcp`),
      ...(auth.embedded?.extraResources ?? []),
    ],
    scopes: auth.embedded?.scopes ?? scopesForNamespaces(namespaces),
    defaultScopes: defaultScopesOf(config),
    users,
    clients: auth.embedded?.clients ?? [],
    clientMetadataDocuments: auth.embedded?.clientMetadataDocuments ?? { enabled: true, allowLoopback: false },
    dataDir: authDataDir,
    ...(options.signInThrottle ? { signInThrottle: options.signInThrottle } : {}),
    logger: options.logger,
  };
}

/**
 * The least-privilege default scopes: `auth.defaultScopes`, else read and write of every
 * upstream's namespace. A configured scope must name an upstream's namespace.
 */
export function defaultScopesOf(config: GatewayConfig): string[] {
  const namespaces = config.upstreams.map((u) => u.namespace);
  if (config.auth.mode !== 'oauth' || !config.auth.defaultScopes) return defaultScopesForNamespaces(namespaces);
  const known = new Set(namespaces);
  const foreign = config.auth.defaultScopes.filter((scope) => !known.has(scope.slice(0, scope.lastIndexOf(':'))));
  if (foreign.length > 0) {
    throw new ConfigError([
      `auth.defaultScopes: ${foreign.map((s) => `"${s}"`).join(', ')} name no upstream; namespaces here: ${namespaces.join(', ') || '(none)'}.`,
    ]);
  }
  return [...new Set(config.auth.defaultScopes)];
}

/** The public URL: configured, else the listening address (loopback names kept as they are). */
export function publicUrlFor(config: GatewayConfig, listening: { host: string; port: number }): string {
  if (config.auth.mode === 'oauth' && config.auth.publicUrl) return new URL(config.auth.publicUrl).origin;
  const host = listening.host.includes(':') ? `[${listening.host}]` : listening.host;
  if (!isLoopbackHost(listening.host) && config.auth.mode === 'oauth') {
    throw new ConfigError([`auth.publicUrl: required when listening on ${listening.host}; set it to the URL clients use, e.g. https://mcp.example.com.`]);
  }
  return `http://${host}:${listening.port}`;
}
