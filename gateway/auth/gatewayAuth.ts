import { join } from 'node:path';
import type { Middleware } from 'koa';
import { ConfigError, isLoopbackHost } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import type { GatewayConfig, OAuthConfig } from '../config/schema.js';
import type { GatewayState } from '../http/middlewares.js';
import { sendJson } from '../http/jsonRpcMessages.js';
import type { AccessPolicy } from './accessPolicy.js';
import { cachedVerifier, introspectionVerifier, jwtAccessTokenVerifier, type AccessTokenVerifier } from './accessTokenVerifier.js';
import { loopbackDevAuthenticator, type Authenticator } from './authenticate.js';
import { bootstrapAdmin } from './bootstrapAdmin.js';
import type { EmbeddedAuthServer, EmbeddedAuthServerOptions } from './embedded/embeddedAuthServer.js';
import { discoverIssuer, insecureAllowedFor } from '../oauth/issuerDiscovery.js';
import { oauthAuthenticator } from './oauthAuthenticator.js';
import { protectedResourceFor, protectedResourceMetadata, type ProtectedResource } from './protectedResource.js';
import { createScopeCheck, scopeGateOf, type ScopeCheck, type ScopeGate } from './scopeGate.js';
import { defaultScopesForNamespaces, scopeFor, scopesForNamespaces } from './scopePolicy.js';
import type { SignInThrottle } from './embedded/signInThrottle.js';

/** Everything the HTTP layer needs from authentication and authorization. */
export interface GatewayAuth {
  authenticator: Authenticator;
  scopeGate: ScopeGate;
  /** The same decision as an outcome, for callers that write their own refusal (2026-07-28 requests: the challenge names only what the call needs). */
  scopeCheck: ScopeCheck;
  /** Public routes served before authentication: resource metadata and the embedded authorization server. */
  publicRoutes: Middleware<GatewayState>;
  /** The authorization server tokens must come from, when OAuth is on. */
  issuer?: string;
  /** The protected resource a request path belongs to (for challenges). */
  resourceFor?: (path: string) => { resource: ProtectedResource; audiences: readonly string[]; defaultScopes: readonly string[] };
  close(): Promise<void>;
}

/**
 * The gateway's protected resources: `<publicUrl>/mcp` (everything), one per upstream,
 * `<publicUrl>/servers/<ns>/mcp`, and one per curated view, `<publicUrl>/views/<name>/mcp`.
 * Such an endpoint also accepts tokens for the whole gateway; a token for one upstream's or
 * view's endpoint is good nowhere else.
 */
export class GatewayResources {
  readonly main: ProtectedResource;
  private readonly byNamespace: Map<string, ProtectedResource>;
  /** The least-privilege scopes a 401 names: all of them for the gateway and views, a namespace's own for its endpoint. */
  private readonly defaultScopes: readonly string[];

  constructor(
    readonly publicUrl: string,
    namespaces: readonly string[],
    defaultScopes: readonly string[] = defaultScopesForNamespaces(namespaces),
  ) {
    this.main = protectedResourceFor(`${publicUrl}/mcp`);
    this.byNamespace = new Map(namespaces.map((ns) => [ns, protectedResourceFor(`${publicUrl}/servers/${ns}/mcp`)]));
    this.defaultScopes = defaultScopes;
  }

  all(): ProtectedResource[] {
    return [this.main, ...this.byNamespace.values()];
  }

  namespaceOf(path: string): string | undefined {
    const match = /^\/servers\/([^/]+)\//.exec(path);
    return match?.[1] !== undefined && this.byNamespace.has(match[1]) ? match[1] : undefined;
  }

  resourceFor = (path: string): { resource: ProtectedResource; audiences: readonly string[]; defaultScopes: readonly string[] } => {
    const view = VIEW_PATH.exec(path)?.[1];
    if (view !== undefined) {
      const own = protectedResourceFor(`${this.publicUrl}/views/${view}/mcp`);
      return { resource: own, audiences: [own.resource, this.main.resource], defaultScopes: this.defaultScopes };
    }
    const namespace = this.namespaceOf(path);
    const own = namespace === undefined ? undefined : this.byNamespace.get(namespace);
    if (!own) return { resource: this.main, audiences: [this.main.resource], defaultScopes: this.defaultScopes };
    // A namespace the configured default leaves out still gets a challenge: its read scope, the
    // least that makes its endpoint usable (naming none would send clients to scopes_supported).
    const ownDefaults = this.defaultScopes.filter((scope) => scope.startsWith(`${namespace}:`));
    return { resource: own, audiences: [own.resource, this.main.resource], defaultScopes: ownDefaults.length > 0 ? ownDefaults : [scopeFor(namespace!, 'read')] };
  };

