import { InMemoryServerEventBus, ResourceTemplate, type ReadResourceResult, type ServerEventBus } from '@modelcontextprotocol/server';
import { asMcpErrors, notFound } from '../../shared/errors.js';
import type { SubscribableResources } from '../../shared/serving/resourceChanges.js';
import type { DocsChange, DocsIndex } from './docsIndex.js';
import { progressText } from './views.js';
import { DOCUMENT_URI_TEMPLATE, documentUri, INDEX_URI, parseDocsUri, sectionUri, STATUS_URI } from './docsUris.js';
import type { DocsServerContext } from './serverContext.js';

const MARKDOWN = 'text/markdown';
/** Above this many documents added at once, no per-document update is published for them. */
const ANNOUNCED_ADDITIONS = 100;

/** " Indexing 1,200 of 2,625 files; …" while the first build runs, else "". */
function indexingNote(docsIndex: DocsIndex): string {
  const progress = docsIndex.progress();
  return progress.state === 'ready' ? '' : ` ${progressText(progress)}`;
}

/** The docs://index resource: every document, grouped by folder, as Markdown. */
function renderIndex(docsIndex: DocsIndex): string {
  const stats = docsIndex.stats();
  const lines = [
    '# Documentation index',
    '',
    `${stats.documents} documents, ${stats.sections} sections.` +
      indexingNote(docsIndex) +
      (stats.fileCapReached ? ` More documents exist than DOCS_MAX_FILES (${stats.maxFiles}); the rest are not indexed.` : '') +
      (stats.skippedTooLarge > 0 ? ` ${stats.skippedTooLarge} documents above ${stats.maxFileBytes} bytes are skipped.` : ''),
  ];
  let folder: string | undefined;
  for (const relativePath of docsIndex.paths()) {
    const summary = docsIndex.summary(relativePath);
    if (!summary) continue;
    const slash = relativePath.lastIndexOf('/');
    const here = slash < 0 ? '' : relativePath.slice(0, slash);
    if (here !== folder) {
      folder = here;
      lines.push('', `## ${here === '' ? '(top level)' : `${here}/`}`, '');
    }
    lines.push(`- [${summary.title.replace(/[[\]]/g, '\\$&')}](${documentUri(relativePath)}) — \`${relativePath}\`, ${summary.sections} sections`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Resources: docs://index and docs://{+path} (one per document, listed and
 * completable), with subscriptions (2025: resources/subscribe; 2026-07-28: subscriptions/listen):
 * a subscribed client hears notifications/resources/updated when its document changes or goes
 * away, and notifications/resources/list_changed when documents come or go
 * (MCP server/resources "Subscriptions" and "List Changed Notification").
 */
export function registerDocsResources(ctx: DocsServerContext): void {
  const { server, docsIndex } = ctx;

  server.registerResource(
    'docs-index',
    INDEX_URI,
    {
      title: 'Documentation index',
      description: 'Every document in the docs tree with its title and docs:// URI, grouped by folder (Markdown).',
      mimeType: MARKDOWN,
    },
    asMcpErrors(async (): Promise<ReadResourceResult> => ({
      contents: [{ uri: INDEX_URI, mimeType: MARKDOWN, text: renderIndex(docsIndex) }],
    })),
  );

  server.registerResource(
    'docs-status',
    STATUS_URI,
    {
      title: 'Indexing status',
      description:
        'How far indexing is, as JSON: state ("scanning", "indexing" or "ready"), done and total files, documents and sections indexed, and a one-line message such as "Indexing 1,200 of 2,625 files".',
      mimeType: 'application/json',
      // It changes while indexing runs: never served from a cache.
      cacheHint: { ttlMs: 0, cacheScope: 'public' },
    },
    asMcpErrors(async (): Promise<ReadResourceResult> => {
      const progress = docsIndex.progress();
      const stats = docsIndex.stats();
      const status = {
        ...progress,
        documents: stats.documents,
        sections: stats.sections,
        message: progress.state === 'ready' ? `Ready: ${stats.documents} documents, ${stats.sections} sections indexed.` : progressText(progress),
      };
      return { contents: [{ uri: STATUS_URI, mimeType: 'application/json', text: JSON.stringify(status) }] };
    }),
  );

  server.registerResource(
    'document',
    new ResourceTemplate(DOCUMENT_URI_TEMPLATE, {
      list: async () => ({
        resources: docsIndex.paths().flatMap((relativePath) => {
          const summary = docsIndex.summary(relativePath);
          return summary ? [{ uri: documentUri(relativePath), name: relativePath, title: summary.title, mimeType: MARKDOWN, size: summary.sizeBytes }] : [];
        }),
      }),
      complete: { path: (value) => docsIndex.completePaths(value) },
    }),
    {
      title: 'Document',
      description:
        'One Markdown document, by its path relative to the docs root, e.g. docs://guides/running.md (nested paths are one {+path} variable); ' +
        'with a #fragment, one section of it with its subsections, e.g. docs://guides/running.md#ports (the anchor search_docs returns in uri).',
      mimeType: MARKDOWN,
    },
    asMcpErrors(async (_uri, variables): Promise<ReadResourceResult> => {
      const raw = Array.isArray(variables.path) ? variables.path.join('/') : (variables.path ?? '');
      // The SDK's template hands the fragment over as part of {+path}: "guides/running.md#ports".
      const { path: relativePath, anchor } = parseDocsUri(raw, true);
      if (anchor !== undefined && anchor !== '') {
        const found = await docsIndex.getSection(relativePath, anchor, true);
        return { contents: [{ uri: sectionUri(relativePath, found.section.anchor), mimeType: MARKDOWN, text: found.text }] };
      }
      const doc = await docsIndex.getDocument(relativePath);
      return { contents: [{ uri: documentUri(relativePath), mimeType: MARKDOWN, text: doc.text }] };
    }),
  );
}

/** Documents and docs://index may be subscribed to; document URIs compare by their path. */
export function subscribableDocuments(docsIndex: DocsIndex): SubscribableResources {
  const updateKey = (uri: string): string => {
    if (uri === INDEX_URI) return INDEX_URI;
    try {
      return parseDocsUri(uri).path;
    } catch {
      return uri;
    }
  };
  return {
    subscriptionKey: (uri) => {
      if (uri === INDEX_URI) return INDEX_URI;
      const relativePath = parseDocsUri(uri).path;
      if (!docsIndex.has(relativePath)) {
        throw notFound(
          `No document "${relativePath}" to subscribe to.`,
          'Subscribe to a URI from resources/list, or to docs://index to hear about any change.',
        );
      }
      return relativePath;
    },
    updateKey,
  };
}

/**
 * The process's change bus: a document added, changed or removed is an update of its URI and of
 * docs://index; documents that come or go change the resource list.
 */
export function publishDocsChanges(docsIndex: DocsIndex): ServerEventBus {
  const bus = new InMemoryServerEventBus();
  docsIndex.onChange((change: DocsChange) => {
    // A first build adds thousands of documents nobody can have subscribed to yet: the list change says it.
    const added = change.added.length <= ANNOUNCED_ADDITIONS ? change.added : [];
    for (const relativePath of [...added, ...change.updated, ...change.removed]) {
      bus.publish({ kind: 'resource_updated', uri: documentUri(relativePath) });
    }
    bus.publish({ kind: 'resource_updated', uri: INDEX_URI });
    if (change.added.length > 0 || change.removed.length > 0) bus.publish({ kind: 'resources_list_changed' });
  });
  return bus;
}
