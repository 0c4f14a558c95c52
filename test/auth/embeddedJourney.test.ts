import {
  discoverAuthorizationServerMetadata,
  exchangeAuthorization,
  refreshAuthorization,
  registerClient,
  startAuthorization,
} from '@modelcontextprotocol/sdk/client/auth.js';
import type { AuthorizationServerMetadata, OAuthClientInformationFull } from '@modelcontextprotocol/sdk/shared/auth.js';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizeInBrowser, Browser, decodeJwt, EmbeddedAuthHarness, PASSWORDS, REDIRECT_URI } from './embeddedHarness.js';

let harness: EmbeddedAuthHarness;
let metadata: AuthorizationServerMetadata;

beforeAll(async () => {
  harness = await new EmbeddedAuthHarness().start();
  const discovered = await discoverAuthorizationServerMetadata(harness.issuer);
  if (!discovered) throw new Error('no metadata');
  metadata = discovered;
});
afterAll(async () => harness?.stop());

async function registerMcpClient(name = 'Test MCP Client'): Promise<OAuthClientInformationFull> {
  return registerClient(harness.issuer, {
    metadata,
    clientMetadata: {
      client_name: name,
      redirect_uris: [REDIRECT_URI],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    },
  });
}

describe('authorization code journey with the MCP SDK client', () => {
  it('registers, signs in (after a wrong password), consents, and gets a JWT for the gateway', async () => {
    const client = await registerMcpClient('Test <b>MCP</b> Client');
    expect(client.client_id).toBeTruthy();
    expect(client.client_secret).toBeUndefined();

    const { authorizationUrl, codeVerifier } = await startAuthorization(harness.issuer, {
      metadata,
      clientInformation: client,
      redirectUrl: REDIRECT_URI,
      scope: 'pm:read pm:write',
      state: 'state-123',
      resource: new URL(harness.resource),
    });
    const browser = new Browser(harness.baseUrl);
    const result = await authorizeInBrowser(browser, authorizationUrl, { login: 'ada', passwords: ['wrong password', PASSWORDS.ada] });
    expect(result.loginPages).toHaveLength(2);
    expect(result.loginPages[1]).toContain('Wrong user name or password.');
    expect(result.consentPages).toHaveLength(1);
    const consent = result.consentPages[0] ?? '';
    expect(consent).toContain('Test &#60;b&#62;MCP&#60;/b&#62; Client');
    expect(consent).not.toContain('<b>MCP</b>');
    expect(consent).toContain('Ada &#60;Lovelace&#62;');
    expect(consent).toContain('<code>pm:read</code>');
    expect(consent).toContain(`<code>${harness.resource}</code>`);

    expect(result.callback.searchParams.get('state')).toBe('state-123');
    expect(result.callback.searchParams.get('iss')).toBe(harness.issuer);
    const code = result.callback.searchParams.get('code');
    expect(code).toBeTruthy();

    const tokens = await exchangeAuthorization(harness.issuer, {
      metadata,
      clientInformation: client,
      authorizationCode: code ?? '',
      codeVerifier,
      redirectUri: REDIRECT_URI,
      resource: new URL(harness.resource),
    });
    expect(tokens.token_type).toMatch(/^bearer$/i);
    expect(tokens.refresh_token).toBeTruthy();
    expect(tokens.scope).toBe('pm:read pm:write');
    const { header, payload } = decodeJwt(tokens.access_token);
    expect(header).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });
    expect(payload).toMatchObject({
      iss: harness.issuer,
      aud: harness.resource,
      sub: 'ada',
      scope: 'pm:read pm:write',
      client_id: client.client_id,
      email: 'ada@example.com',
    });

    const answer = await harness.callProtected(tokens.access_token);
    expect(answer.status).toBe(200);
    expect(answer.claims).toMatchObject({ sub: 'ada', aud: harness.resource, scope: 'pm:read pm:write' });

    // Refresh rotates: a new refresh token, and the old one is dead.
    const refreshed = await refreshAuthorization(harness.issuer, {
      metadata,
      clientInformation: client,
      refreshToken: tokens.refresh_token ?? '',
      resource: new URL(harness.resource),
    });
    expect(refreshed.refresh_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(decodeJwt(refreshed.access_token).payload).toMatchObject({ sub: 'ada', aud: harness.resource, scope: 'pm:read pm:write' });
    expect((await harness.callProtected(refreshed.access_token)).status).toBe(200);
    await expect(refreshAuthorization(harness.issuer, { metadata, clientInformation: client, refreshToken: tokens.refresh_token ?? '' })).rejects.toMatchObject(
      { errorCode: 'invalid_grant' },
    );
    // Reuse of a rotated token is treated as theft (OAuth 2.1 §4.3.1): the whole grant is revoked.
    await expect(
      refreshAuthorization(harness.issuer, { metadata, clientInformation: client, refreshToken: refreshed.refresh_token ?? '' }),
    ).rejects.toMatchObject({ errorCode: 'invalid_grant' });
  });
});

