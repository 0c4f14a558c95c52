import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, describe, expect, it } from 'vitest';
import { connect, readiness, ROOT, startGateway, waitReady, type RunningGateway } from '../gateway/harness.js';
import { waitFor } from '../support/waitFor.js';
import { DOCS_MAIN, writeLargeTree } from './helpers.js';

describe.skipIf(!existsSync(DOCS_MAIN))('a docs upstream over a large tree, through the gateway', () => {
  let gateway: RunningGateway | undefined;
  let parent: string | undefined;
  afterAll(async () => {
    await gateway?.stop();
    if (parent) await fs.rm(parent, { recursive: true, force: true });
  });

  it('is ready at once, serves while indexing, and /readyz says how far indexing is', async () => {
    parent = await fs.mkdtemp(path.join(os.tmpdir(), 'manifold-docs-gateway-large-'));
    const root = path.join(parent, 'docs');
    await writeLargeTree(root, 6000);
    gateway = await startGateway({
      cache: { enabled: false },
      upstreams: [
        {
          namespace: 'docs',
          // A start timeout shorter than a full build: the child answers its handshake at once anyway.
          health: { pingIntervalMs: 15_000, pingTimeoutMs: 5_000, startTimeoutMs: 10_000 },
          stdio: {
            command: process.execPath,
            args: [DOCS_MAIN],
            cwd: ROOT,
            env: { DOCS_ROOT: root, MANIFOLD_DATA_DIR: path.join(parent, 'data'), DOCS_WATCH: '0', LOG_LEVEL: 'info' },
          },
        },
      ],
    });
    const ready = await waitReady(gateway, 30_000);
    expect(ready.upstreams[0]).toMatchObject({ namespace: 'docs', state: 'ready', restarts: 0 });

    const progress = await waitFor('"indexing n of 6,000 files" in /readyz', async () => {
      const docs = (await readiness(gateway!)).upstreams[0];
      return docs?.lastLog && /^indexing [\d,]+ of 6,000 files$/.test(docs.lastLog.message) ? docs.lastLog.message : undefined;
    });
    expect(progress).toMatch(/^indexing [\d,]+ of 6,000 files$/);

    // Tools answer from what is indexed so far while the build runs.
    const client = await connect(gateway.url);
    try {
      const result = (await client.callTool({ name: 'docs__search_docs', arguments: { query: 'OPTION_12' } })) as CallToolResult;
      expect(result.isError).toBeFalsy();
    } finally {
      await client.close();
    }
    // The build ends without a restart of the child.
    const done = await waitFor(
      'the docs index to be built',
      async () => {
        const docs = (await readiness(gateway!)).upstreams[0];
        return docs?.lastLog?.message === 'indexed docs' ? docs : undefined;
      },
      120_000,
    );
    expect(done.restarts).toBe(0);
  }, 180_000);
});
