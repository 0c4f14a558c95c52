import { existsSync } from 'node:fs';
import path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, ROOT, startGateway, waitReady, type RunningGateway } from '../gateway/harness.js';
import { waitFor } from '../support/waitFor.js';
import { copyFixtureTree, DOCS_MAIN } from './helpers.js';

/**
 * Search results link sections by `uri`; behind the gateway the client reads them under the
 * gateway's namespace (`docs+docs://path#anchor`, gateway/catalog/naming.ts strips `docs+`).
 */
describe.skipIf(!existsSync(DOCS_MAIN))('docs section URIs through the gateway', () => {
  let tree: { root: string; remove: () => Promise<void> };
  let gateway: RunningGateway;

  beforeAll(async () => {
    tree = await copyFixtureTree();
    gateway = await startGateway({
      // Polled below until the index is built: nothing may come from the gateway's cache.
      cache: { enabled: false },
      upstreams: [
        {
          namespace: 'docs',
          stdio: {
            command: process.execPath,
            args: [DOCS_MAIN],
            cwd: ROOT,
            env: { DOCS_ROOT: tree.root, MANIFOLD_DATA_DIR: path.join(path.dirname(tree.root), 'data'), DOCS_WATCH: '0' },
          },
        },
      ],
    });
    await waitReady(gateway, 30_000);
  }, 60_000);
  afterAll(async () => {
    await gateway?.stop();
    await tree?.remove();
  });

  it('reads the section a search result names, in the gateway-namespaced form', async () => {
    const client = await connect(gateway.url);
    try {
      // The docs server answers at once and indexes in the background; docs://status says when it is done.
      await waitFor('the docs index to be built', async () => {
        const status = await client.readResource({ uri: 'docs+docs://status' });
        return (JSON.parse((status.contents[0] as { text: string }).text) as { state: string }).state === 'ready';
      });
      const search = (await client.callTool({ name: 'docs__search_docs', arguments: { query: 'rate limit 429' } })) as CallToolResult;
      const first = (search.structuredContent as { results: Array<{ uri: string; score: number }> }).results[0];
      expect(first?.uri).toBe('docs://reference/api/errors.md#rate-limits');
      expect(first?.score).toBeGreaterThan(0);
      expect(first?.score).toBeLessThanOrEqual(1);

      const section = await client.readResource({ uri: `docs+${first?.uri ?? ''}` });
      const text = (section.contents[0] as { text: string }).text;
      expect(text.startsWith('## Rate limits')).toBe(true);
      expect(text).not.toContain('## Server errors');
      const whole = await client.readResource({ uri: 'docs+docs://reference/api/errors.md' });
      expect((whole.contents[0] as { text: string }).text).toContain('## Server errors');
      const trouble = await client.readResource({ uri: 'docs+docs://troubleshooting.markdown#port-already-in-use' });
      expect((trouble.contents[0] as { text: string }).text).toMatch(/^## Port already in use/);
    } finally {
      await client.close();
    }
  });
});
