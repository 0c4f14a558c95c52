import { z } from 'zod';
import { invalidInput } from '../../shared/errors.js';
import { guardTool, toolSuccess } from '../../shared/toolResult.js';
import { normalizeDocPath, normalizePathPrefix } from './docsRoot.js';
import type { DocsServerContext } from './serverContext.js';
import {
  documentView,
  indexingView,
  outlineEntryView,
  progressText,
  searchHitView,
  sectionRef,
  sectionView,
  toDocumentView,
  toOutlineEntry,
  toSearchHitView,
  toSectionView,
  trailText,
} from './views.js';

export const LIMITS = {
  queryChars: 500,
  searchResults: 50,
  defaultSearchResults: 10,
  listPage: 200,
  defaultListPage: 50,
  defaultDocumentChars: 100_000,
  maxDocumentChars: 1_000_000,
} as const;

// Every tool here only reads the local docs tree.
const READ_ONLY = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;

const pathInput = z
  .string()
  .min(1)
  .max(1024)
  .describe('Document path relative to the docs root, e.g. "guides/running.md" (as returned by search_docs or list_documents).');
const pathPrefixInput = z
  .string()
  .max(1024)
  .optional()
  .describe('Only documents whose path starts with this, e.g. "guides/" for one folder. Relative to the docs root.');

/** Opaque list_documents cursor: the last path of the previous page. */
function encodeCursor(afterPath: string): string {
  return Buffer.from(JSON.stringify({ after: afterPath }), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof value === 'object' && value !== null && typeof (value as { after?: unknown }).after === 'string') {
      return (value as { after: string }).after;
    }
  } catch {
    // Reported below.
  }
  throw invalidInput('cursor', 'is not a cursor returned by list_documents.', 'Pass next_cursor from the previous page unchanged, or omit it to start over.');
}

/** Cut text at a line boundary at or below maxChars. */
function truncateAtLine(text: string, maxChars: number): { text: string; truncated: boolean } {
  if (text.length <= maxChars) return { text, truncated: false };
  const cut = text.lastIndexOf('\n', maxChars);
  return { text: text.slice(0, cut > 0 ? cut : maxChars), truncated: true };
}

