import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  discoverAuthorizationServerMetadata,
  exchangeAuthorization,
  refreshAuthorization,
  registerClient,
  startAuthorization,
} from '@modelcontextprotocol/sdk/client/auth.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COOKIE_KEYS_FILE, SIGNING_KEYS_FILE } from '../../gateway/auth/embedded/persistentKeys.js';
import { openOidcStateStore } from '../../gateway/auth/embedded/sqliteAdapter.js';
import { authorizeInBrowser, Browser, decodeJwt, EmbeddedAuthHarness, PASSWORDS, REDIRECT_URI } from './embeddedHarness.js';

let harness: EmbeddedAuthHarness;

beforeAll(async () => {
  harness = await new EmbeddedAuthHarness().start();
});
afterAll(async () => harness?.stop());

describe('restart on the same data directory', () => {
  it('keeps signing keys, registered clients, sessions and refresh tokens working', async () => {
    const metadata = await discoverAuthorizationServerMetadata(harness.issuer);
    if (!metadata) throw new Error('no metadata');
    const registration = await fetch(`${harness.issuer}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_name: 'survivor',
        redirect_uris: [REDIRECT_URI],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
      }),
    });
    const client = (await registration.json()) as Awaited<ReturnType<typeof registerClient>> & { registration_access_token: string };
    const browser = new Browser(harness.baseUrl);
    const first = await startAuthorization(harness.issuer, {
      metadata,
      clientInformation: client,
      redirectUrl: REDIRECT_URI,
      scope: 'pm:read pm:write',
      resource: new URL(harness.resource),
    });
    const signedIn = await authorizeInBrowser(browser, first.authorizationUrl, { login: 'ada', passwords: [PASSWORDS.ada] });
    const tokens = await exchangeAuthorization(harness.issuer, {
      metadata,
      clientInformation: client,
      authorizationCode: signedIn.callback.searchParams.get('code') ?? '',
      codeVerifier: first.codeVerifier,
      redirectUri: REDIRECT_URI,
      resource: new URL(harness.resource),
    });
    const jwksBefore = await (await fetch(`${harness.issuer}/jwks`)).json();

    await harness.restart();

    // Same keys: the access token issued before the restart still validates.
    expect(await (await fetch(`${harness.issuer}/jwks`)).json()).toEqual(jwksBefore);
    expect((await harness.callProtected(tokens.access_token)).status).toBe(200);

    // The refresh token survives and rotates.
    const refreshed = await refreshAuthorization(harness.issuer, {
      metadata,
      clientInformation: client,
      refreshToken: tokens.refresh_token ?? '',
      resource: new URL(harness.resource),
    });
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(decodeJwt(refreshed.access_token).payload).toMatchObject({ sub: 'ada', scope: 'pm:read pm:write' });
    expect((await harness.callProtected(refreshed.access_token)).status).toBe(200);

    // The registered client survives (RFC 7592 read with its registration access token)…
    const read = await fetch(`${harness.issuer}/reg/${client.client_id}`, { headers: { authorization: `Bearer ${client.registration_access_token}` } });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ client_id: client.client_id, client_name: 'survivor' });

    // …and so does the browser session and the grant: no login page, no consent page.
    const again = await startAuthorization(harness.issuer, {
      metadata,
      clientInformation: client,
      redirectUrl: REDIRECT_URI,
      scope: 'pm:read',
      resource: new URL(harness.resource),
    });
    const silent = await authorizeInBrowser(browser, again.authorizationUrl, { login: 'ada', passwords: [] });
    expect(silent.loginPages).toHaveLength(0);
    expect(silent.consentPages).toHaveLength(0);
    expect(silent.callback.searchParams.get('code')).toBeTruthy();
  });

  it('narrows refreshed tokens to what the user may still have after a configuration change', async () => {
    const metadata = await discoverAuthorizationServerMetadata(harness.issuer);
    if (!metadata) throw new Error('no metadata');
    const client = await registerClient(harness.issuer, {
      metadata,
      clientMetadata: {
        client_name: 'narrowed',
        redirect_uris: [REDIRECT_URI],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
      },
    });
    const start = await startAuthorization(harness.issuer, {
      metadata,
      clientInformation: client,
      redirectUrl: REDIRECT_URI,
      scope: 'pm:read pm:write',
      resource: new URL(harness.resource),
    });
    const { callback } = await authorizeInBrowser(new Browser(harness.baseUrl), start.authorizationUrl, { login: 'ada', passwords: [PASSWORDS.ada] });
    const tokens = await exchangeAuthorization(harness.issuer, {
      metadata,
      clientInformation: client,
      authorizationCode: callback.searchParams.get('code') ?? '',
      codeVerifier: start.codeVerifier,
      redirectUri: REDIRECT_URI,
    });
    expect(tokens.scope).toBe('pm:read pm:write');

    await harness.restart((options) => ({ ...options, users: options.users.map((u) => (u.id === 'ada' ? { ...u, scopes: ['pm:read'] } : u)) }));
    try {
      const refreshed = await refreshAuthorization(harness.issuer, { metadata, clientInformation: client, refreshToken: tokens.refresh_token ?? '' });
      expect(refreshed.scope).toBe('pm:read');
      expect(decodeJwt(refreshed.access_token).payload.scope).toBe('pm:read');
    } finally {
      await harness.restart();
    }
  });

  it('keeps secrets owner-only', () => {
    expect(statSync(harness.dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(harness.dataDir, SIGNING_KEYS_FILE)).mode & 0o777).toBe(0o600);
    expect(statSync(join(harness.dataDir, COOKIE_KEYS_FILE)).mode & 0o777).toBe(0o600);
  });
});

describe('SQLite adapter', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'manifold-oidc-state-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds, consumes, revokes by grant per model, and purges expired rows', async () => {
    const store = openOidcStateStore(join(dir, 'state.sqlite'));
    const refreshTokens = store.adapter('RefreshToken');
    const codes = store.adapter('AuthorizationCode');
    const sessions = store.adapter('Session');
    await refreshTokens.upsert('rt1', { grantId: 'g1', accountId: 'ada' }, 3600);
    await refreshTokens.upsert('rt2', { grantId: 'g2', accountId: 'ada' }, 3600);
    await codes.upsert('c1', { grantId: 'g1' }, 60);
    await sessions.upsert('s1', { uid: 'u1', accountId: 'ada' }, 3600);
    await sessions.upsert('gone', { uid: 'u2' }, 0);

    expect(await refreshTokens.find('rt1')).toMatchObject({ grantId: 'g1' });
    expect(await refreshTokens.find('c1')).toBeUndefined();
    expect(await sessions.findByUid('u1')).toMatchObject({ accountId: 'ada' });
    expect(await sessions.find('gone')).toBeUndefined();

    await refreshTokens.consume('rt1');
    expect((await refreshTokens.find('rt1'))?.consumed).toEqual(expect.any(Number));

    await refreshTokens.revokeByGrantId('g1');
    expect(await refreshTokens.find('rt1')).toBeUndefined();
    expect(await refreshTokens.find('rt2')).toBeDefined();
    expect(await codes.find('c1')).toBeDefined();

    expect(store.purgeExpired()).toBe(1);
    await sessions.destroy('s1');
    expect(await sessions.findByUid('u1')).toBeUndefined();
    store.close();
  });
});