  /** The resource whose metadata lives at a well-known path (RFC 9728 §3.1). */
  byMetadataPath(path: string): { resource: ProtectedResource; namespace: string | undefined } | undefined {
    if (path === this.main.metadataPath) return { resource: this.main, namespace: undefined };
    for (const [namespace, resource] of this.byNamespace) if (resource.metadataPath === path) return { resource, namespace };
    const view = /^\/\.well-known\/oauth-protected-resource\/views\/([a-z][a-z0-9-]{0,31})\/mcp$/.exec(path)?.[1];
    if (view !== undefined) return { resource: protectedResourceFor(`${this.publicUrl}/views/${view}/mcp`), namespace: undefined };
    return undefined;
  }
}

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

const VIEW_PATH = /^\/views\/([a-z][a-z0-9-]{0,31})\//;
/** Well-known URLs at the origin's root, where this gateway publishes nothing. */
const ROOT_METADATA_PATHS: ReadonlySet<string> = new Set(['/.well-known/oauth-protected-resource', '/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']);
const allowAll: ScopeGate = () => true;
const noRefusal: ScopeCheck = () => undefined;
const passThrough: Middleware<GatewayState> = (_ctx, next) => next();

export async function setUpGatewayAuth(config: GatewayConfig, options: GatewayAuthOptions): Promise<GatewayAuth> {
  if (config.auth.mode === 'none-loopback-dev') {
    return { authenticator: loopbackDevAuthenticator(config.auth.devUser), scopeGate: allowAll, scopeCheck: noRefusal, publicRoutes: passThrough, close: async () => undefined };
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
    const { createEmbeddedAuthServer } = await import('./embedded/embeddedAuthServer.js');
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

  const metadataRoutes: Middleware<GatewayState> = async (ctx, next) => {
    if (ctx.method === 'GET' && ROOT_METADATA_PATHS.has(ctx.path)) {
      // Nothing is served at the roots: the origin is neither a protected resource (RFC 9728 §3.3
      // ties a metadata document to the resource its path names) nor the issuer (RFC 8414 §3).
      ctx.respond = false;
      sendJson(ctx.res, 404, {
        error: 'not_found',
        error_description:
          `Nothing is published here. Protected resource metadata is at ${resources.main.metadataUrl} (and under /servers/{namespace}/mcp and /views/{name}/mcp); ` +
          `the authorization server is ${issuer}, whose metadata is at its own well-known URL (RFC 8414 §3.1).`,
      });
      return;
    }
    if (ctx.method !== 'GET' || !ctx.path.startsWith('/.well-known/oauth-protected-resource')) return next();
    const found = resources.byMetadataPath(ctx.path);
    if (!found) return next();
    ctx.respond = false;
    sendJson(
      ctx.res,
      200,
      protectedResourceMetadata(found.resource, {
        authorizationServers: [issuer],
        scopes: found.namespace ? scopesForNamespaces([found.namespace]) : scopes,
        name: found.namespace ? `Manifold: ${found.namespace}` : 'Manifold MCP gateway',
      }),
    );
  };
  const mount = embedded?.mount;
  // scopeCheck answers 2026-07-28 requests, scopeGate 2025 sessions: see StepUpChallenge.
  const scopeCheck = createScopeCheck(options.access, resources.resourceFor, 'needed');
  return {
    authenticator: oauthAuthenticator({ verifier: cachedVerifier(verifier), resourceFor: resources.resourceFor, logger: options.logger }),
    scopeGate: scopeGateOf(createScopeCheck(options.access, resources.resourceFor, 'held-and-needed')),
    scopeCheck,
    publicRoutes: mount ? (ctx, next) => metadataRoutes(ctx, () => mount(ctx as never, next)) : metadataRoutes,
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
    return introspectionVerifier({ authorizationServer, clientId: introspection.clientId, clientSecret: secret, allowInsecureRequests, clockToleranceSeconds: auth.clockToleranceSeconds });
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
      ...resources.all().slice(1).map((r) => r.resource),
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
    throw new ConfigError([`auth.defaultScopes: ${foreign.map((s) => `"${s}"`).join(', ')} name no upstream; namespaces here: ${namespaces.join(', ') || '(none)'}.`]);
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
