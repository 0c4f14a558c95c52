import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cachedVerifier,
  introspectionVerifier,
  jwtAccessTokenVerifier,
  TokenRejected,
  VerifierUnavailable,
  type AccessTokenVerifier,
} from '../../gateway/auth/accessTokenVerifier.js';
import { readBearerToken } from '../../gateway/auth/bearerToken.js';
import { discoverIssuer } from '../../gateway/oauth/issuerDiscovery.js';
import { insufficientScopeChallenge, protectedResourceFor, unauthorizedChallenge } from '../../gateway/auth/protectedResource.js';
import { accessLevelFor, grants, missingScopes } from '../../gateway/auth/scopePolicy.js';
import { TestIssuer, unsignedToken } from '../support/testIssuer.js';

const RESOURCE = 'http://127.0.0.1:8080/mcp';

describe('JWT access token verification (RFC 9068 via oauth4webapi)', () => {
  let issuer: TestIssuer;
  let verifier: AccessTokenVerifier;

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
    const authorizationServer = await discoverIssuer(issuer.issuer);
    verifier = jwtAccessTokenVerifier({
      authorizationServer,
      algorithms: ['ES256', 'RS256'],
      clockToleranceSeconds: 30,
      allowInsecureRequests: true,
      minKeyRefreshIntervalMs: 0,
    });
  });
  afterAll(async () => issuer?.stop());

  const rejects = async (token: string, pattern: RegExp, audiences = [RESOURCE]) => {
    const error = await verifier.verify(token, audiences).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TokenRejected);
    expect((error as TokenRejected).reason).toMatch(pattern);
  };

  it('accepts a valid token and reads subject, client, scopes and email', async () => {
    const token = await issuer.accessToken(RESOURCE, { sub: 'grace', scope: 'pm:read pm:write', email: 'grace@example.com' });
    const access = await verifier.verify(token, [RESOURCE]);
    expect(access).toMatchObject({
      subject: 'grace',
      clientId: 'test-client',
      scopes: ['pm:read', 'pm:write'],
      email: 'grace@example.com',
      audience: RESOURCE,
    });
  });

  it('accepts the scp array form some providers use', async () => {
    const token = await issuer.accessToken(RESOURCE, { scope: undefined, scp: ['docs:read'] });
    expect((await verifier.verify(token, [RESOURCE])).scopes).toEqual(['docs:read']);
  });

  it('accepts a token for a second acceptable audience', async () => {
    const endpoint = 'http://127.0.0.1:8080/servers/pm/mcp';
    const token = await issuer.accessToken(endpoint);
    expect((await verifier.verify(token, [endpoint, RESOURCE])).audience).toBe(endpoint);
    await rejects(token, /aud/, [RESOURCE]);
  });

  it('rejects an expired token, and one not yet valid, beyond the allowed skew', async () => {
    const now = Math.floor(Date.now() / 1000);
    await rejects(await issuer.accessToken(RESOURCE, {}, { issuedAt: now - 3600, expiresInSeconds: 60 }), /exp/);
    await rejects(await issuer.accessToken(RESOURCE, { nbf: now + 600 }), /nbf/);
    // Within the skew it passes.
    await expect(verifier.verify(await issuer.accessToken(RESOURCE, {}, { issuedAt: now - 100, expiresInSeconds: 90 }), [RESOURCE])).resolves.toBeDefined();
  });

  it('rejects another issuer, another audience, and a token for another resource', async () => {
    await rejects(await issuer.accessToken(RESOURCE, { iss: 'https://evil.example' }), /iss/);
    await rejects(await issuer.accessToken('https://other.example/mcp'), /aud/);
    await rejects(await issuer.accessToken(['https://other.example/mcp', 'https://third.example']), /aud/);
  });

  it('rejects alg none, a tampered signature, a foreign key and a wrong typ', async () => {
    await rejects(unsignedToken({ iss: issuer.issuer, aud: RESOURCE, sub: 'ada', exp: Math.floor(Date.now() / 1000) + 600 }), /.+/);
    const good = await issuer.accessToken(RESOURCE, { scope: 'pm:read' });
    const [header, payload, signature] = good.split('.');
    const escalated = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), scope: 'pm:admin' })).toString('base64url');
    await rejects(`${header}.${escalated}.${signature}`, /signature/i);
    const stranger = await issuer.strangerKey();
    await rejects(await issuer.accessToken(RESOURCE, {}, { key: stranger }), /.+/);
    await rejects(await issuer.accessToken(RESOURCE, {}, { typ: 'JWT' }), /typ/);
    await rejects('not.a.jwt', /.+/);
  });

  it('refetches the key set when a token names an unknown key id, then accepts the rotated key', async () => {
    const before = issuer.jwksFetches;
    await issuer.rotate();
    const token = await issuer.accessToken(RESOURCE);
    await expect(verifier.verify(token, [RESOURCE])).resolves.toMatchObject({ subject: 'ada' });
    expect(issuer.jwksFetches).toBeGreaterThan(before);
  });

  it('rejects an algorithm outside the allow-list', async () => {
    const strict = jwtAccessTokenVerifier({
      authorizationServer: await discoverIssuer(issuer.issuer),
      algorithms: ['RS256'],
      clockToleranceSeconds: 30,
      allowInsecureRequests: true,
    });
    const error = await strict.verify(await issuer.accessToken(RESOURCE), [RESOURCE]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenRejected);
  });

  it('answers "unavailable", not "rejected", when the issuer\'s keys cannot be fetched', async () => {
    const authorizationServer = await discoverIssuer(issuer.issuer);
    // The key set lives on a port nothing listens on: the token may be fine, the check cannot be made.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = jwtAccessTokenVerifier({
      authorizationServer: { ...authorizationServer, jwks_uri: `http://127.0.0.1:${port}/jwks` },
      algorithms: ['ES256', 'RS256'],
      clockToleranceSeconds: 30,
      allowInsecureRequests: true,
      minKeyRefreshIntervalMs: 0,
    });
    const error = await unreachable.verify(await issuer.accessToken(RESOURCE), [RESOURCE]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(VerifierUnavailable);
    expect((error as Error).message).toMatch(/signing keys/);
  });

  it('caches verified tokens by hash and never caches rejections', async () => {
    let calls = 0;
    const counting: AccessTokenVerifier = {
      verify: async (token, audiences) => {
        calls += 1;
        return verifier.verify(token, audiences);
      },
    };
    const cached = cachedVerifier(counting);
    const token = await issuer.accessToken(RESOURCE);
    await cached.verify(token, [RESOURCE]);
    await cached.verify(token, [RESOURCE]);
    expect(calls).toBe(1);
    const bad = await issuer.accessToken('https://other.example');
    await expect(cached.verify(bad, [RESOURCE])).rejects.toBeInstanceOf(TokenRejected);
    await expect(cached.verify(bad, [RESOURCE])).rejects.toBeInstanceOf(TokenRejected);
    expect(calls).toBe(3);
  });
});

