import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import nodeModule from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureUpstream, startGateway, waitReady, type RunningGateway } from './harness.js';

const runtimeHasCompileCache = typeof (nodeModule as { enableCompileCache?: unknown }).enableCompileCache === 'function';

describe('children and the module compile cache', () => {
  let gateway: RunningGateway | undefined;
  afterAll(async () => gateway?.stop());

  it(`gives stdio children a compile cache in the data directory ${runtimeHasCompileCache ? '(this runtime has one)' : '(not on this runtime, which has none)'}`, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'manifold-compile-cache-'));
    gateway = await startGateway({ upstreams: [fixtureUpstream('fx')] }, { env: { MANIFOLD_DATA_DIR: dataDir } });
    await waitReady(gateway);
    const cacheDir = join(dataDir, 'compile-cache');
    if (runtimeHasCompileCache) {
      // The child compiled its modules into the cache; the next start loads them from there.
      expect(existsSync(cacheDir)).toBe(true);
      expect(readdirSync(cacheDir, { recursive: true }).length).toBeGreaterThan(0);
    } else {
      expect(existsSync(cacheDir)).toBe(false);
    }
  });
});
