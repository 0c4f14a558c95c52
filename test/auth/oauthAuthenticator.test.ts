import type { IncomingMessage } from 'node:http';
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { cachedVerifier, jwtAccessTokenVerifier, TokenRejected, type AccessTokenVerifier } from '../../gateway/auth/accessTokenVerifier.js';
import type { AuthOutcome } from '../../gateway/auth/authenticate.js';
import { discoverIssuer } from '../../gateway/oauth/issuerDiscovery.js';
import { oauthAuthenticator } from '../../gateway/auth/oauthAuthenticator.js';
import { protectedResourceFor } from '../../gateway/auth/protectedResource.js';
import { createLogger } from '../../shared/logger.js';
import { TestIssuer } from '../support/testIssuer.js';

const MAIN = protectedResourceFor('http://127.0.0.1:9/mcp');
const FX = protectedResourceFor('http://127.0.0.1:9/servers/fx/mcp');
const resourceFor = (path: string) =>
  path.startsWith('/servers/fx/') ? { resource: FX, audiences: [FX.resource, MAIN.resource] } : { resource: MAIN, audiences: [MAIN.resource] };

let issuer: TestIssuer;
let jwt: AccessTokenVerifier;
beforeAll(async () => {
  issuer = await new TestIssuer().start();
  jwt = jwtAccessTokenVerifier({
    authorizationServer: await discoverIssuer(issuer.issuer),
    algorithms: ['RS256', 'ES256'],
    clockToleranceSeconds: 5,
    allowInsecureRequests: true,
  });
});
afterAll(async () => {
  await issuer?.stop();
});

/** The JWT verifier, counting its calls, refusing every token once `revoked` is set (as introspection would after a revocation). */
function countingVerifier(): { verifier: AccessTokenVerifier; calls: () => number; revoke: () => void } {
  let calls = 0;
  let revoked = false;
  return {
    verifier: {
      verify: async (token, audiences) => {
        calls++;
        if (revoked) throw new TokenRejected('the access token is not active (expired, revoked or unknown)');
        return jwt.verify(token, audiences);
      },
    },
    calls: () => calls,
    revoke: () => {
      revoked = true;
    },
  };
}

/** A request as the authenticator sees it: headers and the connection it came on. */
function requestOn(connection: object, token: string): IncomingMessage {
  return { headers: { authorization: `Bearer ${token}` }, socket: connection } as unknown as IncomingMessage;
}

const userOf = (outcome: AuthOutcome) => (outcome.ok ? outcome.identity.user : `refused ${outcome.status}`);

describe('OAuth bearer authentication on a keep-alive connection', () => {
  it('checks a token once per connection while the verifier vouches for it, keeping one identity object', async () => {
    const counting = countingVerifier();
    const authenticate = oauthAuthenticator({ verifier: cachedVerifier(counting.verifier), resourceFor, logger: createLogger('test', 'silent') });
    const token = await issuer.accessToken(MAIN.resource, { sub: 'alice', scope: 'fx:read' });
    const connection = {};
    const first = await authenticate.authenticate(requestOn(connection, token), '/mcp');
    const second = await authenticate.authenticate(requestOn(connection, token), '/mcp');
    expect(userOf(first)).toBe('alice');
    expect(second).toBe(first);
    // Another connection with the same token is served from the verifier's cache.
    expect(userOf(await authenticate.authenticate(requestOn({}, token), '/mcp'))).toBe('alice');
    expect(counting.calls()).toBe(1);
  });

  it('checks again for another token or another resource on the same connection, and refuses a token for another resource', async () => {
    const counting = countingVerifier();
    const authenticate = oauthAuthenticator({ verifier: cachedVerifier(counting.verifier), resourceFor, logger: createLogger('test', 'silent') });
    const alice = await issuer.accessToken(MAIN.resource, { sub: 'alice' });
    const bob = await issuer.accessToken(MAIN.resource, { sub: 'bob' });
    const connection = {};
    expect(userOf(await authenticate.authenticate(requestOn(connection, alice), '/mcp'))).toBe('alice');
    expect(userOf(await authenticate.authenticate(requestOn(connection, bob), '/mcp'))).toBe('bob');
    // A token for the whole gateway is good on an upstream's endpoint too; one for that endpoint only is not good on /mcp.
    expect(userOf(await authenticate.authenticate(requestOn(connection, bob), '/servers/fx/mcp'))).toBe('bob');
    const fxOnly = await issuer.accessToken(FX.resource, { sub: 'carol' });
    expect(userOf(await authenticate.authenticate(requestOn(connection, fxOnly), '/servers/fx/mcp'))).toBe('carol');
    expect(userOf(await authenticate.authenticate(requestOn(connection, fxOnly), '/mcp'))).toBe('refused 401');
    expect(counting.calls()).toBe(5);
  });

  it("checks the token again once the verifier's cache would, so a revoked token is refused on an open connection", async () => {
    const counting = countingVerifier();
    const authenticate = oauthAuthenticator({
      verifier: cachedVerifier(counting.verifier, { maxAgeMs: 150 }),
      resourceFor,
      logger: createLogger('test', 'silent'),
    });
    const token = await issuer.accessToken(MAIN.resource, { sub: 'alice' });
    const connection = {};
    expect(userOf(await authenticate.authenticate(requestOn(connection, token), '/mcp'))).toBe('alice');
    counting.revoke();
    expect(userOf(await authenticate.authenticate(requestOn(connection, token), '/mcp'))).toBe('alice');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(userOf(await authenticate.authenticate(requestOn(connection, token), '/mcp'))).toBe('refused 401');
    expect(counting.calls()).toBe(2);
  });
});
