import { spawn } from 'node:child_process';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, fixtureUpstream, GATEWAY_MAIN, readiness, startGateway, textOf, waitReady, writeConfig, type RunningGateway } from './harness.js';
import { waitFor } from '../support/waitFor.js';

const fastHealth = {
  callTimeoutMs: 1500,
  health: { pingIntervalMs: 300, pingTimeoutMs: 250, startTimeoutMs: 10_000 },
  restart: { initialDelayMs: 100, maxDelayMs: 1000, resetAfterMs: 5000 },
};

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('supervision of children', () => {
  let gateway: RunningGateway;
  let client: Client;

  beforeAll(async () => {
    gateway = await startGateway({ upstreams: [fixtureUpstream('fx', fastHealth), fixtureUpstream('fy')] });
    await waitReady(gateway);
    client = await connect(gateway.url);
  });

  afterAll(async () => {
    await client?.close().catch(() => undefined);
    await gateway?.stop();
  });

  it('reports a child killed mid-call clearly, keeps others up, restarts it, and later calls succeed', async () => {
    const before = Number(textOf(await client.callTool({ name: 'fx__pid', arguments: {} })));
    const crashed = await client.callTool({ name: 'fx__crash', arguments: {} });
    expect(crashed.isError).toBe(true);
    expect(textOf(crashed)).toMatch(
      /Upstream "fx" stopped while handling this tools\/call request \(the child exited \(exit code 3\)\); the outcome is unknown/,
    );
    // The other upstream is unaffected.
    expect(textOf(await client.callTool({ name: 'fy__echo', arguments: { text: 'still here' } }))).toBe('still here');
    // While fx is down, calls fail fast with a clear error (or succeed if it is already back).
    const during = await client.callTool({ name: 'fx__echo', arguments: { text: 'x' } });
    if (during.isError) expect(textOf(during)).toMatch(/Upstream "fx" is unavailable: the child exited \(exit code 3\); restart attempt 1/);
    const state = await waitFor(
      'fx restarted',
      async () => {
        const r = await readiness(gateway);
        const fx = r.upstreams.find((u) => u.namespace === 'fx')!;
        return fx.state === 'ready' && fx.restarts >= 1 ? r : undefined;
      },
      10_000,
    );
    expect(state.ready).toBe(true);
    const after = Number(textOf(await client.callTool({ name: 'fx__pid', arguments: {} })));
    expect(after).not.toBe(before);
    expect(isAlive(before)).toBe(false);
    expect(gateway.logs.some((l) => l.upstream === 'fx' && /upstream down: the child exited \(exit code 3\)/.test(String(l.msg)))).toBe(true);
  });

  it('times out a call to a hung child, detects the hang by ping, and restarts it', async () => {
    const before = Number(textOf(await client.callTool({ name: 'fx__pid', arguments: {} })));
    const restartsBefore = (await readiness(gateway)).upstreams.find((u) => u.namespace === 'fx')!.restarts;
    const hung = await client.callTool({ name: 'fx__hang', arguments: {} });
    expect(hung.isError).toBe(true);
    expect(textOf(hung)).toMatch(
      /Upstream "fx" (did not answer this tools\/call request within 1\.5 s|stopped while handling this tools\/call request \(it did not answer ping)/,
    );
    await waitFor(
      'fx restarted after hang',
      async () => {
        const fx = (await readiness(gateway)).upstreams.find((u) => u.namespace === 'fx')!;
        return fx.state === 'ready' && fx.restarts > restartsBefore;
      },
      10_000,
    );
    expect(gateway.logs.some((l) => l.upstream === 'fx' && /did not answer ping within 250 ms \(hung\)/.test(String(l.msg)))).toBe(true);
    expect(textOf(await client.callTool({ name: 'fx__echo', arguments: { text: 'back' } }))).toBe('back');
    await waitFor('hung child killed', () => !isAlive(before), 5000);
  });
});

describe('graceful shutdown', () => {
  it('on SIGTERM drains the in-flight call, then stops the children and exits 0', async () => {
    const gateway = await startGateway({ upstreams: [fixtureUpstream('fx')] });
    await waitReady(gateway);
    const client = await connect(gateway.url);
    const childPid = (await readiness(gateway)).upstreams[0]!.pid!;
    const call = client.callTool({ name: 'fx__slow', arguments: { ms: 800 } });
    await waitFor('call in flight', async () => (await readiness(gateway)).upstreams[0]!.inFlight === 1, 5000);
    gateway.process.kill('SIGTERM');
    const result = await call;
    expect(textOf(result)).toBe('slept 800');
    const exit = await gateway.exited;
    expect(exit.code).toBe(0);
    expect(gateway.logs.some((l) => String(l.msg).includes('draining in-flight calls'))).toBe(true);
    await waitFor('child stopped', () => !isAlive(childPid), 5000);
    await client.close().catch(() => undefined);
  });
});

describe('configuration', () => {
  function runWithConfig(config: Record<string, unknown>): Promise<{ code: number | null; stderr: string }> {
    const file = writeConfig(config);
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [GATEWAY_MAIN, '--config', file], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.once('exit', (code) => resolve({ code, stderr }));
    });
  }

  it('rejects a bad file with the exact JSON path and reason', async () => {
    const { code, stderr } = await runWithConfig({
      separator: '__',
      upstreams: [
        { namespace: 'Bad_NS', stdio: { command: 'node' } },
        { namespace: 'ok', stdio: { command: 'node' }, remote: { url: 'http://x' }, maxConcurrency: 0 },
      ],
    });
    expect(code).toBe(2);
    expect(stderr).toMatch(/gateway\.json: upstreams\[0\]\.namespace: must be 1-16 characters/);
    expect(stderr).toMatch(/upstreams\[1\]\.maxConcurrency: /);
    expect(stderr).toMatch(/upstreams\[1\]: set exactly one of "stdio" \(a child process\) or "remote" \(a URL\)/);
  });

  it('refuses to listen off loopback without authentication', async () => {
    const { code, stderr } = await runWithConfig({ listen: { host: '0.0.0.0', port: 0 }, upstreams: [fixtureUpstream('fx')] });
    expect(code).toBe(2);
    expect(stderr).toMatch(/listen\.host: refusing to listen on 0\.0\.0\.0 with auth\.mode "none-loopback-dev"/);
  });

  it('names a missing required child entry file in /readyz', async () => {
    const gateway = await startGateway({
      upstreams: [
        fixtureUpstream('fx'),
        { namespace: 'pm', stdio: { command: process.execPath, args: ['dist/servers/nope/main.js'] }, restart: { initialDelayMs: 5000 } },
      ],
    });
    try {
      const state = await waitFor(
        'pm failure reported',
        async () => {
          const r = await readiness(gateway);
          const fx = r.upstreams.find((u) => u.namespace === 'fx');
          return fx?.state === 'ready' && r.upstreams.find((u) => u.namespace === 'pm')?.lastError ? r : undefined;
        },
        10_000,
      );
      expect(state.ready).toBe(false);
      expect(state.upstreams.find((u) => u.namespace === 'pm')!.lastError).toMatch(/entry file .*dist\/servers\/nope\/main\.js does not exist/);
      const response = await fetch(`${gateway.base}/readyz`);
      expect(response.status).toBe(503);
      // The other upstream serves meanwhile.
      const client = await connect(gateway.url);
      expect(textOf(await client.callTool({ name: 'fx__echo', arguments: { text: 'ok' } }))).toBe('ok');
      const down = await client.callTool({ name: 'pm__anything', arguments: {} }).catch((error: Error) => error);
      expect(String(down)).toMatch(/Unknown tool "pm__anything"/);
      await client.close();
    } finally {
      await gateway.stop();
    }
  });
});
