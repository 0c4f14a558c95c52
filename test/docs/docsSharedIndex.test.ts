import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEGACY_V1 } from '../support/eraClients.js';
import { waitFor } from '../support/waitFor.js';
import { connectHttp, startHttpProcess, subscribe, type DocsConnection } from './helpers.js';
import type { HttpServerProcess } from '../support/processes.js';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';

const FILES = 60;

/**
 * Two servers on one tree and one data directory (two desktop clients each starting the docs
 * server over stdio do this) share one index file: both re-index a change at the same moment,
 * and each must wait for the other's write rather than fail and drop the change.
 */
describe('two docs servers sharing one index file', () => {
  let parent: string;
  let root: string;
  const servers: HttpServerProcess[] = [];
  const clients: DocsConnection[] = [];

  beforeAll(async () => {
    parent = await mkdtemp(path.join(os.tmpdir(), 'manifold-docs-shared-'));
    root = path.join(parent, 'docs');
    await fs.mkdir(root);
    for (let n = 0; n < FILES; n++) await fs.writeFile(path.join(root, `page-${n}.md`), `# Page ${n}\n\nFirst text of page ${n}.\n`);
    const env = { DOCS_ROOT: root, MANIFOLD_DATA_DIR: path.join(parent, 'data') };
    servers.push(await startHttpProcess(env), await startHttpProcess(env));
    for (const server of servers) clients.push(await connectHttp(server.url, LEGACY_V1));
  });

  afterAll(async () => {
    for (const { client } of clients) await client.close();
    for (const server of servers) await server.stop();
    await rm(parent, { recursive: true, force: true });
  });

  it('both re-index every changed file and tell their subscribers, with no "database is locked"', async () => {
    const uris = Array.from({ length: FILES }, (_, n) => `docs://page-${n}.md`);
    for (const { client } of clients) await subscribe(client, ...uris);
    await Promise.all(uris.map((_, n) => fs.appendFile(path.join(root, `page-${n}.md`), `\n## Changed\n\nNew text of page ${n}.\n`)));
    for (const [which, { notifications }] of clients.entries()) {
      await waitFor(`server ${which + 1} to announce all ${FILES} changes`, () => uris.every((uri) => notifications.updated.includes(uri)));
    }
    for (const { client } of clients) {
      const found = await client.callTool({ name: 'search_docs', arguments: { query: 'new text of page 42' } });
      expect(JSON.stringify(found.structuredContent)).toContain('page-42.md');
    }
    for (const server of servers) expect(server.stderr()).not.toContain('database is locked');
  });
});
