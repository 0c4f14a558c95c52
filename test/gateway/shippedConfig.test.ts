import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../../gateway/config/load.js';
import { ROOT } from './harness.js';

describe('shipped configuration', () => {
  it('the default configuration starts the three domain servers behind OAuth', async () => {
    const config = await loadGatewayConfig(join(ROOT, 'config', 'gateway.json'));
    expect(config.auth.mode).toBe('oauth');
    expect(config.listen.host).toBe('127.0.0.1');
    expect(config.upstreams.map((u) => u.namespace)).toEqual(['pm', 'github', 'docs']);
  });

  it('the compose stack\'s configuration is valid and is the one docker-compose.yml runs', async () => {
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
});
