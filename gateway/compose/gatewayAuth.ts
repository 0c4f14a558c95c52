import { join } from 'node:path';
import type { Middleware } from 'koa';
import { ConfigError, isLoopbackHost } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import type { GatewayConfig, OAuthConfig } from '../config/schema.js';
import type { AccessPolicy } from '../auth/accessPolicy.js';
import { cachedVerifier, introspectionVerifier, jwtAccessTokenVerifier, type AccessTokenVerifier } from '../auth/accessTokenVerifier.js';
import { loopbackDevAuthenticator } from '../auth/authenticate.js';
import { bootstrapAdmin } from '../auth/bootstrapAdmin.js';
import type { EmbeddedAuthServer, EmbeddedAuthServerOptions } from '../auth/embedded/embeddedAuthServer.js';
import { discoverIssuer, insecureAllowedFor } from '../oauth/issuerDiscovery.js';
import { oauthAuthenticator } from '../auth/oauthAuthenticator.js';
import { protectedResourceMetadata } from '../auth/protectedResource.js';
import { createScopeCheck, type ScopeCheck } from '../auth/scopeGate.js';
import type { GatewayAuth, MetadataAnswer } from '../auth/gatewayAuthSurface.js';
import { GatewayResources } from '../auth/gatewayResources.js';

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
  const resources = new GatewayResources(options.publicUrl, namespaces, defaultScopesOf(config));
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
    embedded = await createEmbeddedAuthServer(await embeddedAuthOptions(config, auth, options));
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
  // scopeCheck answers 2026-07-28 requests, sessionScopeCheck 2025 sessions: see StepUpChallenge.
  const scopeCheck = createScopeCheck(options.access, resources.resourceFor, 'needed');
  return {
    authenticator: oauthAuthenticator({ verifier: cachedVerifier(verifier), resourceFor: resources.resourceFor, logger: options.logger }),
    sessionScopeCheck: createScopeCheck(options.access, resources.resourceFor, 'held-and-needed'),
    scopeCheck,
    metadataAt,
    ...(mount ? { authorizationServerRoutes: mount as Middleware } : {}),
    issuer,
    resourceFor: resources.resourceFor,
    close: async () => embedded?.close(),
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
