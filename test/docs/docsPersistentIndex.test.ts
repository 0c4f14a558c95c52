import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connectClient, LEGACY_V1 } from '../support/eraClients.js';
import { waitFor } from '../support/waitFor.js';
import { assertBuilt, copyFixtureTree, DOCS_ENTRY, resourceText, startStdioProcess, structured, textOf, untilIndexed, writeLargeTree } from './helpers.js';

/**
 * The persistent index, through the real server process over stdio: a restart re-indexes only
 * what changed, the watcher's single-file updates persist, and a large tree is answered for
 * while it is still being indexed.
 */

interface LoadLog {
  msg: string;
  documents: number;
  added: number;
  updated: number;
  removed: number;
  unchanged: number;
  sameContent: number;
}

/** The "indexed docs" log line of a process: what its load found. */
function loadReport(stderr: string): LoadLog {
  const line = stderr
    .split('\n')
    .filter((l) => l.includes('"msg":"indexed docs"'))
    .at(-1);
  if (!line) throw new Error(`no "indexed docs" log line in:\n${stderr}`);
  return JSON.parse(line) as LoadLog;
}

interface Indexing {
  state: string;
  done: number;
  total: number;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function fixtureTree(): Promise<{ root: string; dataDir: string }> {
  const tree = await copyFixtureTree();
  cleanups.push(tree.remove);
  return { root: tree.root, dataDir: path.join(path.dirname(tree.root), 'data') };
}

async function startServer(root: string, dataDir: string, extra: Record<string, string> = {}): Promise<Awaited<ReturnType<typeof startStdioProcess>>> {
  const server = await startStdioProcess({ DOCS_ROOT: root, MANIFOLD_DATA_DIR: dataDir, ...extra });
  await waitFor('the "indexed docs" log line', () => server.stderr().includes('"msg":"indexed docs"'));
  return server;
}

describe('persistent docs index (server process over stdio)', () => {
  it('keeps the index in the data directory, private, and re-indexes only changed files on restart', async () => {
    const { root, dataDir } = await fixtureTree();
    const first = await startServer(root, dataDir, { DOCS_WATCH: '0' });
    expect(loadReport(first.stderr())).toMatchObject({ documents: 7, added: 7, updated: 0, removed: 0, unchanged: 0 });
    await first.close();

    const files = await fs.readdir(path.join(dataDir, 'docs-index'));
    expect(files.filter((f) => f.endsWith('.sqlite'))).toHaveLength(1);
    const stat = await fs.stat(path.join(dataDir, 'docs-index', files.find((f) => f.endsWith('.sqlite')) ?? ''));
    expect(stat.mode & 0o777).toBe(0o600);

    // Nothing changed: nothing is read again.
    const second = await startServer(root, dataDir, { DOCS_WATCH: '0' });
    expect(loadReport(second.stderr())).toMatchObject({ documents: 7, added: 0, updated: 0, removed: 0, unchanged: 7, sameContent: 0 });
    await second.close();

    // One edited, one touched (same content, new mtime), one deleted, one added.
    await fs.appendFile(path.join(root, 'guides/installing.md'), '\n## Uninstalling\n\nRemove the ocelot package.\n');
    const later = new Date(Date.now() + 5_000);
    await fs.utimes(path.join(root, 'guides/deploying.md'), later, later);
    await fs.rm(path.join(root, 'reference/api/widgets.md'));
    await fs.writeFile(path.join(root, 'faq.md'), '# FAQ\n\n## Is there a dark mode?\n\nYes, the wombat theme.\n');
    const third = await startServer(root, dataDir, { DOCS_WATCH: '0' });
    expect(loadReport(third.stderr())).toMatchObject({ documents: 7, added: 1, updated: 1, removed: 1, unchanged: 4, sameContent: 1 });
    const search = async (query: string): Promise<Array<{ path: string; anchor: string }>> =>
      structured<{ results: Array<{ path: string; anchor: string }> }>(await third.client.callTool({ name: 'search_docs', arguments: { query } })).results;
    expect((await search('ocelot'))[0]).toMatchObject({ path: 'guides/installing.md', anchor: 'uninstalling' });
    expect((await search('wombat theme'))[0]).toMatchObject({ path: 'faq.md', anchor: 'is-there-a-dark-mode' });
    expect((await search('delete widget')).some((hit) => hit.path === 'reference/api/widgets.md')).toBe(false);
    await third.close();
  });

  it('persists what the watcher re-indexes: after a restart the edited file is not indexed again', async () => {
    const { root, dataDir } = await fixtureTree();
    const server = await startServer(root, dataDir);
    await untilIndexed(server.client);
    await fs.appendFile(path.join(root, 'troubleshooting.markdown'), '\n## Slow searches\n\nA pangolin-sized tree takes longer.\n');
    await waitFor('the watcher to re-index the edited file', () => server.stderr().includes('"msg":"re-indexed changed docs"'));
    const logged = server
      .stderr()
      .split('\n')
      .find((l) => l.includes('"msg":"re-indexed changed docs"'));
    expect(JSON.parse(logged ?? '{}')).toMatchObject({ added: 0, updated: 1, removed: 0 });
    const hits = structured<{ results: Array<{ path: string; anchor: string }> }>(
      await server.client.callTool({ name: 'search_docs', arguments: { query: 'pangolin' } }),
    ).results;
    expect(hits[0]).toMatchObject({ path: 'troubleshooting.markdown', anchor: 'slow-searches' });
    await server.close();

    const again = await startServer(root, dataDir, { DOCS_WATCH: '0' });
    expect(loadReport(again.stderr())).toMatchObject({ documents: 7, added: 0, updated: 0, removed: 0, unchanged: 7 });
    await again.close();
  });

  it('answers initialize at once on a large tree, and says how far indexing is while it runs', async () => {
    assertBuilt();
    const parent = await fs.mkdtemp(path.join(os.tmpdir(), 'manifold-docs-large-'));
    cleanups.push(() => fs.rm(parent, { recursive: true, force: true }));
    const root = path.join(parent, 'docs');
    const files = 4000;
    await writeLargeTree(root, files);
    let stderr = '';
    const client = await connectClient(LEGACY_V1, {
      kind: 'stdio',
      entry: DOCS_ENTRY,
      env: { DOCS_ROOT: root, MANIFOLD_DATA_DIR: path.join(parent, 'data'), DOCS_WATCH: '0', LOG_LEVEL: 'info' },
      onStderr: (text) => {
        stderr += text;
      },
    });
    cleanups.push(() => client.close());
    // initialize was answered; the tools work on what is indexed so far, and say so.
    const listed = await client.callTool({ name: 'list_documents', arguments: { limit: 1 } });
    const indexing = structured<{ indexing?: Indexing }>(listed).indexing;
    expect(stderr).not.toContain('"msg":"indexed docs"');
    expect(indexing).toBeDefined();
    expect(['scanning', 'indexing']).toContain(indexing?.state);
    expect(textOf(listed)).toMatch(/Indexing [\d,]+ of 4,000 files|Scanning the docs tree/);

    const during = await waitFor('indexing to be under way', async () => {
      const result = await client.callTool({ name: 'search_docs', arguments: { query: 'gateway upstream' } });
      const out = structured<{ indexing?: Indexing; results: unknown[] }>(result);
      return out.indexing?.state === 'indexing' && out.indexing.done > 0 ? { out, text: textOf(result) } : undefined;
    });
    expect(during.out.indexing?.total).toBe(files);
    expect(during.out.indexing?.done).toBeLessThan(files);
    expect(during.text).toMatch(/Indexing [\d,]+ of 4,000 files: results cover only the files indexed so far/);
    // docs://status says the same, as JSON, for supervisors.
    const status = JSON.parse(resourceText(await client.readResource({ uri: 'docs://status' }))) as Indexing & { message: string };
    if (status.state !== 'ready') {
      expect(status).toMatchObject({ state: 'indexing', total: files });
      expect(status.message).toMatch(/^Indexing [\d,]+ of 4,000 files/);
    }

    await untilIndexed(client);
    const done = structured<{ total: number; indexing?: Indexing }>(await client.callTool({ name: 'list_documents', arguments: { limit: 1 } }));
    expect(done).toMatchObject({ total: files });
    expect(done.indexing).toBeUndefined();
    const ready = JSON.parse(resourceText(await client.readResource({ uri: 'docs://status' }))) as Indexing & { documents: number };
    expect(ready).toMatchObject({ state: 'ready', done: files, total: files, documents: files });
    const found = structured<{ results: Array<{ path: string; anchor: string; uri: string }> }>(
      await client.callTool({ name: 'search_docs', arguments: { query: 'OPTION_3999' } }),
    ).results[0];
    expect(found).toMatchObject({ path: 'area-39/doc-3999.md', anchor: 'setting-3999', uri: 'docs://area-39/doc-3999.md#setting-3999' });
  }, 120_000);
});
