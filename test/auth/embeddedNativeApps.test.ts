import { discoverAuthorizationServerMetadata, exchangeAuthorization, refreshAuthorization, startAuthorization } from '@modelcontextprotocol/sdk/client/auth.js';
import type { AuthorizationServerMetadata, OAuthClientInformationFull } from '@modelcontextprotocol/sdk/shared/auth.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizeInBrowser, Browser, decodeJwt, EmbeddedAuthHarness, PASSWORDS } from './embeddedHarness.js';

/** What Cursor registers: its own scheme, which the operating system hands to the Cursor app. */
const CURSOR_REDIRECT = 'cursor://anysphere.cursor-retrieval/oauth/user-abc/callback';

let harness: EmbeddedAuthHarness;
let metadata: AuthorizationServerMetadata | undefined;

beforeAll(async () => {
  harness = await new EmbeddedAuthHarness().start();
  metadata = await discoverAuthorizationServerMetadata(harness.issuer);
  expect(metadata?.registration_endpoint).toBe(`${harness.issuer}/reg`);
});
afterAll(async () => harness?.stop());

/** Register as a desktop MCP client does: no application_type, public, code and refresh grants. */
async function registerNativeApp(
  redirectUri: string,
  extra: Record<string, unknown> = {},
): Promise<OAuthClientInformationFull & { application_type?: string }> {
  const { status, body } = await harness.register({
    client_name: 'Cursor',
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
    ...extra,
  });
  expect(status, JSON.stringify(body)).toBe(201);
  return body as unknown as OAuthClientInformationFull & { application_type?: string };
}

async function authorizeApp(client: OAuthClientInformationFull, redirectUri: string, consent: 'allow' | 'deny' = 'allow') {
  const start = await startAuthorization(harness.issuer, {
    metadata,
    clientInformation: client,
    redirectUrl: redirectUri,
    scope: 'pm:read pm:write',
    state: 'native-state',
    resource: new URL(harness.resource),
  });
  const result = await authorizeInBrowser(new Browser(harness.baseUrl), start.authorizationUrl, {
    login: 'ada',
    passwords: [PASSWORDS.ada],
    consent,
    redirectUri,
  });
  return { ...result, codeVerifier: start.codeVerifier };
}

