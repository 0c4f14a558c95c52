import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_KINDS } from '../support/eraClients.js';
import { waitFor } from '../support/waitFor.js';
import { copyFixtureTree, DOCS_TRANSPORTS, hearListChanges, resourceText, startDocs, subscribe, type DocsConnection, type RunningDocs } from './helpers.js';

const INDEX = 'docs://index';
const cases = DOCS_TRANSPORTS.flatMap((transport) => CLIENT_KINDS.map((kind) => ({ transport, kind })));

/**
 * A document edited, added or deleted on disk (the watcher on) reaches the clients that asked
 * for it — resources/subscribe on 2025-11-25, a subscriptions/listen stream on 2026-07-28 — and
 * nobody else.
 */
describe.each(cases)('document changes reach subscribers over $transport, client $kind', ({ transport, kind }) => {
  let tree: { root: string; remove: () => Promise<void> };
  let docs: RunningDocs;
  let subscriber: DocsConnection;
  /** Subscribed to another document only. */
  let bystander: DocsConnection;
  const stops: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    tree = await copyFixtureTree();
    docs = await startDocs(transport, tree.root);
    subscriber = await docs.connect(kind);
    bystander = await docs.connect(kind);
  });
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
    for (const { notifications } of [subscriber, bystander]) {
      notifications.updated.length = 0;
      notifications.listChanged = 0;
    }
  });
  afterAll(async () => {
    await docs?.close();
    await tree?.remove();
  });

  const watch = async (connection: DocsConnection, ...uris: string[]): Promise<void> => {
    stops.push(await subscribe(connection.client, ...uris));
  };
  const watchList = async (connection: DocsConnection): Promise<void> => {
    stops.push(await hearListChanges(connection.client));
  };

  it('an edited document: updated for its URI and docs://index, no list change, and nothing for a client watching another document', async () => {
    await watch(subscriber, 'docs://guides/installing.md', INDEX);
    await watchList(subscriber);
    await watch(bystander, 'docs://README.md');

    await fs.appendFile(path.join(tree.root, 'guides/installing.md'), '\n## Uninstalling\n\nRun `npm uninstall --global acme-widgets`.\n');
    await waitFor(
      'resources/updated for the document and the index',
      () => subscriber.notifications.updated.includes('docs://guides/installing.md') && subscriber.notifications.updated.includes(INDEX),
    );
    const reread = await subscriber.client.readResource({ uri: 'docs://guides/installing.md' });
    expect(resourceText(reread)).toContain('## Uninstalling');

    // Change the bystander's own document: once it hears about that, whatever the server sent it
    // about the first change has arrived too.
    await fs.appendFile(path.join(tree.root, 'README.md'), '\nOne more line.\n');
    await waitFor('resources/updated for README.md', () => bystander.notifications.updated.includes('docs://README.md'));
    expect(bystander.notifications.updated).toEqual(['docs://README.md']);
    expect(subscriber.notifications.updated).not.toContain('docs://README.md');
    expect(subscriber.notifications.listChanged).toBe(0);
  });

  it('a new document: list_changed and docs://index updated, and the document is listed and readable', async () => {
    await watch(subscriber, INDEX);
    await watchList(subscriber);

    await fs.writeFile(path.join(tree.root, 'guides/upgrading.md'), '# Upgrading\n\nRename PORT to WIDGETS_PORT.\n');
    await waitFor('resources/list_changed', () => subscriber.notifications.listChanged > 0);
    await waitFor('resources/updated for docs://index', () => subscriber.notifications.updated.includes(INDEX));
    const { resources } = await subscriber.client.listResources();
    expect(resources.map((r) => r.uri)).toContain('docs://guides/upgrading.md');
    expect(resourceText(await subscriber.client.readResource({ uri: INDEX }))).toContain('(docs://guides/upgrading.md)');
  });

  it('a deleted document: updated for its URI and docs://index, list_changed, and it is gone', async () => {
    await watch(subscriber, 'docs://reference/api/widgets.md', INDEX);
    await watchList(subscriber);

    await fs.rm(path.join(tree.root, 'reference/api/widgets.md'));
    await waitFor(
      'resources/updated for the deleted document and the index',
      () => subscriber.notifications.updated.includes('docs://reference/api/widgets.md') && subscriber.notifications.updated.includes(INDEX),
    );
    await waitFor('resources/list_changed', () => subscriber.notifications.listChanged > 0);
    await expect(subscriber.client.readResource({ uri: 'docs://reference/api/widgets.md' })).rejects.toMatchObject({ code: -32602 });
    const { resources } = await subscriber.client.listResources();
    expect(resources.map((r) => r.uri)).not.toContain('docs://reference/api/widgets.md');
  });
});
