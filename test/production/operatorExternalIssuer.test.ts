import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/privateServices.js';
import { launchChromium } from '../support/chromium.js';
import { hashPassword } from '../../gateway/auth/embedded/passwords.js';
import { startGateway, waitReady, type RunningGateway } from '../gateway/harness.js';
import { policyFixture } from './productionSupport.js';

const PASSWORD = 'root-signs-in-elsewhere';

/**
 * The operator page of a gateway whose tokens come from an external issuer: here another
 * gateway's embedded authorization server, where the page's client was registered with
 * dynamic registration (as an operator would at Keycloak or Entra ID). The issuer shows its
 * own consent page; admin scopes start unticked there, and the operator ticks the one needed.
 */
describe('the operator page signed in through an external issuer', () => {
  let issuer: RunningGateway;
  let gateway: RunningGateway;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    issuer = await startGateway({
      auth: {
        mode: 'oauth',
        embedded: {
          users: [{ id: 'root', email: 'root@example.com', passwordHash: await hashPassword(PASSWORD) }],
          extraResources: [`${base}/mcp`],
        },
      },
      upstreams: [policyFixture('fx')],
    });
    await waitReady(issuer);
    const registered = await fetch(`${issuer.base}/oauth/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_name: 'Operator page of the other gateway',
        redirect_uris: [`${base}/operator/callback`],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
      }),
    });
    expect(registered.status).toBe(201);
    const { client_id: clientId } = (await registered.json()) as { client_id: string };
    gateway = await startGateway({
      listen: { host: '127.0.0.1', port },
      auth: { mode: 'oauth', issuer: `${issuer.base}/oauth` },
      upstreams: [policyFixture('fx')],
      observability: { statusPage: { signIn: { clientId } } },
    });
    await waitReady(gateway);
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    await issuer?.stop();
  });

  it("signs in at the issuer's own login and consent pages and comes back to the page", async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${base}/`);
      expect(page.url().startsWith(`${issuer.base}/oauth/interaction/`)).toBe(true);
      await page.fill('#login', 'root');
      await page.fill('#password', PASSWORD);
      await Promise.all([page.waitForSelector('input[name="scope"][value="fx:admin"]'), page.click('button[type="submit"]')]);
      // The issuer's consent page: admin scopes are never ticked for the user.
      expect(await page.isChecked('input[name="scope"][value="fx:admin"]')).toBe(false);
      await page.check('input[name="scope"][value="fx:admin"]');
      await Promise.all([page.waitForURL(`${base}/`, { timeout: 15_000 }), page.click('button[value="allow"]')]);
      expect(await page.textContent('#summary')).toContain('signed in as root');
      const [cookie] = (await context.cookies(base)).filter((c) => c.name === 'manifold_operator');
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    } finally {
      await context.close();
    }
  });
});