describe('native applications with their own redirect scheme (RFC 8252)', () => {
  it('registers Cursor as a native public client, signs in with PKCE, and returns the code to cursor://', async () => {
    const client = await registerNativeApp(CURSOR_REDIRECT);
    expect(client).toMatchObject({ application_type: 'native', token_endpoint_auth_method: 'none', redirect_uris: [CURSOR_REDIRECT] });
    expect(client.client_secret).toBeUndefined();

    const { callback, consentPages, codeVerifier } = await authorizeApp(client, CURSOR_REDIRECT);
    // The consent page names the application's scheme, not just a host that could be anyone's.
    expect(consentPages[0]).toContain('returning to <code>cursor://anysphere.cursor-retrieval</code>');
    // The authorization response (the Location header) sends the browser to the app's own URI.
    expect(callback.href.startsWith(`${CURSOR_REDIRECT}?`)).toBe(true);
    expect(callback.searchParams.get('state')).toBe('native-state');
    expect(callback.searchParams.get('iss')).toBe(harness.issuer);
    const code = callback.searchParams.get('code');
    expect(code).toBeTruthy();

    const tokens = await exchangeAuthorization(harness.issuer, {
      metadata,
      clientInformation: client,
      authorizationCode: code ?? '',
      codeVerifier,
      redirectUri: CURSOR_REDIRECT,
      resource: new URL(harness.resource),
    });
    expect(tokens.scope).toBe('pm:read pm:write');
    expect(decodeJwt(tokens.access_token).payload).toMatchObject({ iss: harness.issuer, aud: harness.resource, sub: 'ada', client_id: client.client_id });
    const answer = await harness.callProtected(tokens.access_token);
    expect(answer.status).toBe(200);
    expect(answer.claims).toMatchObject({ sub: 'ada', aud: harness.resource, scope: 'pm:read pm:write' });

    const refreshed = await refreshAuthorization(harness.issuer, { metadata, clientInformation: client, refreshToken: tokens.refresh_token ?? '' });
    expect((await harness.callProtected(refreshed.access_token)).status).toBe(200);
  });

  it('accepts Cursor’s full set of redirect URIs, other schemes, and an explicit application_type "native"', async () => {
    // No token_endpoint_auth_method: a native application gets "none", and no secret it could not keep.
    const cursor = await harness.register({
      client_name: 'Cursor',
      redirect_uris: ['cursor://anysphere.cursor-mcp/oauth/callback', 'https://www.cursor.com/agents/mcp/oauth/callback', 'http://localhost:8787/callback'],
    });
    expect(cursor.status).toBe(201);
    expect(cursor.body).toMatchObject({ application_type: 'native', token_endpoint_auth_method: 'none' });
    expect(cursor.body.client_secret).toBeUndefined();

    const vscode = await registerNativeApp('vscode://vscode.github-authentication/did-authenticate');
    expect(vscode.application_type).toBe('native');
    const reverseDomain = await registerNativeApp('com.example.app:/oauth2redirect', { application_type: 'native' });
    expect(reverseDomain.application_type).toBe('native');
  });

  it('refuses script, content, file and network schemes, and a URI that is only a scheme', async () => {
    const refused: Array<[string, RegExp]> = [
      ['javascript:alert(document.cookie)', /javascript scheme, which runs script/],
      ['JavaScript://%0Aalert(1)', /javascript scheme/],
      ['data:text/html,<script>alert(1)</script>', /data scheme/],
      ['file:///Users/ada/callback.html', /file scheme, which opens a local file/],
      ['vbscript:msgbox(1)', /vbscript scheme/],
      ['blob:https://evil.example/0b1c', /blob scheme/],
      ['about:blank', /about scheme/],
      ['wss://evil.example/cb', /wss scheme/],
      ['ftp://evil.example/cb', /ftp scheme/],
      ['mailto:thief@evil.example', /mailto scheme/],
      ['myapp:', /names only a scheme.*myapp:\/callback/],
      ['myapp://', /names only a scheme/],
    ];
    for (const [uri, message] of refused) {
      const { status, body } = await harness.register({ redirect_uris: [uri], token_endpoint_auth_method: 'none' });
      expect(status, uri).toBe(400);
      expect(body.error, uri).toBe('invalid_redirect_uri');
      expect(String(body.error_description), uri).toMatch(message);
    }
    // One bad URI among good ones refuses the registration.
    const mixed = await harness.register({ redirect_uris: [CURSOR_REDIRECT, 'javascript:alert(1)'], token_endpoint_auth_method: 'none' });
    expect(mixed.status).toBe(400);
  });

  it('registers a client with its own scheme as native even when it calls itself "web"', async () => {
    const { status, body } = await harness.register({ application_type: 'web', redirect_uris: [CURSOR_REDIRECT], token_endpoint_auth_method: 'none' });
    expect(status).toBe(201);
    expect(body).toMatchObject({ application_type: 'native', token_endpoint_auth_method: 'none', redirect_uris: [CURSOR_REDIRECT] });
  });

  it('gives an application with its own scheme a secret only if it asks for one, and holds it to PKCE', async () => {
    for (const method of ['client_secret_basic', 'client_secret_post']) {
      const { status, body } = await harness.register({ redirect_uris: [CURSOR_REDIRECT], token_endpoint_auth_method: method });
      expect(status, method).toBe(201);
      expect(body).toMatchObject({ application_type: 'native', token_endpoint_auth_method: method });
      expect(body.client_secret, method).toBeTruthy();
    }
    const without = await harness.register({ redirect_uris: [CURSOR_REDIRECT] });
    expect(without.body).toMatchObject({ application_type: 'native', token_endpoint_auth_method: 'none' });
    expect(without.body.client_secret).toBeUndefined();

    const client = await registerNativeApp(CURSOR_REDIRECT);
    const url = new URL(`${harness.issuer}/auth`);
    url.search = new URLSearchParams({
      client_id: client.client_id,
      response_type: 'code',
      redirect_uri: CURSOR_REDIRECT,
      scope: 'pm:read',
      state: 's',
    }).toString();
    const response = await new Browser(harness.baseUrl).get(url.href);
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get('location') ?? '');
    expect(location.href.startsWith(`${CURSOR_REDIRECT}?`)).toBe(true);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('error_description')).toMatch(/PKCE/);
  });

  it('escapes the scheme and host on the consent page', async () => {
    const redirect = "x-app://a'b&c/cb";
    const client = await registerNativeApp(redirect);
    const { consentPages, callback } = await authorizeApp(client, redirect, 'deny');
    expect(consentPages[0]).toContain('returning to <code>x-app://a&#39;b&#38;c</code>');
    expect(consentPages[0]).not.toContain("a'b&c");
    expect(callback.searchParams.get('error')).toBe('access_denied');
  });
});
