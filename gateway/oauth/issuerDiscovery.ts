import * as oauth from 'oauth4webapi';
import { isLoopbackHost } from '../../shared/config.js';

/** Plain http is acceptable only for an issuer on this machine (development, tests). */
export function insecureAllowedFor(url: string): boolean {
  const parsed = new URL(url);
  return parsed.protocol === 'http:' && isLoopbackHost(parsed.hostname);
}

/**
 * Fetch an issuer's metadata: OpenID Connect discovery first (what Keycloak, Auth0, Entra ID
 * and Okta publish), then RFC 8414 authorization server metadata.
 */
export async function discoverIssuer(issuer: string): Promise<oauth.AuthorizationServer> {
  const issuerUrl = new URL(issuer);
  const options = { [oauth.allowInsecureRequests]: insecureAllowedFor(issuer) };
  const failures: string[] = [];
  for (const algorithm of ['oidc', 'oauth2'] as const) {
    try {
      const response = await oauth.discoveryRequest(issuerUrl, { ...options, algorithm });
      return await oauth.processDiscoveryResponse(issuerUrl, response);
    } catch (error) {
      failures.push(`${algorithm}: ${(error as Error).message}`);
    }
  }
  throw new Error(`Cannot discover the authorization server ${issuer} (${failures.join('; ')}). Check auth.issuer and that the issuer is reachable.`);
}