describe('discovery', () => {
  it('serves RFC 8414 metadata at the path-inserted well-known URL, identical to the OpenID form', async () => {
    const inserted = await fetch(`${harness.baseUrl}/.well-known/oauth-authorization-server/oauth`);
    const openid = await fetch(`${harness.issuer}/.well-known/openid-configuration`);
    expect(inserted.status).toBe(200);
    const body = (await inserted.json()) as Record<string, unknown>;
    expect(body).toEqual(await openid.json());
    expect(body).toMatchObject({
      issuer: harness.issuer,
      authorization_endpoint: `${harness.issuer}/auth`,
      token_endpoint: `${harness.issuer}/token`,
      registration_endpoint: `${harness.issuer}/reg`,
      jwks_uri: `${harness.issuer}/jwks`,
      code_challenge_methods_supported: ['S256'],
      response_types_supported: ['code'],
      authorization_response_iss_parameter_supported: true,
    });
    expect(body.grant_types_supported).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token', 'client_credentials']));
    expect(body.scopes_supported).toEqual(expect.arrayContaining(['pm:read', 'pm:write', 'pm:admin', 'github:read']));
    expect(metadata.issuer).toBe(harness.issuer);

    // oauth4webapi finds it both ways (RFC 8414 and OpenID Connect Discovery).
    for (const algorithm of ['oauth2', 'oidc'] as const) {
      const issuer = new URL(harness.issuer);
      const response = await oauth.discoveryRequest(issuer, { algorithm, [oauth.allowInsecureRequests]: true });
      expect((await oauth.processDiscoveryResponse(issuer, response)).issuer).toBe(harness.issuer);
    }
    // Unrelated paths are left to the rest of the app.
    expect((await fetch(`${harness.baseUrl}/.well-known/oauth-authorization-server`)).status).toBe(404);
  });
});

/** An authorization URL built by hand, to send what the SDK would never send. */
function manualAuthorizationUrl(clientId: string, params: Record<string, string>): string {
  const url = new URL(`${harness.issuer}/auth`);
  url.search = new URLSearchParams({ client_id: clientId, response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'pm:read', ...params }).toString();
  return url.href;
}

async function authorizationError(url: string): Promise<URL> {
  const response = await new Browser(harness.baseUrl).get(url);
  expect(response.status).toBe(303);
  const location = new URL(response.headers.get('location') ?? '');
  expect(location.href.startsWith(REDIRECT_URI)).toBe(true);
  return location;
}

async function codeFor(client: OAuthClientInformationFull, login: 'ada' | 'bob', scope: string, resource?: string) {
  const { authorizationUrl, codeVerifier } = await startAuthorization(harness.issuer, {
    metadata,
    clientInformation: client,
    redirectUrl: REDIRECT_URI,
    scope,
    ...(resource ? { resource: new URL(resource) } : {}),
  });
  const result = await authorizeInBrowser(new Browser(harness.baseUrl), authorizationUrl, { login, passwords: [PASSWORDS[login]] });
  return { ...result, code: result.callback.searchParams.get('code') ?? '', codeVerifier };
}

