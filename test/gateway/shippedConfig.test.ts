import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../../gateway/config/load.js';
import { fixtureUpstream, ROOT, startGateway, waitReady } from './harness.js';

describe('shipped configuration', () => {
  it('the default configuration starts the three domain servers behind OAuth', async () => {
    const config = await loadGatewayConfig(join(ROOT, 'config', 'gateway.json'));
    expect(config.auth.mode).toBe('oauth');
    expect(config.listen.host).toBe('127.0.0.1');
    expect(config.upstreams.map((u) => u.namespace)).toEqual(['pm', 'github', 'docs']);
  });

  it("the compose stack's configuration is valid and is the one docker-compose.yml runs", async () => {
    const config = await loadGatewayConfig(join(ROOT, 'config', 'gateway.compose.json'));
    expect(config.auth).toMatchObject({ mode: 'oauth', publicUrl: 'http://localhost:8080' });
    expect(config.cluster.redis).toBe(true);
    expect(config.upstreams.find((u) => u.namespace === 'pm')?.stdio?.inheritEnv).toContain('DATABASE_URL');
    const compose = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
    expect(compose).toContain('config/gateway.compose.json');
    expect(compose).toContain('DATABASE_URL: postgres://');
    expect(compose).toContain('REDIS_URL: redis://redis:6379');
    expect(readFileSync(join(ROOT, 'config', 'nginx.conf'), 'utf8')).toContain('proxy_buffering off');
  });

  it('the image runs the compose configuration as a non-root user, on the port it exposes, and its health check answers from /readyz', async () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const config = await loadGatewayConfig(join(ROOT, 'config', 'gateway.compose.json'));
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('FROM '));
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(new RegExp(`^EXPOSE ${config.listen.port}$`, 'm'));
    const command = JSON.parse(/^CMD (\[.*\])$/m.exec(runtime)![1]!) as string[];
    expect(command).toEqual(['node', 'dist/gateway/main.js', '--config', 'config/gateway.compose.json']);
    // The health check's own command, run against a gateway that is ready and one that is not there.
    const check = JSON.parse(/^HEALTHCHECK .*CMD (\[.*\])$/m.exec(runtime)![1]!) as string[];
    expect(check.slice(0, 2)).toEqual(['node', '-e']);
    const gateway = await startGateway({ upstreams: [fixtureUpstream('fx')] });
    try {
      await waitReady(gateway);
      const port = new URL(gateway.base).port;
      const run = (script: string) => spawnSync(process.execPath, ['-e', script], { timeout: 10_000 }).status;
      expect(run(check[2]!.replace('127.0.0.1:8080', `127.0.0.1:${port}`))).toBe(0);
    } finally {
      await gateway.stop();
    }
    expect(spawnSync(process.execPath, ['-e', check[2]!.replace('127.0.0.1:8080', '127.0.0.1:9')], { timeout: 10_000 }).status).toBe(1);
  });
});
