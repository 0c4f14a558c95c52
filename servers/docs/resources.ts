import { ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SubscribeRequestSchema, UnsubscribeRequestSchema, type ReadResourceResult } from '@modelcontextprotocol/sdk/types.js';
import { asMcpErrors, notFound } from '../../shared/errors.js';
import type { DocsChange, DocsIndex } from './docsIndex.js';
import { DOCUMENT_URI_TEMPLATE, documentUri, INDEX_URI, pathFromDocumentUri } from './docsUris.js';
import type { DocsServerContext } from './server.js';

const MARKDOWN = 'text/markdown';

/** The docs://index resource: every document, grouped by folder, as Markdown. */
function renderIndex(docsIndex: DocsIndex): string {
  const stats = docsIndex.stats();
  const lines = [
    '# Documentation index',
    '',
    `${stats.documents} documents, ${stats.sections} sections.` +
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
 * completable), with resources/subscribe: a subscribed client hears
 * notifications/resources/updated when its document changes or goes away, and every
 * client hears notifications/resources/list_changed when documents come or go
 * (MCP 2025-11-25, server/resources "Subscriptions" and "List Changed Notification").
 */
export function registerDocsResources(ctx: DocsServerContext): void {
  const { server, docsIndex, logger } = ctx;

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
    'document',
    new ResourceTemplate(DOCUMENT_URI_TEMPLATE, {
      list: async () => ({
        resources: docsIndex.paths().flatMap((relativePath) => {
          const summary = docsIndex.summary(relativePath);
          return summary
            ? [{ uri: documentUri(relativePath), name: relativePath, title: summary.title, mimeType: MARKDOWN, size: summary.sizeBytes }]
            : [];
        }),
      }),
      complete: { path: (value) => docsIndex.completePaths(value) },
    }),
    {
      title: 'Document',
      description: 'One Markdown document, by its path relative to the docs root, e.g. docs://guides/running.md. Nested paths are one {+path} variable.',
      mimeType: MARKDOWN,
    },
    asMcpErrors(async (_uri, variables): Promise<ReadResourceResult> => {
      const raw = Array.isArray(variables.path) ? variables.path.join('/') : (variables.path ?? '');
      const relativePath = pathFromDocumentUri(raw, true);
      const doc = await docsIndex.getDocument(relativePath);
      return { contents: [{ uri: documentUri(relativePath), mimeType: MARKDOWN, text: doc.text }] };
    }),
  );

  // resources/subscribe is not wired by McpServer; the low-level server takes it.
  const subscriptions = new Map<string, Set<string>>(); // document path, or INDEX_URI → URIs as the client wrote them
  server.server.registerCapabilities({ resources: { subscribe: true, listChanged: true } });

  const subscriptionKey = (uri: string): string => {
    if (uri === INDEX_URI) return INDEX_URI;
    const relativePath = pathFromDocumentUri(uri);
    if (!docsIndex.has(relativePath)) {
      throw notFound(`No document "${relativePath}" to subscribe to.`, 'Subscribe to a URI from resources/list, or to docs://index to hear about any change.');
    }
    return relativePath;
  };

  server.server.setRequestHandler(
    SubscribeRequestSchema,
    asMcpErrors(async (request) => {
      const key = subscriptionKey(request.params.uri);
      const uris = subscriptions.get(key) ?? new Set<string>();
      uris.add(request.params.uri);
      subscriptions.set(key, uris);
      return {};
    }),
  );
  server.server.setRequestHandler(
    UnsubscribeRequestSchema,
    asMcpErrors(async (request) => {
      const uri = request.params.uri;
      const key = uri === INDEX_URI ? INDEX_URI : pathFromDocumentUri(uri);
      const uris = subscriptions.get(key);
      uris?.delete(uri);
      if (uris?.size === 0) subscriptions.delete(key);
      return {};
    }),
  );

  const notifyUpdated = (uris: Iterable<string>): void => {
    for (const uri of uris) {
      server.server.sendResourceUpdated({ uri }).catch((error: unknown) => logger.debug({ err: error, uri }, 'could not send resources/updated'));
    }
  };

  const onChange = (change: DocsChange): void => {
    if (!server.isConnected()) return;
    for (const relativePath of [...change.added, ...change.updated, ...change.removed]) {
      const uris = subscriptions.get(relativePath);
      if (uris) notifyUpdated(uris);
    }
    const indexUris = subscriptions.get(INDEX_URI);
    if (indexUris) notifyUpdated(indexUris);
    if (change.added.length > 0 || change.removed.length > 0) {
      server.server.sendResourceListChanged().catch((error: unknown) => logger.debug({ err: error }, 'could not send resources/list_changed'));
    }
  };
  const stopListening = docsIndex.onChange(onChange);
  const previousOnClose = server.server.onclose;
  server.server.onclose = () => {
    stopListening();
    subscriptions.clear();
    previousOnClose?.();
  };
}
