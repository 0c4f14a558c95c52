import { stepUpScopes } from './scopePolicy.js';

/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728) for the gateway's MCP endpoints, and
 * the WWW-Authenticate challenges that point clients at it (RFC 9728 §5.1, RFC 6750 §3).
 */
export interface ProtectedResource {
  /** Canonical resource URI (RFC 8707), e.g. https://mcp.example.com/mcp — the audience tokens must carry. */
  resource: string;
  /** Where its metadata document is served. */
  metadataUrl: string;
  /** Path part of metadataUrl, for routing. */
  metadataPath: string;
}

export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers: string[];
  scopes_supported: string[];
  bearer_methods_supported: ['header'];
  resource_name: string;
  resource_documentation?: string;
}

/**
 * RFC 9728 §3.1: the well-known URI is formed by inserting /.well-known/oauth-protected-resource
 * between the host and the path of the resource identifier.
 */
export function protectedResourceFor(resource: string): ProtectedResource {
  const url = new URL(resource);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  const metadataPath = `/.well-known/oauth-protected-resource${path}`;
  return { resource, metadataUrl: `${url.origin}${metadataPath}`, metadataPath };
}

export function protectedResourceMetadata(
  resource: ProtectedResource,
  options: { authorizationServers: string[]; scopes: string[]; name: string; documentation?: string },
): ProtectedResourceMetadata {
  return {
    resource: resource.resource,
    authorization_servers: options.authorizationServers,
    scopes_supported: options.scopes,
    bearer_methods_supported: ['header'],
    resource_name: options.name,
    ...(options.documentation ? { resource_documentation: options.documentation } : {}),
  };
}

/** Quote a value for an auth-param (RFC 9110 §11.2 quoted-string). */
function quoted(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[\r\n]/g, ' ')}"`;
}

/**
 * 401: no usable token. `scope` is what to ask for first: the least-privilege default (MCP
 * authorization, scope selection strategy; RFC 6750 §3), so a client does not fall back to
 * every scope in `scopes_supported`. `error` is set when a token was presented but rejected
 * (RFC 6750 §3.1).
 */
export function unauthorizedChallenge(
  resource: ProtectedResource,
  error?: { code: 'invalid_request' | 'invalid_token'; description: string },
  scope: readonly string[] = [],
): string {
  const params = [`resource_metadata=${quoted(resource.metadataUrl)}`];
  if (scope.length > 0) params.push(`scope=${quoted(scope.join(' '))}`);
  if (error) params.push(`error=${quoted(error.code)}`, `error_description=${quoted(error.description)}`);
  return `Bearer ${params.join(', ')}`;
}

/**
 * 403: the token lacks a scope (RFC 6750 §3.1). `scope` is the union of what the token holds
 * and what the call needs (MCP authorization, step-up), so re-authorizing loses nothing.
 */
export function insufficientScopeChallenge(resource: ProtectedResource, held: readonly string[], missing: readonly string[], description: string): string {
  return `Bearer error="insufficient_scope", scope=${quoted(stepUpScopes(held, missing).join(' '))}, resource_metadata=${quoted(resource.metadataUrl)}, error_description=${quoted(description)}`;
}
