import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Client,
  StreamableHTTPClientTransport,
  UnauthorizedError,
  type OAuthClientMetadata,
  type OAuthClientProvider,
  type StoredOAuthClientInformation,
  type StoredOAuthTokens,
} from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError as V1UnauthorizedError, type OAuthClientProvider as V1OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport as V1StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthClientInformationMixed, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../gateway/auth/embedded/passwords.js';
import { domainUpstreams, rawSession, startGateway, waitReady, type RunningGateway } from '../gateway/harness.js';
import { postModern } from '../support/modernWire.js';
import { authorizeInBrowser, Browser, decodeJwt } from './embeddedHarness.js';
import { MetadataDocumentHost, selfSignedCertificate, type SelfSignedCertificate } from './selfSignedHttps.js';

/**
 * What users meet when a standard MCP client signs in to the gateway: the 401 names the
 * least-privilege default, the client asks for exactly that (never admin), and a call that
 * needs admin steps up to the union of held and needed scopes. The SDK v2 client identifies
 * itself by a client ID metadata document (served over https with a certificate the gateway
 * trusts through NODE_EXTRA_CA_CERTS); the v1 client registers itself dynamically.
 */
const REDIRECT_URI = 'http://127.0.0.1:33420/callback';
const PASSWORD = 'grace-may-do-everything';
const DEFAULT_SCOPES = ['docs:read', 'docs:write', 'pm:read', 'pm:write'];

let certificate: SelfSignedCertificate;
let host: MetadataDocumentHost;
let gateway: RunningGateway;
const dataDir = mkdtempSync(join(tmpdir(), 'manifold-journeys-'));

beforeAll(async () => {
  certificate = selfSignedCertificate();
  host = await new MetadataDocumentHost(certificate).start();
  gateway = await startGateway(
    {
      auth: {
        mode: 'oauth',
        embedded: {
          users: [{ id: 'grace', email: 'grace@example.com', passwordHash: await hashPassword(PASSWORD) }],
          clientMetadataDocuments: { allowLoopback: true },
        },
      },
      upstreams: domainUpstreams(dataDir),
    },
    { env: { MANIFOLD_DATA_DIR: dataDir, NODE_EXTRA_CA_CERTS: certificate.certFile } },
  );
  await waitReady(gateway);
});
afterAll(async () => {
  await gateway?.stop();
  await host?.stop();
  certificate?.remove();
  rmSync(dataDir, { recursive: true, force: true });
});

const sorted = (scope: string | null | undefined): string[] => (scope ?? '').split(' ').filter(Boolean).sort();
const tokenScopes = (accessToken: string | undefined): string[] => sorted(String(decodeJwt(accessToken ?? '').payload.scope ?? ''));
const gatewayScopes = (scopes: string[]): string[] => scopes.filter((s) => s !== 'offline_access');
const challengedScopes = (headers: Headers): string[] => sorted(/scope="([^"]*)"/.exec(headers.get('www-authenticate') ?? '')?.[1]);

