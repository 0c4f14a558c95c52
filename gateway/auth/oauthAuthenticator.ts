import type { IncomingMessage } from 'node:http';
import type { Logger } from '../../shared/logger.js';
import { TokenRejected, type AccessTokenVerifier } from './accessTokenVerifier.js';
import type { AuthOutcome, Authenticator } from './authenticate.js';
import { readBearerToken } from './bearerToken.js';
import { unauthorizedChallenge, type ProtectedResource } from './protectedResource.js';

export interface OAuthAuthenticatorOptions {
  verifier: AccessTokenVerifier;
  /**
   * The protected resource a request path belongs to, the audiences accepted there, and the
   * least-privilege scopes a 401 challenge names for it (none named when absent).
   */
  resourceFor: (path: string) => { resource: ProtectedResource; audiences: readonly string[]; defaultScopes?: readonly string[] };
  logger: Logger;
}

/**
 * The token a connection last presented, for which resource, and what it proved. A client
 * sends the same token on its keep-alive connection call after call: it is compared, not
 * hashed and looked up again, and the caller keeps one identity object (so a session sees no
 * change). Held only while the connection is open, and only as long as the verifier's cache
 * would vouch for the token (`recheckAt`: its expiry, or the cache's maximum age, whichever
 * comes first); then the token is checked again.
 */
const lastOnConnection = new WeakMap<object, { token: string; resource: string; recheckAt: number; outcome: AuthOutcome }>();

/**
 * OAuth 2.1 bearer authentication (MCP authorization, RFC 6750, RFC 9728): no token or a
 * bad one gets 401 with a challenge naming the protected resource metadata and the
 * least-privilege scopes to ask for; a valid token
 * yields the caller's identity and scopes. Scope checks happen per call, later.
 */
export function oauthAuthenticator(options: OAuthAuthenticatorOptions): Authenticator {
  const { verifier, resourceFor, logger } = options;
  return {
    mode: 'oauth',
    async authenticate(req: IncomingMessage, path: string): Promise<AuthOutcome> {
      const { resource, audiences, defaultScopes = [] } = resourceFor(path);
      const bearer = readBearerToken(req.headers.authorization);
      if (bearer.kind === 'missing') {
        return {
          ok: false,
          status: 401,
          message: `Authentication required: send an OAuth access token for ${resource.resource} as "Authorization: Bearer <token>". Discover how to get one from ${resource.metadataUrl}.`,
          headers: { 'WWW-Authenticate': unauthorizedChallenge(resource, undefined, defaultScopes) },
        };
      }
      if (bearer.kind === 'malformed') {
        return {
          ok: false,
          status: 401,
          message: `Invalid Authorization header: ${bearer.reason}.`,
          headers: { 'WWW-Authenticate': unauthorizedChallenge(resource, { code: 'invalid_request', description: bearer.reason }, defaultScopes) },
        };
      }
      const last = lastOnConnection.get(req.socket);
      if (last && last.token === bearer.token && last.resource === resource.resource && Date.now() < last.recheckAt) return last.outcome;
      try {
        const access = await verifier.verify(bearer.token, audiences);
        const outcome: AuthOutcome = {
          ok: true,
          identity: {
            user: access.subject,
            ...(access.email ? { email: access.email } : {}),
            scopes: access.scopes,
            method: `oauth:${access.clientId || 'unknown-client'}`,
            ...(access.clientId ? { clientId: access.clientId } : {}),
          },
        };
        if (access.recheckAt !== undefined)
          lastOnConnection.set(req.socket, { token: bearer.token, resource: resource.resource, recheckAt: access.recheckAt, outcome });
        return outcome;
      } catch (error) {
        if (error instanceof TokenRejected) {
          return {
            ok: false,
            status: 401,
            message: `Invalid access token: ${error.reason}. Obtain a new token for ${resource.resource}.`,
            headers: { 'WWW-Authenticate': unauthorizedChallenge(resource, { code: 'invalid_token', description: error.reason }, defaultScopes) },
          };
        }
        logger.error({ err: error }, 'access token verification unavailable');
        return {
          ok: false,
          status: 503 as 401,
          message: 'The authorization server could not be reached to check the access token. Retry shortly.',
        };
      }
    },
  };
}