describe('what a token may carry', () => {
  it('grants only requested ∩ supported ∩ the user’s allowed scopes', async () => {
    const client = await registerMcpClient();
    const { code, codeVerifier, consentPages } = await codeFor(client, 'bob', 'pm:read pm:write pm:admin unknown:scope', harness.resource);
    expect(consentPages[0]).toContain('<code>pm:read</code>');
    expect(consentPages[0]).toMatch(/class="denied"><code>pm:write<\/code>/);
    expect(consentPages[0]).not.toContain('unknown:scope');
    const tokens = await exchangeAuthorization(harness.issuer, {
      metadata,
      clientInformation: client,
      authorizationCode: code,
      codeVerifier,
      redirectUri: REDIRECT_URI,
      resource: new URL(harness.resource),
    });
    expect(tokens.scope).toBe('pm:read');
    expect(decodeJwt(tokens.access_token).payload).toMatchObject({ sub: 'bob', scope: 'pm:read', email: 'bob@example.com' });
  });

  it('defaults the audience to the main MCP endpoint when the client names no resource', async () => {
    const client = await registerMcpClient();
    const { code, codeVerifier } = await codeFor(client, 'ada', 'pm:read');
    const tokens = await exchangeAuthorization(harness.issuer, {
      metadata,
      clientInformation: client,
      authorizationCode: code,
      codeVerifier,
      redirectUri: REDIRECT_URI,
    });
    expect(decodeJwt(tokens.access_token).payload.aud).toBe(harness.resource);
    expect((await harness.callProtected(tokens.access_token)).status).toBe(200);
  });

  it('issues a token for a per-namespace endpoint that the main endpoint refuses', async () => {
    const client = await registerMcpClient();
    const pm = harness.namespaceResource('pm');
    const { code, codeVerifier } = await codeFor(client, 'ada', 'pm:read', pm);
    const tokens = await exchangeAuthorization(harness.issuer, {
      metadata,
      clientInformation: client,
      authorizationCode: code,
      codeVerifier,
      redirectUri: REDIRECT_URI,
      resource: new URL(pm),
    });
    expect(decodeJwt(tokens.access_token).payload.aud).toBe(pm);
    expect((await harness.callProtected(tokens.access_token, '/servers/pm/mcp')).status).toBe(200);
    const wrongAudience = await harness.callProtected(tokens.access_token, '/mcp');
    expect(wrongAudience.status).toBe(401);
    expect(wrongAudience.error).toMatch(/aud/);
    expect((await harness.callProtected(tokens.access_token, '/servers/github/mcp')).status).toBe(401);
  });

  it('refuses a foreign resource with invalid_target, at the authorization and token endpoints', async () => {
    const client = await registerMcpClient();
    const atAuthorization = await authorizationError(
      manualAuthorizationUrl(client.client_id, {
        resource: 'https://evil.example/mcp',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
      }),
    );
    expect(atAuthorization.searchParams.get('error')).toBe('invalid_target');

    const { code, codeVerifier } = await codeFor(client, 'ada', 'pm:read', harness.resource);
    await expect(
      exchangeAuthorization(harness.issuer, {
        metadata,
        clientInformation: client,
        authorizationCode: code,
        codeVerifier,
        redirectUri: REDIRECT_URI,
        resource: new URL('https://evil.example/mcp'),
      }),
    ).rejects.toMatchObject({ errorCode: 'invalid_target' });
  });
});

