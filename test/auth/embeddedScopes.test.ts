import { discoverAuthorizationServerMetadata, exchangeAuthorization, registerClient, startAuthorization } from '@modelcontextprotocol/sdk/client/auth.js';
import type { AuthorizationServerMetadata, OAuthClientInformationFull } from '@modelcontextprotocol/sdk/shared/auth.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizeInBrowser, Browser, consentChoices, decodeJwt, EmbeddedAuthHarness, PASSWORDS, REDIRECT_URI } from './embeddedHarness.js';

let harness: EmbeddedAuthHarness;
let metadata: AuthorizationServerMetadata;

beforeAll(async () => {
  harness = await new EmbeddedAuthHarness().start();
  metadata = (await discoverAuthorizationServerMetadata(harness.issuer))!;
});
afterAll(async () => harness?.stop());

async function register(scope?: string): Promise<OAuthClientInformationFull> {
  return registerClient(harness.issuer, {
    metadata,
    clientMetadata: {
      client_name: 'Scope test client',
      redirect_uris: [REDIRECT_URI],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      ...(scope ? { scope } : {}),
    },
  });
}

/** Authorize in a browser (one per call, so each starts a new sign-in unless one is passed) and redeem the code. */
async function authorize(
  client: OAuthClientInformationFull,
  scope: string | undefined,
  choices: { tick?: string[]; untick?: string[]; browser?: Browser; prompt?: string } = {},
) {
  const { authorizationUrl, codeVerifier } = await startAuthorization(harness.issuer, {
    metadata,
    clientInformation: client,
    redirectUrl: REDIRECT_URI,
    ...(scope === undefined ? {} : { scope }),
    resource: new URL(harness.resource),
  });
  if (scope === undefined) expect(authorizationUrl.searchParams.has('scope')).toBe(false);
  if (choices.prompt) authorizationUrl.searchParams.set('prompt', choices.prompt);
  const browser = choices.browser ?? new Browser(harness.baseUrl);
  const result = await authorizeInBrowser(browser, authorizationUrl, { login: 'ada', passwords: [PASSWORDS.ada], ...choices });
  const tokens = await exchangeAuthorization(harness.issuer, {
    metadata,
    clientInformation: client,
    authorizationCode: result.callback.searchParams.get('code') ?? '',
    codeVerifier,
    redirectUri: REDIRECT_URI,
    resource: new URL(harness.resource),
  });
  return {
    tokens,
    consentPages: result.consentPages,
    loginPages: result.loginPages,
    scopes: String(decodeJwt(tokens.access_token).payload.scope ?? '')
      .split(' ')
      .filter(Boolean)
      .sort(),
  };
}

describe('least-privilege grants at the embedded authorization server', () => {
  it('grants the default set (every supported scope but admin) to a client that asks for none', async () => {
    const { scopes, consentPages } = await authorize(await register(), undefined);
    expect(scopes).toEqual(['github:read', 'pm:read', 'pm:write']);
    expect(consentChoices(consentPages[0] ?? '')).toEqual([
      { scope: 'pm:read', checked: true },
      { scope: 'pm:write', checked: true },
      { scope: 'github:read', checked: true },
    ]);
  });

  it('words each scope on the consent page and leaves admin unticked, so asking for everything does not give admin', async () => {
    const { scopes, consentPages } = await authorize(await register(), 'pm:read pm:write pm:admin github:read');
    const page = consentPages[0] ?? '';
    expect(consentChoices(page)).toEqual([
      { scope: 'pm:read', checked: true },
      { scope: 'pm:write', checked: true },
      { scope: 'pm:admin', checked: false },
      { scope: 'github:read', checked: true },
    ]);
    expect(page).toContain('pm: see its data: read-only tools, resources and prompts');
    expect(page).toContain('pm: use every tool, including destructive ones that delete or overwrite');
    expect(scopes).toEqual(['github:read', 'pm:read', 'pm:write']);
  });

  it('grants what the user ticks: an unticked scope is left out, a ticked admin scope is in', async () => {
    expect((await authorize(await register(), 'pm:read pm:write github:read', { untick: ['pm:write'] })).scopes).toEqual(['github:read', 'pm:read']);
    expect((await authorize(await register(), 'pm:read pm:admin', { tick: ['pm:admin'] })).scopes).toEqual(['pm:admin', 'pm:read']);
  });

  it('asks again for a scope the user declined when a later request needs it (step-up), keeping the rest', async () => {
    // Registered with the first challenge's scope, as MCP clients do: that does not bound later requests.
    const client = await register('pm:read pm:write');
    expect(client.scope).toBeUndefined();
    const browser = new Browser(harness.baseUrl);
    const first = await authorize(client, 'pm:read pm:write pm:admin', { browser });
    expect(first.scopes).toEqual(['pm:read', 'pm:write']);
    // The step-up request: the union of what the token holds and what the call needs.
    const stepUp = await authorize(client, 'pm:read pm:write pm:admin', { browser, tick: ['pm:admin'] });
    expect(stepUp.consentPages).toHaveLength(1);
    expect(stepUp.scopes).toEqual(['pm:admin', 'pm:read', 'pm:write']);
    // Already granted now: the same request gets its token without a consent page.
    const again = await authorize(client, 'pm:read pm:admin', { browser });
    expect(again.consentPages).toHaveLength(0);
    expect(again.scopes).toEqual(['pm:admin', 'pm:read']);
  });

  it('asks again for a declined scope when the step-up also asks the user to sign in again', async () => {
    const client = await register();
    const browser = new Browser(harness.baseUrl);
    expect((await authorize(client, 'pm:read pm:admin', { browser })).scopes).toEqual(['pm:read']);
    const stepUp = await authorize(client, 'pm:read pm:admin', { browser, prompt: 'login', tick: ['pm:admin'] });
    expect(stepUp.loginPages).toHaveLength(1);
    expect(stepUp.consentPages).toHaveLength(1);
    expect(stepUp.scopes).toEqual(['pm:admin', 'pm:read']);
  });
});
