import { z } from 'zod';
import type { DocumentSummary, IndexProgress, SearchHit, SectionInfo } from './docsIndex.js';
import { documentUri, sectionUri, webLink } from './docsUris.js';

/** What the tools return, in the snake_case their inputs use (as the other Manifold servers do). */

export const sectionView = z.object({
  path: z.string().describe('Document path relative to the docs root.'),
  anchor: z.string().describe('GitHub-style anchor of the heading; "" for text before the first heading.'),
  title: z.string().describe('Heading text.'),
  breadcrumbs: z.array(z.string()).describe('Document title and enclosing headings, outermost first.'),
  level: z.number().int().describe('Heading level 1-6; 0 for text before the first heading.'),
  start_line: z.number().int().describe('First line (1-based).'),
  end_line: z.number().int().describe('Last line (inclusive).'),
  uri: z.string().describe('Resource URI of the section, docs://{path}#{anchor} (resources/read returns the section); the document URI when anchor is "".'),
  document_uri: z.string().describe('Resource URI of the whole document, docs://{path}.'),
  link: z.string().optional().describe('Web link to the section, when DOCS_BASE_URL is configured.'),
});
export type SectionView = z.infer<typeof sectionView>;

export const searchHitView = sectionView.extend({
  score: z
    .number()
    .min(0)
    .max(1)
    .describe(
      'Relevance from 0 to 1: the share of the query words the section holds, times its weighted BM25 strength squashed as raw/(raw+8). Absolute, so a floor can be applied (0.3 and up is a solid match).',
    ),
  snippet: z.string().describe('Text around the first matched word.'),
});
export type SearchHitView = z.infer<typeof searchHitView>;

export const outlineEntryView = z.object({
  anchor: z.string(),
  title: z.string(),
  level: z.number().int(),
  start_line: z.number().int(),
});
export type OutlineEntryView = z.infer<typeof outlineEntryView>;

export const documentView = z.object({
  path: z.string().describe('Document path relative to the docs root.'),
  title: z.string().describe('Front matter title, else the first level-1 heading, else the file name.'),
  sections: z.number().int().describe('Number of sections (headings, plus text before the first heading).'),
  size_bytes: z.number().int(),
  modified: z.string().describe('Last modification time (ISO 8601).'),
  uri: z.string().describe('docs:// resource URI.'),
  link: z.string().optional().describe('Web link, when DOCS_BASE_URL is configured.'),
});
export type DocumentView = z.infer<typeof documentView>;

export function toSectionView(section: SectionInfo, baseUrl: URL | undefined): SectionView {
  const link = webLink(baseUrl, section.path, section.anchor);
  return {
    path: section.path,
    anchor: section.anchor,
    title: section.title,
    breadcrumbs: section.breadcrumbs,
    level: section.level,
    start_line: section.startLine,
    end_line: section.endLine,
    uri: sectionUri(section.path, section.anchor),
    document_uri: documentUri(section.path),
    ...(link ? { link } : {}),
  };
}

export function toSearchHitView(hit: SearchHit, baseUrl: URL | undefined): SearchHitView {
  return { ...toSectionView(hit, baseUrl), score: hit.score, snippet: hit.snippet };
}

export function toOutlineEntry(section: SectionInfo): OutlineEntryView {
  return { anchor: section.anchor, title: section.title, level: section.level, start_line: section.startLine };
}

export function toDocumentView(doc: DocumentSummary, baseUrl: URL | undefined): DocumentView {
  const link = webLink(baseUrl, doc.path);
  return {
    path: doc.path,
    title: doc.title,
    sections: doc.sections,
    size_bytes: doc.sizeBytes,
    modified: doc.modified,
    uri: documentUri(doc.path),
    ...(link ? { link } : {}),
  };
}

/** "Title › Heading › Sub" for a section, as a reader would say where it is. */
export function trailText(section: SectionView): string {
  return [...section.breadcrumbs, section.title].filter((t) => t !== '').join(' › ');
}

/** "guides/running.md#ports" */
export function sectionRef(section: { path: string; anchor: string }): string {
  return section.anchor ? `${section.path}#${section.anchor}` : section.path;
}

/** How far the index is, in tool results, while the first build runs. */
export const indexingView = z
  .object({
    state: z.enum(['scanning', 'indexing', 'ready']),
    done: z.number().int().describe('Files checked and indexed so far.'),
    total: z.number().int().describe('Files found in the tree (while scanning: documents already indexed).'),
  })
  .describe('Present while the index is being built: results cover only the files indexed so far.');
export type IndexingView = z.infer<typeof indexingView>;

/** "Indexing 1,200 of 2,625 files: …", said alongside results while the index is built. */
export function progressText(progress: IndexProgress): string {
  const count = (n: number): string => n.toLocaleString('en-US');
  if (progress.state === 'scanning') {
    return `Scanning the docs tree for changes (${count(progress.total)} documents indexed so far): results may miss recent changes.`;
  }
  return `Indexing ${count(progress.done)} of ${count(progress.total)} files: results cover only the files indexed so far.`;
}