export function registerDocsTools(ctx: DocsServerContext): void {
  const { server, docsIndex, logger, baseUrl } = ctx;
  const noteCall = (tool: string, meta: Record<string, unknown> | undefined): void => {
    logger.debug({ tool, user: ctx.callerOf(meta).user }, 'tool call');
  };

  server.registerTool(
    'search_docs',
    {
      title: 'Search documentation',
      description:
        'Ranked full-text search over the sections of every Markdown document (a section is a heading and the text under it, up to the next heading). ' +
        'Matches in headings weigh more than matches in quoted code, which weigh more than body text; words match their other forms (limit, limits, limiting), the last word also as a prefix, and a misspelt word its closest indexed word. ' +
        `Inputs: query (words, 1-${LIMITS.queryChars} characters), limit (1-${LIMITS.searchResults}, default ${LIMITS.defaultSearchResults}), ` +
        'path_prefix (optional, e.g. "guides/" to search one folder). ' +
        "Returns the best sections first, each with path, anchor, heading breadcrumbs, line range, a 0-1 score, a snippet around the match, uri (the section's docs://path#anchor URI, readable with resources/read) and a web link when configured, plus the total number of matching sections. " +
        'Use this first to find where something is documented; then call get_section with the path and anchor to read the whole section.',
      inputSchema: {
        query: z.string().trim().min(1).max(LIMITS.queryChars).describe('What to look for, in words, e.g. "configure the HTTP port".'),
        limit: z
          .number()
          .int()
          .min(1)
          .max(LIMITS.searchResults)
          .optional()
          .describe(`How many sections to return (default ${LIMITS.defaultSearchResults}, at most ${LIMITS.searchResults}).`),
        path_prefix: pathPrefixInput,
      },
      outputSchema: z.object({
        query: z.string(),
        total: z.number().int().describe('Matching sections before the limit was applied, counted up to 1,000.'),
        results: z.array(searchHitView),
        indexing: indexingView.optional(),
      }),
      annotations: READ_ONLY,
    },
    guardTool(logger, 'search_docs', async (args, extra) => {
      noteCall('search_docs', extra.mcpReq._meta);
      const limit = args.limit ?? LIMITS.defaultSearchResults;
      const pathPrefix = args.path_prefix === undefined ? '' : normalizePathPrefix(args.path_prefix, 'path_prefix');
      const outcome = await docsIndex.search(args.query, { limit, pathPrefix });
      const results = outcome.hits.map((hit) => toSearchHitView(hit, baseUrl));
      const scope = pathPrefix ? ` under "${pathPrefix}"` : '';
      const progress = docsIndex.progress();
      const indexing = progress.state === 'ready' ? undefined : progress;
      const lines =
        results.length === 0
          ? [`No section matches "${args.query}"${scope}. Try other words, fewer words, or list_documents to browse.`]
          : [
              `${results.length} of ${outcome.total} matching sections for "${args.query}"${scope}, best first:`,
              ...results.flatMap((r, i) => [
                '',
                `${i + 1}. ${trailText(r)} — ${r.uri} (lines ${r.start_line}-${r.end_line}, score ${r.score})`,
                ...(r.snippet ? [`   ${r.snippet}`] : []),
                ...(r.link ? [`   ${r.link}`] : []),
              ]),
            ];
      if (indexing) lines.push('', progressText(indexing));
      return toolSuccess(lines.join('\n'), { query: args.query, total: outcome.total, results, ...(indexing ? { indexing } : {}) });
    }),
  );

  server.registerTool(
    'list_documents',
    {
      title: 'List documents',
      description:
        'List the Markdown documents in the docs tree in path order, with their titles and section counts. ' +
        `Inputs: path_prefix (optional, e.g. "reference/"), limit (1-${LIMITS.listPage}, default ${LIMITS.defaultListPage}), cursor (next_cursor from the previous page). ` +
        'Returns one page of documents (path, title, sections, size, modification time, docs:// URI, web link when configured), the total matching, and next_cursor when more remain. ' +
        'Use to browse or to find a document path; use search_docs to find where a topic is covered.',
      inputSchema: {
        path_prefix: pathPrefixInput,
        limit: z.number().int().min(1).max(LIMITS.listPage).optional().describe(`Page size (default ${LIMITS.defaultListPage}, at most ${LIMITS.listPage}).`),
        cursor: z.string().max(4096).optional().describe('next_cursor from the previous page; omit for the first page.'),
      },
      outputSchema: z.object({
        documents: z.array(documentView),
        total: z.number().int().describe('Documents matching path_prefix, across all pages.'),
        next_cursor: z.string().optional().describe('Pass as cursor to get the next page; absent on the last page.'),
        indexing: indexingView.optional(),
      }),
      annotations: READ_ONLY,
    },
    guardTool(logger, 'list_documents', async (args, extra) => {
      noteCall('list_documents', extra.mcpReq._meta);
      const pathPrefix = args.path_prefix === undefined ? '' : normalizePathPrefix(args.path_prefix, 'path_prefix');
      const page = docsIndex.listDocuments({
        pathPrefix,
        limit: args.limit ?? LIMITS.defaultListPage,
        ...(args.cursor === undefined ? {} : { after: decodeCursor(args.cursor) }),
      });
      const documents = page.documents.map((d) => toDocumentView(d, baseUrl));
      const last = documents[documents.length - 1];
      const nextCursor = page.hasMore && last ? encodeCursor(last.path) : undefined;
      const stats = docsIndex.stats();
      const lines = [
        documents.length === 0
          ? `No documents${pathPrefix ? ` under "${pathPrefix}"` : ''}.`
          : `${documents.length} of ${page.total} documents${pathPrefix ? ` under "${pathPrefix}"` : ''}:`,
        ...documents.map((d) => `- ${d.path} — ${d.title} (${d.sections} sections)`),
        ...(nextCursor ? [`More remain: call again with cursor "${nextCursor}".`] : []),
        ...(stats.fileCapReached ? [`Note: the tree has more than ${stats.maxFiles} documents; the rest are not indexed (DOCS_MAX_FILES).`] : []),
      ];
      const progress = docsIndex.progress();
      const indexing = progress.state === 'ready' ? undefined : progress;
      if (indexing) lines.push(progressText(indexing));
      return toolSuccess(lines.join('\n'), {
        documents,
        total: page.total,
        ...(nextCursor ? { next_cursor: nextCursor } : {}),
        ...(indexing ? { indexing } : {}),
      });
    }),
  );

  server.registerTool(
    'get_document',
    {
      title: 'Get document',
      description:
        'Read one whole Markdown document and its outline (every heading with its anchor, level and line). ' +
        `Inputs: path (relative to the docs root, e.g. "guides/running.md"; only .md and .markdown files inside the root), max_chars (default ${LIMITS.defaultDocumentChars}, at most ${LIMITS.maxDocumentChars}; longer documents are cut at a line boundary and truncated is true). ` +
        'Returns the document text, title, line count, outline, docs:// URI and web link when configured. ' +
        'Use when you need a whole document; for one part of a long document, get_section is cheaper.',
      inputSchema: {
        path: pathInput,
        max_chars: z
          .number()
          .int()
          .min(1000)
          .max(LIMITS.maxDocumentChars)
          .optional()
          .describe(`Most characters of text to return (default ${LIMITS.defaultDocumentChars}).`),
      },
      outputSchema: z.object({
        document: documentView,
        line_count: z.number().int(),
        truncated: z.boolean().describe('True when the text was cut at max_chars.'),
        outline: z.array(outlineEntryView),
        content: z.string().describe('The Markdown text.'),
      }),
      annotations: READ_ONLY,
    },
    guardTool(logger, 'get_document', async (args, extra) => {
      noteCall('get_document', extra.mcpReq._meta);
      const relativePath = normalizeDocPath(args.path);
      const doc = await docsIndex.getDocument(relativePath);
      const { text, truncated } = truncateAtLine(doc.text, args.max_chars ?? LIMITS.defaultDocumentChars);
      const document = toDocumentView(doc.summary, baseUrl);
      const outline = doc.sections.map(toOutlineEntry);
      const header =
        `${document.path} — ${document.title} (${doc.lineCount} lines, ${outline.length} sections)` +
        (truncated ? `. Truncated at ${text.length} characters: read the rest with get_section using an anchor from the outline.` : '');
      return toolSuccess(`${header}\n\n${text}`, { document, line_count: doc.lineCount, truncated, outline, content: text });
    }),
  );

  server.registerTool(
    'get_section',
    {
      title: 'Get section',
      description:
        'Read one section of a document: the heading and its text, by default with its subsections (up to the next heading of the same or a higher level). ' +
        'Inputs: path (relative to the docs root), anchor (as returned by search_docs or the get_document outline, with or without "#"; the heading text itself also works; "" is the text before the first heading), ' +
        'include_subsections (default true; false returns only the text up to the next heading of any level). ' +
        'Returns the section text, its breadcrumbs and line range, its subsections, and its docs:// URI and web link when configured. ' +
        'An unknown anchor fails with the list of valid anchors. Use after search_docs to read a result in full.',
      inputSchema: {
        path: pathInput,
        anchor: z.string().max(512).describe('Section anchor, e.g. "install-with-npm".'),
        include_subsections: z.boolean().optional().describe('Include nested subsections (default true).'),
      },
      outputSchema: z.object({
        section: sectionView,
        subsections: z.array(outlineEntryView),
        content: z.string().describe('The Markdown text of the section.'),
      }),
      annotations: READ_ONLY,
    },
    guardTool(logger, 'get_section', async (args, extra) => {
      noteCall('get_section', extra.mcpReq._meta);
      const relativePath = normalizeDocPath(args.path);
      const found = await docsIndex.getSection(relativePath, args.anchor, args.include_subsections ?? true);
      const section = toSectionView(found.section, baseUrl);
      const subsections = found.subsections.map(toOutlineEntry);
      const header = `${trailText(section)} — ${sectionRef(section)} (lines ${section.start_line}-${section.end_line})${section.link ? `\n${section.link}` : ''}`;
      return toolSuccess(`${header}\n\n${found.text}`, { section, subsections, content: found.text });
    }),
  );
}
