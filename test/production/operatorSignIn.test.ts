import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium.js';
import { hashPassword } from '../../gateway/auth/embedded/passwords.js';
import { ROOT } from '../support/processes.js';
import { startWorkflowEnvironment, type WorkflowEnvironment } from '../workflows/workflowHarness.js';

/** Where the screenshot of the signed-in page is kept (CI prints the path). */
export const ARTIFACTS = join(ROOT, 'test-artifacts');
const PASSWORDS = { root: 'root-operates-the-gateway', ada: 'ada-only-reads-tasks' };

/**
 * The operator page from a plain browser: sign in through the embedded authorization server's
 * login form, a short-lived HttpOnly SameSite=Strict cookie for the page, CSRF-safe forms,
 * composite tools with their steps and scopes, marked tools, and recent refusals.
 */
describe('the operator page in a browser, signed in through the login form', () => {
  let env: WorkflowEnvironment;
  let browser: Browser;

  beforeAll(async () => {
    env = await startWorkflowEnvironment({
      auth: {
        mode: 'oauth',
        embedded: {
          users: [
            { id: 'root', email: 'root@example.com', passwordHash: await hashPassword(PASSWORDS.root) },
            { id: 'ada', email: 'ada@example.com', passwordHash: await hashPassword(PASSWORDS.ada), scopes: ['pm:read'] },
          ],
        },
      },
    });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await env?.stop();
  });

  const signIn = async (context: BrowserContext, login: keyof typeof PASSWORDS, path = '/'): Promise<Page> => {
    const page = await context.newPage();
    await page.goto(`${env.gateway.base}${path}`);
    // Sent to the authorization server's login form…
    expect(new URL(page.url()).pathname).toMatch(/^\/oauth\/interaction\//);
    await page.fill('#login', login);
    await page.fill('#password', PASSWORDS[login]);
    await Promise.all([page.waitForURL((url) => url.pathname === path, { timeout: 15_000 }), page.click('button[type="submit"]')]);
    return page;
  };

  it('signs an operator in with a short-lived HttpOnly SameSite=Strict cookie and shows the whole page', async () => {
    const context = await browser.newContext();
    try {
      const page = await signIn(context, 'root');
      expect(await page.title()).toBe('Manifold gateway status');
      expect(await page.textContent('#summary')).toContain('signed in as root');

      const [cookie] = (await context.cookies()).filter((c) => c.name === 'manifold_operator');
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
      const lifetime = cookie!.expires - Date.now() / 1000;
      expect(lifetime).toBeGreaterThan(25 * 60);
      expect(lifetime).toBeLessThanOrEqual(30 * 60);
      // The cookie opens the operator pages only: an MCP endpoint still wants a bearer token.
      const mcp = await context.request.post(`${env.gateway.base}/mcp`, {
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        data: { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} },
      });
      expect(mcp.status()).toBe(401);
      expect((await context.request.get(`${env.gateway.base}/metrics`)).status()).toBe(200);

      // Composite tools, with the steps they take and the scopes a caller needs.
      const create = page.locator('#composite-tools tr[data-composite="flow__create_task_from_issue"]');
      const createText = (await create.textContent()) ?? '';
      expect(createText).toContain('github__get_issue');
      expect(createText).toContain('pm__create_task');
      expect(createText).toMatch(/github:read[\s\S]*pm:write|pm:write[\s\S]*github:read/);
      // Admin-only and destructive tools are marked.
      const deleteTask = page.locator('#tools li[data-tool="pm/delete_task"]');
      expect(await deleteTask.textContent()).toContain('admin only');
      expect(await deleteTask.textContent()).toContain('destructive');
      expect(await page.locator('#tools li[data-tool="pm/list_tasks"] .badge').count()).toBe(0);

      mkdirSync(ARTIFACTS, { recursive: true });
      const screenshot = join(ARTIFACTS, 'operator-page.png');
      await page.screenshot({ path: screenshot, fullPage: true });
      process.stderr.write(`operator page screenshot: ${screenshot}\n`);
    } finally {
      await context.close();
    }
  });

  it('refuses a form without the page’s CSRF token, and accepts one with it', async () => {
    const context = await browser.newContext();
    try {
      const page = await signIn(context, 'root');
      const csrf = await page.locator('#sign-out input[name="csrf"]').getAttribute('value');
      expect(csrf).toBeTruthy();
      // The cookie alone (what a forged form from another page would carry) is not enough.
      const forged = await context.request.post(`${env.gateway.base}/integrity/approve`, { form: { namespace: 'pm', tool: 'create_task' } });
      expect(forged.status()).toBe(403);
      expect(await forged.text()).toContain('CSRF token is missing or wrong');
      const wrong = await context.request.post(`${env.gateway.base}/integrity/approve`, {
        form: { namespace: 'pm', tool: 'create_task', csrf: 'x'.repeat(43) },
      });
      expect(wrong.status()).toBe(403);
      // With the page's token the approval is looked at (nothing waits here: 404, not 403).
      const genuine = await context.request.post(`${env.gateway.base}/integrity/approve`, { form: { namespace: 'pm', tool: 'create_task', csrf: csrf! } });
      expect(genuine.status()).toBe(404);
      expect(await genuine.text()).toContain('Nothing is waiting for approval for pm/create_task');
      // Signing out needs the token too, and ends the cookie.
      expect((await context.request.post(`${env.gateway.base}/operator/sign-out`, { form: {} })).status()).toBe(403);
      await page.click('#sign-out button');
      await page.waitForSelector('#message');
      expect(await page.textContent('h1')).toBe('Signed out');
      expect((await context.cookies()).some((c) => c.name === 'manifold_operator')).toBe(false);
    } finally {
      await context.close();
    }
  });

  it('tells a user who is not an operator so, and lists the refusal with its reason, also in the metrics', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${env.gateway.base}/`);
      await page.fill('#login', 'ada');
      await page.fill('#password', PASSWORDS.ada);
      await Promise.all([page.waitForSelector('#message', { timeout: 15_000 }), page.click('button[type="submit"]')]);
      expect(await page.textContent('h1'), (await page.textContent('#message')) ?? '').toBe('Not an operator');
      expect(await page.textContent('#message')).toContain('needs an admin scope');
    } finally {
      await context.close();
    }
    // A script without a token, and one whose token lacks the scope for a call.
    expect((await fetch(`${env.gateway.base}/mcp`, { method: 'POST' })).status).toBe(401);

    const operator = await browser.newContext();
    try {
      const page = await signIn(operator, 'root');
      const refusals = (await page.textContent('#recent-refusals')) ?? '';
      expect(refusals).toContain('not_an_operator');
      expect(refusals).toContain('missing_token');
      const metrics = await (await operator.request.get(`${env.gateway.base}/metrics`)).text();
      expect(metrics).toMatch(/manifold_refusals_total\{status="403",reason="not_an_operator",namespace=""\} [1-9]/);
      expect(metrics).toMatch(/manifold_refusals_total\{status="401",reason="missing_token",namespace=""\} [1-9]/);
      // No user names in the metrics.
      expect(metrics).not.toContain('ada');
    } finally {
      await operator.close();
    }
  });
});