describe('PKCE', () => {
  it('is required for every client, and only S256 is accepted', async () => {
    const client = await registerMcpClient();
    const missing = await authorizationError(manualAuthorizationUrl(client.client_id, { resource: harness.resource }));
    expect(missing.searchParams.get('error')).toBe('invalid_request');
    expect(missing.searchParams.get('error_description')).toMatch(/PKCE/);

    const plain = await authorizationError(manualAuthorizationUrl(client.client_id, { code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' }));
    expect(plain.searchParams.get('error')).toBe('invalid_request');
    expect(plain.searchParams.get('error_description')).toMatch(/code_challenge_method/);

    // A confidential client registered with a secret is held to the same rule.
    const confidential = await registerClient(harness.issuer, {
      metadata,
      clientMetadata: { client_name: 'web app', redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'client_secret_basic' },
    });
    expect(confidential.client_secret).toBeTruthy();
    const noChallenge = await authorizationError(manualAuthorizationUrl(confidential.client_id, {}));
    expect(noChallenge.searchParams.get('error')).toBe('invalid_request');
  });

  it('refuses a code redeemed with the wrong verifier', async () => {
    const client = await registerMcpClient();
    const { code } = await codeFor(client, 'ada', 'pm:read', harness.resource);
    await expect(
      exchangeAuthorization(harness.issuer, {
        metadata,
        clientInformation: client,
        authorizationCode: code,
        codeVerifier: 'x'.repeat(64),
        redirectUri: REDIRECT_URI,
      }),
    ).rejects.toMatchObject({ errorCode: 'invalid_grant' });
  });
});

describe('the login and consent pages', () => {
  it('denying at consent sends access_denied back to the client', async () => {
    const client = await registerMcpClient();
    const { authorizationUrl } = await startAuthorization(harness.issuer, {
      metadata,
      clientInformation: client,
      redirectUrl: REDIRECT_URI,
      scope: 'pm:read',
      state: 's1',
    });
    const { callback } = await authorizeInBrowser(new Browser(harness.baseUrl), authorizationUrl, {
      login: 'ada@EXAMPLE.com',
      passwords: [PASSWORDS.ada],
      consent: 'deny',
    });
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('state')).toBe('s1');
    expect(callback.searchParams.get('code')).toBeNull();
  });

  it('gives up after five failed sign-ins, with the same message for an unknown user as for a wrong password', async () => {
    const client = await registerMcpClient();
    const { authorizationUrl } = await startAuthorization(harness.issuer, { metadata, clientInformation: client, redirectUrl: REDIRECT_URI, scope: 'pm:read' });
    const { callback, loginPages } = await authorizeInBrowser(new Browser(harness.baseUrl), authorizationUrl, {
      login: 'nobody',
      passwords: ['a', 'b', 'c', 'd', 'e'],
    });
    expect(loginPages).toHaveLength(5);
    expect(loginPages[1]).toContain('Wrong user name or password.');
    expect(loginPages[1]).toContain('value="nobody"');
    expect(callback.searchParams.get('error')).toBe('access_denied');
  });

  it('refuses form posts without the interaction cookie, from another origin, or for another interaction', async () => {
    const client = await registerMcpClient();
    const { authorizationUrl } = await startAuthorization(harness.issuer, { metadata, clientInformation: client, redirectUrl: REDIRECT_URI, scope: 'pm:read' });
    const browser = new Browser(harness.baseUrl);
    const start = await browser.get(authorizationUrl.href);
    const interactionPath = start.headers.get('location') ?? '';
    expect(interactionPath).toMatch(/^\/oauth\/interaction\/[\w-]+$/);
    // The cookies are signed with the persistent cookie keys.
    expect(browser.cookieNames()).toEqual(expect.arrayContaining(['manifold_oauth_interaction', 'manifold_oauth_interaction.sig']));

    const page = await browser.get(interactionPath);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'.*frame-ancestors 'none'/);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('cache-control')).toBe('no-store');

    const noCookie = await new Browser(harness.baseUrl).post(`${interactionPath}/login`, { login: 'ada', password: PASSWORDS.ada });
    expect(noCookie.status).toBe(400);
    expect(await noCookie.text()).toContain('expired');

    const crossOrigin = await browser.post(`${interactionPath}/login`, { login: 'ada', password: PASSWORDS.ada }, { origin: 'http://127.0.0.1:9' });
    expect(crossOrigin.status).toBe(403);

    const otherUid = await browser.post('/oauth/interaction/AAAAAAAAAAAAAAAAAAAA/login', { login: 'ada', password: PASSWORDS.ada });
    expect(otherUid.status).toBe(400);

    // The genuine form still works afterwards.
    const ok = await browser.post(`${interactionPath}/login`, { login: 'ada', password: PASSWORDS.ada });
    expect(ok.status).toBe(303);
  });
});