describe('opaque token introspection (RFC 7662)', () => {
  let issuer: TestIssuer;
  let verifier: AccessTokenVerifier;
  beforeAll(async () => {
    issuer = await new TestIssuer().start();
    verifier = introspectionVerifier({
      authorizationServer: await discoverIssuer(issuer.issuer),
      clientId: issuer.introspectionClient.id,
      clientSecret: issuer.introspectionClient.secret,
      allowInsecureRequests: true,
      clockToleranceSeconds: 30,
    });
  });
  afterAll(async () => issuer?.stop());

  it('accepts an active token for this resource', async () => {
    const token = issuer.opaqueToken({ active: true, sub: 'ada', aud: RESOURCE, scope: 'github:read', exp: Math.floor(Date.now() / 1000) + 600 });
    expect(await verifier.verify(token, [RESOURCE])).toMatchObject({ subject: 'ada', scopes: ['github:read'] });
  });

  it('rejects inactive, unknown, foreign-audience, expired and foreign-issuer tokens', async () => {
    const exp = Math.floor(Date.now() / 1000) + 600;
    const cases: Array<[string, RegExp]> = [
      [issuer.opaqueToken({ active: false }), /not active/],
      ['never-issued-token', /not active/],
      [issuer.opaqueToken({ active: true, sub: 'ada', aud: 'https://other.example', exp }), /another resource/],
      [issuer.opaqueToken({ active: true, sub: 'ada', aud: RESOURCE, exp: exp - 3600 }), /expired/],
      [issuer.opaqueToken({ active: true, sub: 'ada', aud: RESOURCE, exp, iss: 'https://evil.example' }), /another authorization server/],
    ];
    for (const [token, reason] of cases) {
      const error = await verifier.verify(token, [RESOURCE]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TokenRejected);
      expect((error as TokenRejected).reason).toMatch(reason);
    }
  });
});

