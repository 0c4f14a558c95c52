/**
 * The probes (/healthz, /readyz) answer any caller, but are behind the same Host check as every
 * other path, and show upstream pids, versions and the session count only to a caller who
 * authenticates.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestIssuer } from '../support/testIssuer.js';
import { fixtureUpstream, readiness, startGateway, waitReady, type RunningGateway } from '../gateway/harness.js';

/** GET `path` with a Host header of our choosing (fetch does not let one set it). */
function getWithHost(base: string, path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { headers: { host } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('health and readiness probes', () => {
  let issuer: TestIssuer;
  let gateway: RunningGateway;

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
    gateway = await startGateway({ auth: { mode: 'oauth', issuer: issuer.issuer }, upstreams: [fixtureUpstream('fx')] });
    await waitReady(gateway);
  });

  afterAll(async () => {
    await gateway?.stop();
    await issuer?.stop();
  });

  it('tells an anonymous caller only whether the gateway is ready', async () => {
    const response = await fetch(`${gateway.base}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ready', ready: true });
  });

  it('shows the upstreams, their pids and the sessions to a caller with a valid token', async () => {
    const token = await issuer.accessToken(gateway.url, { sub: 'operator', scope: 'fx:read' });
    const details = await readiness(gateway, token);
    expect(details.ready).toBe(true);
    expect(details.upstreams).toEqual([expect.objectContaining({ namespace: 'fx', state: 'ready', pid: expect.any(Number) })]);
    expect(typeof details.sessions).toBe('number');
  });

  it('refuses a rebound Host on the loopback listener, as on every other path', async () => {
    for (const path of ['/readyz', '/healthz']) {
      const rebound = await getWithHost(gateway.base, path, 'attacker.example:80');
      expect(rebound.status).toBe(403);
      expect((JSON.parse(rebound.body) as { error: { message: string } }).error.message).toContain('Host "attacker.example" is not allowed');
      expect(rebound.body).not.toContain('pid');
    }
    expect((await getWithHost(gateway.base, '/healthz', new URL(gateway.base).host)).status).toBe(200);
  });

  it('answers 404 at the root well-known URLs, and serves each resource its own metadata (RFC 9728 §3.3, RFC 8414 §3)', async () => {
    for (const path of ['/.well-known/oauth-protected-resource', '/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
      const response = await fetch(`${gateway.base}${path}`);
      expect(`${path} ${response.status}`).toBe(`${path} 404`);
      const body = (await response.json()) as { error: string; error_description: string };
      expect(body.error_description).toContain(`${gateway.base}/.well-known/oauth-protected-resource/mcp`);
    }
    const own = (await (await fetch(`${gateway.base}/.well-known/oauth-protected-resource/mcp`)).json()) as { resource: string };
    expect(own.resource).toBe(`${gateway.base}/mcp`);
  });
});