/** An MCP host's OAuth state for the v2 client, known to the server by its metadata document URL. */
class MetadataDocumentClient implements OAuthClientProvider {
  information: StoredOAuthClientInformation | undefined;
  stored: StoredOAuthTokens | undefined;
  verifier = '';
  authorizationUrl: URL | undefined;
  readonly redirectUrl = REDIRECT_URI;
  constructor(
    readonly clientMetadataUrl: string,
    readonly clientMetadata: OAuthClientMetadata,
  ) {}
  clientInformation() {
    return this.information;
  }
  saveClientInformation(information: StoredOAuthClientInformation) {
    this.information = information;
  }
  tokens() {
    return this.stored;
  }
  saveTokens(tokens: StoredOAuthTokens) {
    this.stored = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  forgetAuthorizationUrl() {
    this.authorizationUrl = undefined;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
}

describe('the SDK v2 client with a client ID metadata document', () => {
  it.each([
    ['2025-11-25', 'legacy' as const],
    ['2026-07-28', { pin: '2026-07-28' }],
  ])('over %s: gets the least-privilege default, no admin, and steps up to exactly the scope a call needs', async (revision, mode) => {
    const path = `/mcp-client/${revision}/metadata.json`;
    const documentUrl = host.url(path);
    const clientMetadata: OAuthClientMetadata = {
      client_name: 'Journey v2 client',
      redirect_uris: [REDIRECT_URI],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    };
    host.publish(path, { client_id: documentUrl, ...clientMetadata });
    const provider = new MetadataDocumentClient(documentUrl, clientMetadata);

    const first = new StreamableHTTPClientTransport(new URL(gateway.url), { authProvider: provider });
    await expect(new Client({ name: 'journey-v2', version: '1.0.0' }, { versionNegotiation: { mode } }).connect(first)).rejects.toBeInstanceOf(
      UnauthorizedError,
    );
    // No registration: the client id is the document's URL, and the scope is the 401's default.
    expect(provider.authorizationUrl?.searchParams.get('client_id')).toBe(documentUrl);
    expect(gatewayScopes(sorted(provider.authorizationUrl?.searchParams.get('scope')))).toEqual(DEFAULT_SCOPES);

    const browser = new Browser(gateway.base);
    const signIn = await authorizeInBrowser(browser, provider.authorizationUrl!, { login: 'grace', passwords: [PASSWORD], redirectUri: REDIRECT_URI });
    expect(signIn.consentPages[0]).toContain(`published at <code>${new URL(documentUrl).host}</code>`);
    await first.finishAuth(signIn.callback.searchParams);
    expect(tokenScopes(provider.stored?.access_token)).toEqual(DEFAULT_SCOPES);
    expect(decodeJwt(provider.stored!.access_token).payload).toMatchObject({ client_id: documentUrl, sub: 'grace', aud: gateway.url });

    const transport = new StreamableHTTPClientTransport(new URL(gateway.url), { authProvider: provider });
    const client = new Client({ name: 'journey-v2', version: '1.0.0' }, { versionNegotiation: { mode } });
    await client.connect(transport);
    expect(client.getProtocolEra()).toBe(mode === 'legacy' ? 'legacy' : 'modern');
    const tools = (await client.listTools()).tools.map((t) => t.name);
    expect(tools).toContain('pm__create_task');
    expect(tools).not.toContain('pm__delete_task');
    const created = await client.callTool({ name: 'pm__create_task', arguments: { title: 'Delete me after step-up' } });
    const id = (created.structuredContent as { task: { id: string } }).task.id;

    // The destructive call needs pm:admin: 403 insufficient_scope, the client asks again.
    const held = tokenScopes(provider.stored?.access_token);
    provider.forgetAuthorizationUrl();
    await expect(client.callTool({ name: 'pm__delete_task', arguments: { id } })).rejects.toBeInstanceOf(UnauthorizedError);
    const asked = gatewayScopes(sorted(provider.authorizationUrl?.searchParams.get('scope')));
    expect(asked).toEqual([...held, 'pm:admin'].sort());

    const stepUp = await authorizeInBrowser(browser, provider.authorizationUrl!, {
      login: 'grace',
      passwords: [PASSWORD],
      redirectUri: REDIRECT_URI,
      tick: ['pm:admin'],
    });
    await transport.finishAuth(stepUp.callback.searchParams);
    expect(tokenScopes(provider.stored?.access_token)).toEqual([...held, 'pm:admin'].sort());
    const asksToConfirm = await client.callTool({ name: 'pm__delete_task', arguments: { id } });
    expect((asksToConfirm.structuredContent as { status: string }).status).toBe('confirmation_required');
    await client.close();
  });
});

/** The v1 client's OAuth state, registered dynamically (RFC 7591). */
class RegisteredClient implements V1OAuthClientProvider {
  information: OAuthClientInformationMixed | undefined;
  stored: OAuthTokens | undefined;
  verifier = '';
  authorizationUrl: URL | undefined;
  readonly redirectUrl = REDIRECT_URI;
  // No refresh grant: the v1 client's step-up tries a refresh first when it holds a refresh
  // token, and a refresh keeps the granted scopes; without one it goes to the browser.
  readonly clientMetadata = {
    client_name: 'Journey v1 client',
    redirect_uris: [REDIRECT_URI],
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code'],
    response_types: ['code'],
  };
  clientInformation() {
    return this.information;
  }
  saveClientInformation(information: OAuthClientInformationMixed) {
    this.information = information;
  }
  tokens() {
    return this.stored;
  }
  saveTokens(tokens: OAuthTokens) {
    this.stored = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  forgetAuthorizationUrl() {
    this.authorizationUrl = undefined;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
}

/** A v1 client that also holds refresh tokens, and drops what the SDK says is no longer valid (as hosts do). */
class RefreshingClient extends RegisteredClient {
  override readonly clientMetadata = {
    ...new RegisteredClient().clientMetadata,
    client_name: 'Journey v1 client (refresh)',
    grant_types: ['authorization_code', 'refresh_token'],
  };
  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery') {
    if (scope === 'all' || scope === 'tokens') this.stored = undefined;
    if (scope === 'all' || scope === 'client') this.information = undefined;
  }
}

/**
 * A v1 client turned away without a token, signed in through the browser with what it was told
 * to ask for, connected again, and holding a task it created (and may not delete yet).
 */
async function signedInV1(provider: RegisteredClient, name: string, title: string) {
  const first = new V1StreamableHTTPClientTransport(new URL(gateway.url), { authProvider: provider });
  await expect(new V1Client({ name, version: '1.0.0' }).connect(first)).rejects.toBeInstanceOf(V1UnauthorizedError);
  const asked = gatewayScopes(sorted(provider.authorizationUrl?.searchParams.get('scope')));
  const browser = new Browser(gateway.base);
  const signIn = await authorizeInBrowser(browser, provider.authorizationUrl!, { login: 'grace', passwords: [PASSWORD], redirectUri: REDIRECT_URI });
  await first.finishAuth(signIn.callback.searchParams.get('code') ?? '');
  const transport = new V1StreamableHTTPClientTransport(new URL(gateway.url), { authProvider: provider });
  const client = new V1Client({ name, version: '1.0.0' });
  await client.connect(transport);
  const created = await client.callTool({ name: 'pm__create_task', arguments: { title } });
  return { browser, transport, client, asked, id: (created.structuredContent as { task: { id: string } }).task.id };
}

describe('the SDK v1 client with dynamic registration', () => {
  it('holding a refresh token, steps up through the browser: the refresh after a refused call answers invalid_grant', async () => {
    const provider = new RefreshingClient();
    const { browser, transport, client, id } = await signedInV1(provider, 'journey-v1-refresh', 'Delete me after a refresh-free step-up');
    expect(provider.stored?.refresh_token).toBeTruthy();
    const held = tokenScopes(provider.stored?.access_token);
    expect(held).toEqual(DEFAULT_SCOPES);

    // Refused for pm:admin: the client refreshes, is told invalid_grant, drops its tokens and
    // goes to the browser asking for what it holds and the missing scope.
    provider.forgetAuthorizationUrl();
    await expect(client.callTool({ name: 'pm__delete_task', arguments: { id } })).rejects.toBeInstanceOf(V1UnauthorizedError);
    expect(provider.stored).toBeUndefined();
    expect(gatewayScopes(sorted(provider.authorizationUrl?.searchParams.get('scope')))).toEqual([...held, 'pm:admin'].sort());
    const stepUp = await authorizeInBrowser(browser, provider.authorizationUrl!, {
      login: 'grace',
      passwords: [PASSWORD],
      redirectUri: REDIRECT_URI,
      tick: ['pm:admin'],
    });
    await transport.finishAuth(stepUp.callback.searchParams.get('code') ?? '');
    expect(tokenScopes(provider.stored?.access_token)).toEqual([...held, 'pm:admin'].sort());
    const asksToConfirm = await client.callTool({ name: 'pm__delete_task', arguments: { id } });
    expect((asksToConfirm.structuredContent as { status: string }).status).toBe('confirmation_required');

    // Once stepped up, refreshing works again and keeps the wider grant.
    const refreshed = await fetch(`${gateway.base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: provider.stored!.refresh_token!, client_id: provider.information!.client_id }),
    });
    expect(refreshed.status).toBe(200);
    expect(sorted(((await refreshed.json()) as { scope: string }).scope)).toContain('pm:admin');
    await client.close();
  });

  it('gets the least-privilege default, no admin, and steps up to exactly the scope a call needs', async () => {
    const provider = new RegisteredClient();
    const { browser, transport, client, id, asked } = await signedInV1(provider, 'journey-v1', 'Delete me too');
    expect(provider.information?.client_id).toMatch(/^[\w-]+$/);
    expect(asked).toEqual(DEFAULT_SCOPES);
    expect(tokenScopes(provider.stored?.access_token)).toEqual(DEFAULT_SCOPES);
    expect((await client.listTools()).tools.map((t) => t.name)).not.toContain('pm__delete_task');

    const held = tokenScopes(provider.stored?.access_token);
    // What each revision's client is told (MCP authorization, scope challenge handling): a 2025
    // session, whose client asks for exactly the challenged scopes, gets held ∪ needed; a
    // 2026-07-28 request gets what the call needs, and its client adds what it holds (SEP-2350).
    const legacy = await rawSession(gateway.url, provider.stored!.access_token);
    const legacyRefusal = await legacy.call('tools/call', { name: 'pm__delete_task', arguments: { id } });
    expect(legacyRefusal.status).toBe(403);
    expect(challengedScopes(legacyRefusal.headers)).toEqual([...held, 'pm:admin'].sort());
    let modernHeaders = new Headers();
    const modernRefusal = await postModern(
      async (request) => {
        const response = await fetch(gateway.url, {
          method: 'POST',
          headers: { ...Object.fromEntries(request.headers), authorization: `Bearer ${provider.stored!.access_token}` },
          body: await request.text(),
        });
        modernHeaders = response.headers;
        return response;
      },
      'tools/call',
      { name: 'pm__delete_task', arguments: { id } },
    );
    expect(modernRefusal.status).toBe(403);
    expect(challengedScopes(modernHeaders)).toEqual(['pm:admin']);
    expect(modernRefusal.message.error?.message).toContain('needs scope pm:admin');

    provider.forgetAuthorizationUrl();
    await expect(client.callTool({ name: 'pm__delete_task', arguments: { id } })).rejects.toBeInstanceOf(V1UnauthorizedError);
    expect(gatewayScopes(sorted(provider.authorizationUrl?.searchParams.get('scope')))).toEqual([...held, 'pm:admin'].sort());

    const stepUp = await authorizeInBrowser(browser, provider.authorizationUrl!, {
      login: 'grace',
      passwords: [PASSWORD],
      redirectUri: REDIRECT_URI,
      tick: ['pm:admin'],
    });
    await transport.finishAuth(stepUp.callback.searchParams.get('code') ?? '');
    expect(tokenScopes(provider.stored?.access_token)).toEqual([...held, 'pm:admin'].sort());
    const asksToConfirm = await client.callTool({ name: 'pm__delete_task', arguments: { id } });
    expect((asksToConfirm.structuredContent as { status: string }).status).toBe('confirmation_required');
    await client.close();
  });
});
