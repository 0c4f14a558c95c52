import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium.js';
import { TestIssuer } from '../support/testIssuer.js';
import { startGateway, waitReady, type RunningGateway } from '../gateway/harness.js';
import { call, connectWithToken, policyFixture, text } from './productionSupport.js';

describe('operators: per-user cache keys, authenticated /metrics and the status page in Chromium', () => {
  let issuer: TestIssuer;
  let gateway: RunningGateway;
  let browser: Browser;
  let dataDir: string;
  let adminToken: string;

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
    dataDir = mkdtempSync(join(tmpdir(), 'manifold-operator-'));
    gateway = await startGateway({ auth: { mode: 'oauth', issuer: issuer.issuer }, upstreams: [policyFixture('fx')] }, { env: { MANIFOLD_DATA_DIR: dataDir } });
    await waitReady(gateway);
    adminToken = await issuer.accessToken(gateway.url, { sub: 'root', scope: 'fx:admin' });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    await issuer?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("keys cached results by user: one user's answer is never served to another", async () => {
    const ada = await connectWithToken(gateway.url, await issuer.accessToken(gateway.url, { sub: 'ada', scope: 'fx:read' }));
    const grace = await connectWithToken(gateway.url, await issuer.accessToken(gateway.url, { sub: 'grace', scope: 'fx:read' }));
    const first = JSON.parse(text(await call(ada, 'fx__counted_read', { key: 'shared' }))) as { user: string; reads: number };
    const again = await call(ada, 'fx__counted_read', { key: 'shared' });
    expect(again._meta?.['io.manifold/cache']).toMatchObject({ hit: true });
    const other = JSON.parse(text(await call(grace, 'fx__counted_read', { key: 'shared' }))) as { user: string; reads: number };
    expect(first.user).toBe('ada');
    expect(other.user).toBe('grace');
    expect(other.reads).toBe(first.reads + 1);
    // A validation error, for the page's error list.
    expect((await call(ada, 'fx__counted_read', { key: 7 })).isError).toBe(true);
    await ada.close();
    await grace.close();
  });

  it('applies the default per-user write limit (20 a minute) with OAuth', async () => {
    const writer = await connectWithToken(gateway.url, await issuer.accessToken(gateway.url, { sub: 'wren', scope: 'fx:write' }));
    for (let i = 0; i < 20; i++) expect(text(await call(writer, 'fx__bump', { note: `n${i}` }))).toBe(`n${i}`.replace(/^/, 'noted '));
    const limited = await call(writer, 'fx__bump', { note: 'too many' });
    expect(text(limited)).toContain('Rate limit "user_writes" reached: at most 20 write calls per user every 60 s. Retry after');
    // Reads still pass: the write limit counts writes only.
    expect((await call(writer, 'fx__counted_read', { key: 'w' })).isError).toBeUndefined();
    await writer.close();
  });

  it('authenticates /metrics and the status page, and lets only operators in', async () => {
    expect((await fetch(`${gateway.base}/metrics`)).status).toBe(401);
    expect((await fetch(`${gateway.base}/`)).status).toBe(401);
    const reader = await issuer.accessToken(gateway.url, { sub: 'ada', scope: 'fx:read' });
    const refused = await fetch(`${gateway.base}/metrics`, { headers: { authorization: `Bearer ${reader}` } });
    expect(refused.status).toBe(403);
    expect(JSON.stringify(await refused.json())).toContain('needs an admin scope');
    const metrics = await fetch(`${gateway.base}/metrics`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('manifold_cache_lookups_total{kind="tool",upstream="fx",result="hit"} 1');
  });

  it('shows upstreams, tools and recent calls and errors to an operator in a real browser', async () => {
    const context = await browser.newContext({ extraHTTPHeaders: { Authorization: `Bearer ${adminToken}` } });
    try {
      const page = await context.newPage();
      const response = await page.goto(`${gateway.base}/`);
      expect(response?.status()).toBe(200);
      expect(response?.headers()['content-security-policy']).toContain("default-src 'none'");
      expect(await page.title()).toBe('Manifold gateway status');
      expect(await page.textContent('#summary')).toContain('signed in as root');
      const upstream = page.locator('#upstreams tr[data-upstream="fx"]');
      expect(await upstream.textContent()).toContain('ready');
      expect(await page.textContent('#tools')).toContain('counted_read');
      const calls = (await page.textContent('#recent-calls')) ?? '';
      expect(calls).toContain('fx__counted_read');
      expect(calls).toContain('grace');
      expect(calls).toContain('(cached)');
      const errors = (await page.textContent('#recent-errors')) ?? '';
      expect(errors).toContain('invalid_input');
      expect(errors).toContain('"key" must be string');
      // No external requests: the page is one document.
      expect(await page.evaluate(() => performance.getEntriesByType('resource').length)).toBe(0);
    } finally {
      await context.close();
    }
    expect(JSON.stringify(gateway.logs)).not.toContain(adminToken);
  });
});
