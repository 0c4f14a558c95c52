import { discoverAuthorizationServerMetadata, exchangeAuthorization, refreshAuthorization, startAuthorization } from '@modelcontextprotocol/client';
import type { AuthorizationServerMetadata } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizeInBrowser, Browser, consentChoices, decodeJwt, EmbeddedAuthHarness, PASSWORDS, REDIRECT_URI } from './embeddedHarness.js';
import { MetadataDocumentHost, selfSignedCertificate, type SelfSignedCertificate } from './selfSignedHttps.js';

let certificate: SelfSignedCertificate;
let host: MetadataDocumentHost;
let harness: EmbeddedAuthHarness;
let metadata: AuthorizationServerMetadata;

/** A client's metadata document as the draft describes it, published at `path`. */
function publishClient(path: string, overrides: Record<string, unknown> = {}, headers?: Record<string, string>): string {
  const url = host.url(path);
  host.publish(
    path,
    {
      client_id: url,
      client_name: 'Published <MCP> Client',
      redirect_uris: [REDIRECT_URI],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      ...overrides,
    },
    headers,
  );
  return url;
}

/** The error page the authorization endpoint shows for this client id, as text. */
async function refusal(clientId: string): Promise<{ status: number; text: string }> {
  const { authorizationUrl } = await startAuthorization(harness.issuer, {
    metadata,
    clientInformation: { client_id: clientId },
    redirectUrl: REDIRECT_URI,
    resource: new URL(harness.resource),
  });
  const response = await new Browser(harness.baseUrl).get(authorizationUrl.href);
  const html = await response.text();
  return { status: response.status, text: html.replace(/&#(\d+);/g, (_m, code: string) => String.fromCharCode(Number(code))) };
}

beforeAll(async () => {
  certificate = selfSignedCertificate();
  host = await new MetadataDocumentHost(certificate).start();
  harness = await new EmbeddedAuthHarness().start({
    adjust: (options) => ({ ...options, clientMetadataDocuments: { allowLoopback: true, trustedCertificates: [certificate.cert] } }),
  });
  metadata = (await discoverAuthorizationServerMetadata(harness.issuer))!;
});
afterAll(async () => {
  await harness?.stop();
  await host?.stop();
  certificate?.remove();
});

describe('client ID metadata documents at the embedded authorization server', () => {
  it('advertises them, and keeps dynamic registration and the iss parameter', () => {
    expect(metadata).toMatchObject({
      client_id_metadata_document_supported: true,
      registration_endpoint: `${harness.issuer}/reg`,
      authorization_response_iss_parameter_supported: true,
    });
  });

  it('signs in a client known only by its document URL, shows its name, host and redirect URIs, and caches the document', async () => {
    const clientId = publishClient('/clients/published.json');
    const clientInformation = { client_id: clientId };
    const { authorizationUrl, codeVerifier } = await startAuthorization(harness.issuer, {
      metadata,
      clientInformation,
      redirectUrl: REDIRECT_URI,
      resource: new URL(harness.resource),
    });
    const browser = new Browser(harness.baseUrl);
    const { callback, consentPages } = await authorizeInBrowser(browser, authorizationUrl, { login: 'ada', passwords: [PASSWORDS.ada] });
    const page = consentPages[0] ?? '';
    expect(page).toContain('Authorize Published &#60;MCP&#62; Client');
    expect(page).toContain(`published at <code>${new URL(clientId).host}</code>`);
    expect(page).toContain(`<li><code>${REDIRECT_URI}</code></li>`);
    // Asked for nothing: the least-privilege default, no admin box ticked.
    expect(
      consentChoices(page)
        .filter((c) => c.checked)
        .map((c) => c.scope),
    ).toEqual(['pm:read', 'pm:write', 'github:read']);
    expect(callback.searchParams.get('iss')).toBe(harness.issuer);

    const tokens = await exchangeAuthorization(harness.issuer, {
      metadata,
      clientInformation,
      authorizationCode: callback.searchParams.get('code') ?? '',
      iss: callback.searchParams.get('iss') ?? '',
      codeVerifier,
      redirectUri: REDIRECT_URI,
      resource: new URL(harness.resource),
    });
    expect(decodeJwt(tokens.access_token).payload).toMatchObject({
      client_id: clientId,
      sub: 'ada',
      aud: harness.resource,
      scope: 'pm:read pm:write github:read',
    });
    const refreshed = await refreshAuthorization(harness.issuer, {
      metadata,
      clientInformation,
      refreshToken: tokens.refresh_token ?? '',
      resource: new URL(harness.resource),
    });
    expect(decodeJwt(refreshed.access_token).payload).toMatchObject({ client_id: clientId, scope: 'pm:read pm:write github:read' });
    // Cache-Control: max-age=300 — the authorization, the token and the refresh requests read the document once.
    expect(host.hits.get('/clients/published.json')).toBe(1);
  });

  it('refuses an http client_id URL, saying it must be https', async () => {
    const { status, text } = await refusal(`http://127.0.0.1:${new URL(host.origin).port}/clients/published.json`);
    expect(status).toBe(400);
    expect(text).toContain('is an http URL; a client ID metadata document must be served over https');
  });

  it('refuses a document on a private address without connecting, and names the address', async () => {
    const { status, text } = await refusal('https://10.20.30.40/clients/app.json');
    expect(status).toBe(400);
    expect(text).toContain('10.20.30.40 is a private or special-use address; client ID metadata documents are fetched only from public addresses');
  });

  it('refuses an oversized document and a document that does not arrive in time', async () => {
    const hugeBody = JSON.stringify({ client_id: host.url('/clients/huge.json'), padding: 'x'.repeat(6000) });
    host.route('/clients/huge.json', (_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(hugeBody)) }).end(hugeBody),
    );
    const huge = await refusal(host.url('/clients/huge.json'));
    expect(huge.status).toBe(400);
    expect(huge.text).toMatch(/the document is \d+ bytes; at most 5120 are accepted/);

    host.route('/clients/streamed.json', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      for (let i = 0; i < 8; i++) res.write('x'.repeat(1000));
      res.end();
    });
    expect((await refusal(host.url('/clients/streamed.json'))).text).toContain('the document is larger than 5120 bytes, the most accepted');

    host.route('/clients/slow.json', () => undefined);
    const slow = await refusal(host.url('/clients/slow.json'));
    expect(slow.status).toBe(400);
    expect(slow.text).toContain('no complete answer within 2000 ms');
  });

  it('refuses documents that do not describe a public client of their own URL, saying what to fix', async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['/clients/other-id.json', { client_id: 'https://elsewhere.example/client.json' }, 'client_id does not match'],
      ['/clients/no-name.json', { client_name: undefined }, 'client_name is required'],
      ['/clients/secret.json', { token_endpoint_auth_method: undefined }, 'token_endpoint_auth_method must be "none"'],
      ['/clients/http-redirect.json', { redirect_uris: ['http://app.example.com/callback'] }, 'must use https, or http on a loopback address'],
      ['/clients/web-scheme.json', { redirect_uris: ['com.example.app:/callback'] }, 'declare "application_type": "native"'],
    ];
    for (const [path, overrides, message] of cases) {
      const { status, text } = await refusal(publishClient(path, overrides));
      expect(status, path).toBe(400);
      expect(text, path).toContain(message);
    }
  });

  it('accepts a native application that declares its own scheme', async () => {
    const clientId = publishClient('/clients/native.json', { application_type: 'native', redirect_uris: ['com.example.app:/callback'] });
    const { authorizationUrl } = await startAuthorization(harness.issuer, {
      metadata,
      clientInformation: { client_id: clientId },
      redirectUrl: 'com.example.app:/callback',
      resource: new URL(harness.resource),
    });
    const { callback } = await authorizeInBrowser(new Browser(harness.baseUrl), authorizationUrl, {
      login: 'ada',
      passwords: [PASSWORDS.ada],
      redirectUri: 'com.example.app:/callback',
    });
    expect(callback.searchParams.get('code')).toBeTruthy();
  });

  it('refuses a loopback document unless allowed', async () => {
    await harness.restart((options) => ({ ...options, clientMetadataDocuments: { trustedCertificates: [certificate.cert] } }));
    const { text } = await refusal(publishClient('/clients/loopback.json'));
    expect(text).toContain('127.0.0.1 is a loopback address');
  });
});