describe('bearer header, challenges and scope policy', () => {
  it('reads only well-formed Bearer headers', () => {
    expect(readBearerToken(undefined)).toEqual({ kind: 'missing' });
    expect(readBearerToken('Basic YWRhOnB3')).toMatchObject({ kind: 'malformed' });
    expect(readBearerToken('Bearer ')).toMatchObject({ kind: 'malformed' });
    expect(readBearerToken('Bearer')).toMatchObject({ kind: 'malformed', reason: 'the Bearer token is empty' });
    expect(readBearerToken('Bearer a b')).toMatchObject({ kind: 'malformed' });
    expect(readBearerToken('bearer abc.def-ghi_~+/=')).toEqual({ kind: 'token', token: 'abc.def-ghi_~+/=' });
  });

  it('publishes metadata at the path-inserted well-known URI and builds RFC 6750 challenges', () => {
    const resource = protectedResourceFor('https://mcp.example.com/servers/pm/mcp');
    expect(resource.metadataUrl).toBe('https://mcp.example.com/.well-known/oauth-protected-resource/servers/pm/mcp');
    expect(unauthorizedChallenge(resource)).toBe('Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/servers/pm/mcp"');
    expect(unauthorizedChallenge(resource, { code: 'invalid_token', description: 'say "hi"' })).toContain('error_description="say \\"hi\\""');
    expect(unauthorizedChallenge(resource, undefined, ['pm:read', 'pm:write'])).toBe(
      'Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/servers/pm/mcp", scope="pm:read pm:write"',
    );
    // Step-up asks for the union of what the token holds and what the call needs.
    expect(insufficientScopeChallenge(resource, ['pm:read', 'docs:read'], ['pm:write', 'pm:read'], 'needs write')).toMatch(
      /^Bearer error="insufficient_scope", scope="pm:read docs:read pm:write", resource_metadata="/,
    );
  });

  it('derives access levels from annotations with MCP defaults, and nests levels', () => {
    expect(accessLevelFor({ readOnlyHint: true })).toBe('read');
    expect(accessLevelFor({ readOnlyHint: false, destructiveHint: false })).toBe('write');
    expect(accessLevelFor({ destructiveHint: true })).toBe('admin');
    expect(accessLevelFor(undefined)).toBe('admin');
    const granted = new Set(['pm:write', 'docs:read']);
    expect(grants(granted, 'pm:read')).toBe(true);
    expect(grants(granted, 'pm:write')).toBe(true);
    expect(grants(granted, 'pm:admin')).toBe(false);
    expect(grants(granted, 'github:read')).toBe(false);
    expect(grants(new Set(['pm:admin']), 'pm:read')).toBe(true);
    expect(missingScopes(granted, ['pm:read', 'github:write', 'docs:read'])).toEqual(['github:write']);
  });
});
