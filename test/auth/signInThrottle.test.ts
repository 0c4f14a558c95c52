/**
 * Password guessing on the embedded authorization server: attempts are counted per account and
 * per client address across authorization requests (a new request no longer buys five more
 * guesses), a held-back account is refused even with the right password and told when to retry,
 * other accounts go on, and open client registration is throttled per address.
 */
import { discoverAuthorizationServerMetadata, registerClient, startAuthorization } from '@modelcontextprotocol/sdk/client/auth.js';
import type { AuthorizationServerMetadata } from '@modelcontextprotocol/sdk/shared/auth.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignInThrottle, type Lockout } from '../../gateway/auth/embedded/signInThrottle.js';
import { authorizeInBrowser, Browser, EmbeddedAuthHarness, PASSWORDS, REDIRECT_URI } from './embeddedHarness.js';

const PER_ACCOUNT = 3;
const REGISTRATIONS = 4;

describe('sign-in and registration throttling', () => {
  let harness: EmbeddedAuthHarness;
  let metadata: AuthorizationServerMetadata;
  const lockouts: Lockout[] = [];

  beforeAll(async () => {
    harness = await new EmbeddedAuthHarness().start();
    const throttle = new SignInThrottle(
      {
        perAccount: [{ windowMs: 60_000, max: PER_ACCOUNT }],
        perAddress: [{ windowMs: 60_000, max: 100 }],
        registrationsPerAddress: [{ windowMs: 60_000, max: REGISTRATIONS }],
      },
      undefined,
      (lockout) => lockouts.push(lockout),
    );
    await harness.restart((options) => ({ ...options, signInThrottle: throttle }));
    metadata = (await discoverAuthorizationServerMetadata(harness.issuer))!;
  });

  afterAll(async () => harness?.stop());

  const registered = () =>
    registerClient(harness.issuer, {
      metadata,
      clientMetadata: {
        client_name: 'Throttle test',
        redirect_uris: [REDIRECT_URI],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    });

  /** One sign-in attempt on a fresh authorization request: the login page's answer to `password`. */
  async function attempt(
    clientId: Awaited<ReturnType<typeof registered>>,
    login: string,
    password: string,
  ): Promise<{ status: number; html: string; retryAfter: string | null }> {
    const { authorizationUrl } = await startAuthorization(harness.issuer, {
      metadata,
      clientInformation: clientId,
      redirectUrl: REDIRECT_URI,
      scope: 'pm:read',
    });
    const browser = new Browser(harness.baseUrl);
    let response = await browser.get(authorizationUrl.href);
    while (response.status === 302 || response.status === 303) response = await browser.get(new URL(response.headers.get('location')!, harness.baseUrl).href);
    const action = /<form method="post" action="([^"]+)"/.exec(await response.text())![1]!;
    const answer = await browser.post(action, { login, password });
    return {
      status: answer.status,
      html: answer.status === 303 || answer.status === 302 ? '' : await answer.text(),
      retryAfter: answer.headers.get('retry-after'),
    };
  }

  it(`holds an account back after ${PER_ACCOUNT} attempts across authorization requests, even with the right password, and says when to retry`, async () => {
    const client = await registered();
    for (let i = 0; i < PER_ACCOUNT; i++) {
      const wrong = await attempt(client, 'ada', `guess ${i}`);
      expect(wrong.status).toBe(200);
      expect(wrong.html).toContain('Wrong user name or password.');
    }
    const heldBack = await attempt(client, 'ada', PASSWORDS.ada);
    expect(heldBack.status).toBe(429);
    expect(heldBack.html).toContain('Too many sign-in attempts for this account or from this address. Try again in 1 minute.');
    expect(Number(heldBack.retryAfter)).toBeGreaterThan(0);
    expect(lockouts).toEqual([expect.objectContaining({ kind: 'account', key: 'ada', windowMs: 60_000 })]);
    // The same account under another spelling is the same account.
    expect((await attempt(client, 'ADA', PASSWORDS.ada)).status).toBe(429);
    // Another account from the same address signs in.
    const { callback } = await authorizeInBrowser(
      new Browser(harness.baseUrl),
      (await startAuthorization(harness.issuer, { metadata, clientInformation: client, redirectUrl: REDIRECT_URI, scope: 'pm:read' })).authorizationUrl,
      { login: 'bob', passwords: [PASSWORDS.bob] },
    );
    expect(callback.searchParams.get('code')).toBeTruthy();
  });

  it(`refuses more than ${REGISTRATIONS} open client registrations a minute from one address`, async () => {
    // One registration was made by the test above.
    const answers = [];
    for (let i = 0; i < REGISTRATIONS; i++)
      answers.push(await harness.register({ client_name: `flood ${i}`, redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none' }));
    expect(answers.slice(0, REGISTRATIONS - 1).map((answer) => answer.status)).toEqual(Array(REGISTRATIONS - 1).fill(201));
    const refused = answers[REGISTRATIONS - 1]!;
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({
      error: 'invalid_request',
      error_description: expect.stringContaining('Too many client registrations from this address'),
    });
  });
});
