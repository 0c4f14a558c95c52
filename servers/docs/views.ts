import { z } from 'zod';
import type { DocumentSummary, SearchHit, SectionInfo } from './docsIndex.js';
import { documentUri, webLink } from './docsUris.js';

/** What the tools return, in the snake_case their inputs use (as the other Manifold servers do). */

export const sectionView = z.object({
  path: z.string().describe('Document path relative to the docs root.'),
  anchor: z.string().describe('GitHub-style anchor of the heading; "" for text before the first heading.'),
  title: z.string().describe('Heading text.'),
  breadcrumbs: z.array(z.string()).describe('Document title and enclosing headings, outermost first.'),
  level: z.number().int().describe('Heading level 1-6; 0 for text before the first heading.'),
  start_line: z.number().int().describe('First line (1-based).'),
  end_line: z.number().int().describe('Last line (inclusive).'),
  uri: z.string().describe('docs:// resource URI of the document.'),
  link: z.string().optional().describe('Web link to the section, when DOCS_BASE_URL is configured.'),
});
export type SectionView = z.infer<typeof sectionView>;

export const searchHitView = sectionView.extend({
  score: z.number().describe('Relevance (BM25); only meaningful relative to the other results.'),
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
    uri: documentUri(section.path),
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
