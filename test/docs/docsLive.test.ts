import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DocsChange } from '../../servers/docs/docsIndex.js';
import { CLIENT_KINDS } from '../support/eraClients.js';
import { waitFor } from '../support/waitFor.js';
import { copyFixtureTree, failureOf, hearListChanges, resourceText, startInProcess, structured, subscribe, type InProcessDocs } from './helpers.js';

interface SearchOutput {
  results: { path: string; anchor: string }[];
}

describe.each(CLIENT_KINDS)('live re-indexing (in process, watching the tree), client %s', (kind) => {
  let tree: { root: string; remove: () => Promise<void> };
  let docs: InProcessDocs;
  let changes: DocsChange[];

  beforeEach(async () => {
    tree = await copyFixtureTree();
    docs = await startInProcess(tree.root, { watch: true, client: kind });
    changes = [];
    docs.docsIndex.onChange((change) => changes.push(change));
  });
  afterEach(async () => {
    await docs?.close();
    await tree?.remove();
  });

  const topHit = async (query: string): Promise<{ path: string; anchor: string } | undefined> =>
    structured<SearchOutput>(await docs.client.callTool({ name: 'search_docs', arguments: { query } })).results[0];

  it('re-indexes an edited file (only that file) and tells a subscribed client', async () => {
    await subscribe(docs.client, 'docs://guides/installing.md');
    await hearListChanges(docs.client);
    await fs.appendFile(
      path.join(tree.root, 'guides/installing.md'),
      '\n## Uninstalling\n\nRun `npm uninstall --global acme-widgets` to remove the zyzzyva tool.\n',
    );

    const hit = await waitFor('the new section to be searchable', async () => {
      const top = await topHit('zyzzyva uninstall');
      return top?.anchor === 'uninstalling' ? top : undefined;
    });
    expect(hit).toEqual(expect.objectContaining({ path: 'guides/installing.md', anchor: 'uninstalling' }));
    await waitFor('resources/updated for the edited document', () => docs.notifications.updated.includes('docs://guides/installing.md'));
    expect(changes).toEqual([{ added: [], updated: ['guides/installing.md'], removed: [] }]);
    // Nothing was added or removed, so the list did not change.
    expect(docs.notifications.listChanged).toBe(0);

    const section = structured<{ content: string }>(
      await docs.client.callTool({ name: 'get_section', arguments: { path: 'guides/installing.md', anchor: 'uninstalling' } }),
    );
    expect(section.content).toContain('npm uninstall');
  });

  it('drops text that was edited away', async () => {
    const file = path.join(tree.root, 'reference/api/errors.md');
    const text = await fs.readFile(file, 'utf8');
    await fs.writeFile(file, text.replace(/## Rate limits[\s\S]*?(?=## Server errors)/, ''));
    await waitFor('the removed section to leave the index', async () => (await topHit('rate limit 429 Retry-After'))?.anchor !== 'rate-limits');
    const outline = structured<{ outline: { anchor: string }[] }>(
      await docs.client.callTool({ name: 'get_document', arguments: { path: 'reference/api/errors.md' } }),
    ).outline;
    expect(outline.map((s) => s.anchor)).not.toContain('rate-limits');
  });

  it('adds a new file, announces list_changed, and lists it as a resource', async () => {
    await hearListChanges(docs.client);
    await fs.writeFile(
      path.join(tree.root, 'guides/upgrading.md'),
      '# Upgrading\n\n## From version 1\n\nRename PORT to WIDGETS_PORT before the quokka upgrade.\n',
    );
    await waitFor('resources/list_changed', () => docs.notifications.listChanged > 0);
    expect(await topHit('quokka upgrade')).toEqual(expect.objectContaining({ path: 'guides/upgrading.md', anchor: 'from-version-1' }));
    const { resources } = await docs.client.listResources();
    expect(resources.map((r) => r.uri)).toContain('docs://guides/upgrading.md');
  });

  it('adds files in a new folder', async () => {
    await fs.mkdir(path.join(tree.root, 'tutorials/first-steps'), { recursive: true });
    await fs.writeFile(path.join(tree.root, 'tutorials/first-steps/hello.md'), '# Hello widgets\n\nYour first axolotl widget.\n');
    await waitFor('the file in the new folder to be searchable', async () => (await topHit('axolotl'))?.path === 'tutorials/first-steps/hello.md');
  });

  it('drops a deleted file, tells its subscriber, and announces list_changed', async () => {
    await subscribe(docs.client, 'docs://reference/api/widgets.md');
    await hearListChanges(docs.client);
    await fs.rm(path.join(tree.root, 'reference/api/widgets.md'));
    await waitFor('resources/list_changed', () => docs.notifications.listChanged > 0);
    await waitFor('resources/updated for the deleted document', () => docs.notifications.updated.includes('docs://reference/api/widgets.md'));
    const result = await docs.client.callTool({ name: 'get_document', arguments: { path: 'reference/api/widgets.md' } });
    expect(failureOf(result).code).toBe('not_found');
    expect((await topHit('delete widget'))?.path).not.toBe('reference/api/widgets.md');
  });

  it('drops every document of a deleted folder', async () => {
    await fs.rm(path.join(tree.root, 'reference'), { recursive: true });
    await waitFor('the folder to leave the index', () => !docs.docsIndex.has('reference/api/errors.md') && !docs.docsIndex.has('reference/api/widgets.md'));
    const { resources } = await docs.client.listResources();
    expect(resources.some((r) => r.uri.startsWith('docs://reference/'))).toBe(false);
  });

  it('tells docs://index subscribers about any change, and stops after unsubscribe', async () => {
    const unsubscribeIndex = await subscribe(docs.client, 'docs://index');
    await fs.writeFile(path.join(tree.root, 'new.md'), '# New\n');
    await waitFor('resources/updated for docs://index', () => docs.notifications.updated.includes('docs://index'));
    const index = await docs.client.readResource({ uri: 'docs://index' });
    expect(resourceText(index)).toContain('(docs://new.md)');

    await unsubscribeIndex();
    docs.notifications.updated.length = 0;
    await subscribe(docs.client, 'docs://README.md');
    await fs.appendFile(path.join(tree.root, 'README.md'), '\nOne more line.\n');
    await waitFor('resources/updated for README.md', () => docs.notifications.updated.includes('docs://README.md'));
    expect(docs.notifications.updated).not.toContain('docs://index');
  });

  it('ignores rewrites that do not change a file, and non-Markdown files', async () => {
    await subscribe(docs.client, 'docs://README.md', 'docs://guides/deploying.md');
    const readme = path.join(tree.root, 'README.md');
    await fs.writeFile(readme, await fs.readFile(readme, 'utf8'));
    await fs.writeFile(path.join(tree.root, 'notes.txt'), 'changed notes\n');
    await fs.appendFile(path.join(tree.root, 'guides/deploying.md'), '\nRoll back with the previous image tag.\n');
    await waitFor('resources/updated for deploying.md', () => docs.notifications.updated.includes('docs://guides/deploying.md'));
    await docs.watcher?.flush();
    expect(docs.notifications.updated).not.toContain('docs://README.md');
    expect(changes.flatMap((c) => [...c.added, ...c.updated, ...c.removed])).toEqual(['guides/deploying.md']);
  });

  it('drops a file replaced by a symbolic link that leads out of the root', async () => {
    const outside = path.join(path.dirname(tree.root), 'outside.md');
    await fs.writeFile(outside, '# Outside\n\nnarwhal secrets\n');
    await fs.rm(path.join(tree.root, 'troubleshooting.markdown'));
    await fs.symlink(outside, path.join(tree.root, 'troubleshooting.markdown'));
    await waitFor('the file to leave the index', () => !docs.docsIndex.has('troubleshooting.markdown'));
    expect((await topHit('narwhal secrets'))?.path).toBeUndefined();
    const result = await docs.client.callTool({ name: 'get_document', arguments: { path: 'troubleshooting.markdown' } });
    expect(failureOf(result)).toMatchObject({ code: 'forbidden' });
    expect(failureOf(result).message).toContain('symbolic link');
  });
});
