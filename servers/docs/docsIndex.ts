import { createHash } from 'node:crypto';
import { promises as fs, type Dirent } from 'node:fs';
import path from 'node:path';
import { LRUCache } from 'lru-cache';
import MiniSearch, { type SearchResult } from 'minisearch';
import { DomainError, notFound } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { DocsRoot, isHiddenName, isMarkdownFile, isMissing, missingDocument } from './docsRoot.js';
import { githubSlug, parseMarkdown, splitLines, type MarkdownSection, type ParsedMarkdown } from './markdownSections.js';

/**
 * The searchable model of a docs tree: which documents exist, their sections, and a
 * MiniSearch index over those sections. One instance serves every MCP session of
 * the process. It knows nothing about MCP.
 *
 * Memory stays bounded for large trees: a file's text lives only while it is being
 * indexed (MiniSearch keeps terms, not text); what stays is per-section metadata.
 * Text for snippets and reads comes back from disk through a small, size-bounded cache.
 */

export interface DocsIndexOptions {
  root: DocsRoot;
  logger: Logger;
  /** Stop indexing after this many documents (a clear log line says so). */
  maxFiles: number;
  /** Skip documents larger than this many bytes (logged). */
  maxFileBytes: number;
  /** Bytes of parsed document text kept for snippets and reads. Default 32 MiB. */
  cacheBytes?: number;
}

export interface DocumentSummary {
  path: string;
  title: string;
  sections: number;
  sizeBytes: number;
  modified: string;
}

export interface SectionInfo {
  path: string;
  anchor: string;
  title: string;
  /** Enclosing headings, outermost first, starting with the document title. */
  breadcrumbs: string[];
  level: number;
  startLine: number;
  endLine: number;
}

export interface SearchHit extends SectionInfo {
  score: number;
  snippet: string;
}

export interface SearchOutcome {
  /** Sections that matched, before `limit` was applied. */
  total: number;
  hits: SearchHit[];
}

export interface DocsChange {
  added: string[];
  updated: string[];
  removed: string[];
}

export interface IndexStats {
  documents: number;
  sections: number;
  /** Documents over maxFileBytes, not indexed. */
  skippedTooLarge: number;
  /** True when maxFiles stopped the indexing of further documents. */
  fileCapReached: boolean;
  maxFiles: number;
  maxFileBytes: number;
}

interface IndexedDocument {
  path: string;
  title: string;
  sizeBytes: number;
  mtimeMs: number;
  hash: string;
  sectionIds: number[];
}

interface IndexedSection {
  id: number;
  path: string;
  anchor: string;
  title: string;
  level: number;
  trail: string[];
  startLine: number;
  endLine: number;
}

interface CachedDocument {
  mtimeMs: number;
  sizeBytes: number;
  text: string;
  parsed: ParsedMarkdown;
}

/** Fields of one indexed section, as handed to MiniSearch. */
interface SectionFields {
  id: number;
  /** The section's heading. */
  title: string;
  /** Where it sits: document title, enclosing headings and the file path's words. */
  context: string;
  /** The body under the heading. */
  text: string;
}

// Words too common to say anything about which section answers a question.
const STOP_WORDS = new Set(
  'a an and are as at be by can do does for from how i if in into is it its of on or so that the this to was what when where which who why will with you your'.split(' '),
);

/**
 * A deliberately light English suffix stripper, so "configure", "configuring",
 * "configured" and "configuration" meet, as do "limit" and "limits". It only
 * normalises terms (applied alike to documents and queries); ranking is MiniSearch's.
 */
export function stemTerm(term: string): string {
  if (term.length < 5 || /\d/.test(term)) return term;
  let stem = term;
  if (stem.endsWith('ations') || stem.endsWith('ation')) stem = stem.slice(0, stem.lastIndexOf('ation'));
  else if (stem.endsWith('ing')) stem = stem.slice(0, -3);
  else if (stem.endsWith('ies')) stem = `${stem.slice(0, -3)}y`;
  else if (stem.endsWith('ed')) stem = stem.slice(0, -2);
  else if (stem.endsWith('s') && !stem.endsWith('ss') && !stem.endsWith('us') && !stem.endsWith('is')) stem = stem.slice(0, -1);
  if (stem.length > 4 && stem.endsWith('e')) stem = stem.slice(0, -1);
  return stem.length >= 3 ? stem : term;
}

const SEARCH_OPTIONS = {
  // Heading text says what a section is about; the trail and path less so.
  boost: { title: 3, context: 1.5, text: 1 },
  // Modest prefix and typo tolerance: exact words dominate the ranking. Prefixes only
  // for the last word (the one a user may still be typing): expanding every word of a
  // long query to all its continuations costs much and adds little.
  prefix: (term: string, index: number, terms: string[]) => index === terms.length - 1 && term.length >= 3,
  fuzzy: (term: string) => (term.length >= 5 ? 0.2 : false),
  maxFuzzy: 2,
  weights: { prefix: 0.3, fuzzy: 0.15 },
  combineWith: 'OR' as const,
};

const READ_CONCURRENCY = 8;
const SNIPPET_CHARS = 240;

/** A copy of a string that does not keep the (much larger) string it was sliced from alive. */
function detach(value: string): string {
  return value.length < 13 ? value : Buffer.from(value, 'utf8').toString('utf8');
}

function fallbackTitle(relativePath: string): string {
  return path.posix.basename(relativePath).replace(/\.(md|markdown)$/i, '');
}

export class DocsIndex {
  readonly root: DocsRoot;
  private readonly logger: Logger;
  private readonly maxFiles: number;
  private readonly maxFileBytes: number;
  private readonly search_ = new MiniSearch<SectionFields>({
    fields: ['title', 'context', 'text'],
    storeFields: [],
    processTerm: (term) => {
      const lower = term.toLowerCase();
      return STOP_WORDS.has(lower) ? null : stemTerm(lower);
    },
    // Split on anything that is not a letter, number or mark, so "rate-limit", "foo.bar" and "snake_case" index their parts.
    tokenize: (text) => text.split(/[^\p{L}\p{N}\p{M}]+/u),
    searchOptions: SEARCH_OPTIONS,
  });
  private readonly documents = new Map<string, IndexedDocument>();
  private readonly sections = new Map<number, IndexedSection>();
  private readonly tooLarge = new Set<string>();
  private readonly cache: LRUCache<string, CachedDocument>;
  private readonly listeners = new Set<(change: DocsChange) => void>();
  private sortedPaths: string[] | undefined;
  private nextSectionId = 1;
  private fileCapReached = false;
  // Loads and refreshes run one at a time, in order.
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: DocsIndexOptions) {
    this.root = options.root;
    this.logger = options.logger;
    this.maxFiles = options.maxFiles;
    this.maxFileBytes = options.maxFileBytes;
    this.cache = new LRUCache<string, CachedDocument>({
      maxSize: options.cacheBytes ?? 32 * 1024 * 1024,
      sizeCalculation: (entry) => Math.max(1, entry.text.length * 2),
    });
  }

  /** Open a root and index it. */
  static async open(options: Omit<DocsIndexOptions, 'root'> & { rootPath: string }): Promise<DocsIndex> {
    const root = await DocsRoot.open(options.rootPath);
    const index = new DocsIndex({ ...options, root });
    await index.load();
    return index;
  }

  /** Listen for documents added, changed or removed by refresh(); returns the unsubscribe function. */
  onChange(listener: (change: DocsChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stats(): IndexStats {
    return {
      documents: this.documents.size,
      sections: this.sections.size,
      skippedTooLarge: this.tooLarge.size,
      fileCapReached: this.fileCapReached,
      maxFiles: this.maxFiles,
      maxFileBytes: this.maxFileBytes,
    };
  }

  has(relativePath: string): boolean {
    return this.documents.has(relativePath);
  }

  /** Every indexed document path, sorted. */
  paths(): readonly string[] {
    this.sortedPaths ??= [...this.documents.keys()].sort();
    return this.sortedPaths;
  }

  summary(relativePath: string): DocumentSummary | undefined {
    const doc = this.documents.get(relativePath);
    return doc && this.toSummary(doc);
  }

  // ---- loading -------------------------------------------------------------

  /** Index the whole tree (replacing nothing: call once, on an empty index). */
  load(): Promise<IndexStats> {
    return this.serial(async () => {
      const started = performance.now();
      const files = this.walk('');
      const worker = async (): Promise<void> => {
        for (;;) {
          const next = await files.next();
          if (next.done) return;
          await this.indexFile(next.value, 'initial');
        }
      };
      await Promise.all(Array.from({ length: READ_CONCURRENCY }, worker));
      const stats = this.stats();
      this.logger.info(
        { documents: stats.documents, sections: stats.sections, skippedTooLarge: stats.skippedTooLarge, ms: Math.round(performance.now() - started) },
        'indexed docs',
      );
      return stats;
    });
  }

  /**
   * Walk a folder (relative to the root) for Markdown files in a stable order.
   * Hidden entries and node_modules are skipped; symbolic links to files inside the
   * root are followed, links out of it are skipped with a warning, and linked folders
   * are not descended (they could loop). Stops at maxFiles.
   */
  private async *walk(relativeDir: string): AsyncGenerator<string> {
    let entries: Dirent[];
    try {
      entries = await fs.readdir(this.root.absoluteOf(relativeDir), { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (isHiddenName(entry.name)) continue;
      const relative = relativeDir === '' ? entry.name : `${relativeDir}/${entry.name}`;
      if (entry.isDirectory()) {
        yield* this.walk(relative);
      } else if ((entry.isFile() || entry.isSymbolicLink()) && isMarkdownFile(entry.name)) {
        if (this.documents.size >= this.maxFiles && !this.documents.has(relative)) {
          this.noteFileCap(relative);
          return;
        }
        yield relative;
      }
      if (this.fileCapReached) return;
    }
  }

  private noteFileCap(relativePath: string): void {
    if (this.fileCapReached) return;
    this.fileCapReached = true;
    this.logger.warn(
      { maxFiles: this.maxFiles, firstSkipped: relativePath },
      `DOCS_MAX_FILES (${this.maxFiles}) reached: further Markdown files are not indexed. Raise DOCS_MAX_FILES or point DOCS_ROOT at a smaller tree.`,
    );
  }

  /**
   * (Re)index one file. Returns what happened to it. The file is read once, split,
   * handed to MiniSearch, and dropped; only metadata is kept.
   */
  private async indexFile(relativePath: string, reason: 'initial' | 'refresh'): Promise<'added' | 'updated' | 'removed' | 'unchanged'> {
    const existing = this.documents.get(relativePath);
    let real: string | undefined;
    try {
      real = await this.root.resolve(relativePath);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      this.logger.warn({ path: relativePath }, 'skipping a symbolic link that resolves outside the docs root');
      real = undefined;
    }
    const stat = real === undefined ? undefined : await fs.stat(real).catch(() => undefined);
    if (real === undefined || !stat?.isFile()) {
      return existing ? (this.drop(relativePath), 'removed') : 'unchanged';
    }
    if (stat.size > this.maxFileBytes) {
      if (!this.tooLarge.has(relativePath)) {
        this.logger.warn(
          { path: relativePath, sizeBytes: stat.size, maxFileBytes: this.maxFileBytes },
          'skipping a document above DOCS_MAX_FILE_BYTES',
        );
      }
      this.tooLarge.add(relativePath);
      return existing ? (this.drop(relativePath), 'removed') : 'unchanged';
    }
    this.tooLarge.delete(relativePath);
    if (!existing && this.documents.size >= this.maxFiles) {
      this.noteFileCap(relativePath);
      return 'unchanged';
    }
    let text: string;
    try {
      text = await fs.readFile(real, 'utf8');
    } catch (error) {
      if (isMissing(error)) return existing ? (this.drop(relativePath), 'removed') : 'unchanged';
      throw error;
    }
    const hash = createHash('sha1').update(text).digest('base64');
    if (existing && existing.hash === hash) return 'unchanged';
    if (existing) this.drop(relativePath);

    const parsed = parseMarkdown(text);
    const title = detach(parsed.title || fallbackTitle(relativePath));
    const doc: IndexedDocument = { path: relativePath, title, sizeBytes: stat.size, mtimeMs: stat.mtimeMs, hash, sectionIds: [] };
    const pathTerms = relativePath.replace(/\.(md|markdown)$/i, '');
    const fields: SectionFields[] = [];
    for (const section of parsed.sections) {
      const id = this.nextSectionId++;
      const sectionTitle = section.level === 0 ? title : detach(section.title);
      const trail = section.level === 0 ? [] : section.trail.map(detach);
      this.sections.set(id, {
        id,
        path: relativePath,
        anchor: detach(section.anchor),
        title: sectionTitle,
        level: section.level,
        trail,
        startLine: section.startLine,
        endLine: section.endLine,
      });
      doc.sectionIds.push(id);
      fields.push({ id, title: sectionTitle, context: `${[title, ...trail].join(' ')} ${pathTerms}`, text: bodyOf(section) });
    }
    this.search_.addAll(fields);
    this.documents.set(relativePath, doc);
    this.sortedPaths = undefined;
    this.cache.delete(relativePath);
    if (reason === 'refresh') this.logger.debug({ path: relativePath, sections: doc.sectionIds.length }, existing ? 're-indexed document' : 'indexed new document');
    return existing ? 'updated' : 'added';
  }

  private drop(relativePath: string): void {
    const doc = this.documents.get(relativePath);
    if (!doc) return;
    for (const id of doc.sectionIds) {
      // discard() needs only the id (remove() would need the original text, which is not kept).
      this.search_.discard(id);
      this.sections.delete(id);
    }
    this.documents.delete(relativePath);
    this.sortedPaths = undefined;
    this.cache.delete(relativePath);
  }

  // ---- incremental updates ---------------------------------------------------

  /**
   * Bring the given paths (files or folders, relative to the root) up to date with
   * the disk: changed files are re-indexed, new ones added, missing ones dropped, a
   * missing folder drops everything under it and a new folder is walked. Listeners
   * hear about the net change.
   */
  refresh(relativePaths: Iterable<string>): Promise<DocsChange> {
    const requested = [...new Set(relativePaths)];
    return this.serial(async () => {
      const change: DocsChange = { added: [], updated: [], removed: [] };
      const record = (relative: string, outcome: 'added' | 'updated' | 'removed' | 'unchanged'): void => {
        if (outcome !== 'unchanged') change[outcome].push(relative);
      };
      for (const relative of requested) {
        if (relative.split('/').some(isHiddenName)) continue;
        const stat = await fs.lstat(this.root.absoluteOf(relative)).catch(() => undefined);
        if (stat?.isDirectory()) {
          for await (const file of this.walk(relative)) record(file, await this.indexFile(file, 'refresh'));
        } else if (isMarkdownFile(relative)) {
          record(relative, await this.indexFile(relative, 'refresh'));
        }
        if (!stat) {
          // A removed folder: drop every document under it.
          const prefix = `${relative}/`;
          for (const known of [...this.documents.keys()]) {
            if (known.startsWith(prefix)) {
              this.drop(known);
              change.removed.push(known);
            }
          }
        }
      }
      if (change.added.length + change.updated.length + change.removed.length > 0) {
        this.logger.info(
          { added: change.added.length, updated: change.updated.length, removed: change.removed.length },
          're-indexed changed docs',
        );
        for (const listener of this.listeners) {
          try {
            listener(change);
          } catch (error) {
            this.logger.error({ err: error }, 'docs change listener failed');
          }
        }
      }
      return change;
    });
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  // ---- queries ---------------------------------------------------------------

  /** Ranked sections for a query, best first, each with a snippet around the matched words. */
  async search(query: string, options: { limit: number; pathPrefix?: string }): Promise<SearchOutcome> {
    const prefix = options.pathPrefix ?? '';
    const results: SearchResult[] = this.search_.search(query, {
      ...(prefix === '' ? {} : { filter: (result: SearchResult) => this.sections.get(result.id as number)?.path.startsWith(prefix) ?? false }),
    });
    const hits: SearchHit[] = [];
    for (const result of results.slice(0, options.limit)) {
      const section = this.sections.get(result.id as number);
      if (!section) continue;
      const snippet = await this.snippetFor(section, result.terms, query).catch(() => '');
      hits.push({ ...this.toSectionInfo(section), score: Math.round(result.score * 1000) / 1000, snippet });
    }
    return { total: results.length, hits };
  }

  /** Documents in path order, optionally under a prefix, one page at a time (`after` = last path of the previous page). */
  listDocuments(options: { pathPrefix?: string; after?: string; limit: number }): { documents: DocumentSummary[]; total: number; hasMore: boolean } {
    const prefix = options.pathPrefix ?? '';
    const matching = prefix === '' ? this.paths() : this.paths().filter((p) => p.startsWith(prefix));
    let start = 0;
    if (options.after !== undefined) {
      // First path after the cursor: stable even when documents were added or removed meanwhile.
      const after = options.after;
      start = matching.findIndex((p) => p > after);
      if (start < 0) start = matching.length;
    }
    const page = matching.slice(start, start + options.limit);
    return {
      documents: page.flatMap((p) => {
        const doc = this.documents.get(p);
        return doc ? [this.toSummary(doc)] : [];
      }),
      total: matching.length,
      hasMore: start + page.length < matching.length,
    };
  }

  /** A whole document: its text and its outline. */
  async getDocument(relativePath: string): Promise<{ summary: DocumentSummary; text: string; lineCount: number; sections: SectionInfo[] }> {
    const doc = await this.requireDocument(relativePath);
    const cached = await this.readParsed(relativePath);
    return {
      summary: { ...this.toSummary(doc), sizeBytes: cached.sizeBytes },
      text: cached.text,
      lineCount: cached.parsed.lineCount,
      sections: cached.parsed.sections.map((s) => this.infoFromParsed(relativePath, doc.title, s)),
    };
  }

  /**
   * One section by anchor. The anchor may be given with or without "#", and a heading's
   * text is accepted too (it is slugged). With includeSubsections the text runs to the
   * next heading of the same or a higher level.
   */
  async getSection(
    relativePath: string,
    anchor: string,
    includeSubsections: boolean,
  ): Promise<{ section: SectionInfo; text: string; subsections: SectionInfo[] }> {
    const doc = await this.requireDocument(relativePath);
    const { parsed } = await this.readParsed(relativePath);
    const wanted = anchor.trim().replace(/^#/, '');
    let index = parsed.sections.findIndex((s) => s.anchor === wanted);
    if (index < 0) index = parsed.sections.findIndex((s) => s.anchor === wanted.toLowerCase());
    if (index < 0 && wanted !== '') index = parsed.sections.findIndex((s) => s.anchor === githubSlug(wanted));
    const section = parsed.sections[index];
    if (!section) {
      const anchors = parsed.sections.filter((s) => s.level > 0).map((s) => s.anchor);
      const shown = anchors.slice(0, 40).join(', ');
      throw notFound(
        `No section "#${wanted}" in "${relativePath}". Its anchors are: ${shown || '(none: the document has no headings)'}${anchors.length > 40 ? `, and ${anchors.length - 40} more` : ''}.`,
        'Pass one of them, or call get_document for the outline.',
      );
    }
    let end = index + 1;
    if (includeSubsections && section.level > 0) {
      while (end < parsed.sections.length && (parsed.sections[end]?.level ?? 0) > section.level) end++;
    }
    const parts = parsed.sections.slice(index, end);
    const last = parts[parts.length - 1] ?? section;
    return {
      section: { ...this.infoFromParsed(relativePath, doc.title, section), endLine: last.endLine },
      text: parts.map((s) => s.text).join('\n'),
      subsections: parts.slice(1).map((s) => this.infoFromParsed(relativePath, doc.title, s)),
    };
  }

  /** Path prefix completion for resource URIs: prefix matches first, then substring matches. */
  completePaths(partial: string, max = 100): string[] {
    const needle = partial.toLowerCase();
    const starts: string[] = [];
    const contains: string[] = [];
    for (const p of this.paths()) {
      const lower = p.toLowerCase();
      if (lower.startsWith(needle)) starts.push(p);
      else if (needle !== '' && lower.includes(needle)) contains.push(p);
      if (starts.length >= max) break;
    }
    return [...starts, ...contains].slice(0, max);
  }

  // ---- helpers ---------------------------------------------------------------

  private async requireDocument(relativePath: string): Promise<IndexedDocument> {
    const doc = this.documents.get(relativePath);
    if (doc) return doc;
    // Not indexed: say why when we can (link out of the root, too large), else not found.
    await this.root.resolve(relativePath);
    if (this.tooLarge.has(relativePath)) {
      throw new DomainError('unsupported', `Document "${relativePath}" is larger than ${this.maxFileBytes} bytes and is not served.`, {
        action: 'Raise DOCS_MAX_FILE_BYTES to include it.',
      });
    }
    throw missingDocument(relativePath);
  }

  /** The document's current text and sections, from the cache when the file has not changed. */
  private async readParsed(relativePath: string): Promise<CachedDocument> {
    const real = await this.root.resolve(relativePath);
    if (real === undefined) throw missingDocument(relativePath);
    const stat = await fs.stat(real).catch(() => undefined);
    const cached = this.cache.get(relativePath);
    if (cached && stat && cached.mtimeMs === stat.mtimeMs && cached.sizeBytes === stat.size) return cached;
    const file = await this.root.read(relativePath, this.maxFileBytes);
    const entry: CachedDocument = { mtimeMs: file.mtimeMs, sizeBytes: file.sizeBytes, text: file.text, parsed: parseMarkdown(file.text) };
    this.cache.set(relativePath, entry);
    return entry;
  }

  private async snippetFor(section: IndexedSection, matchedTerms: readonly string[], query: string): Promise<string> {
    const { parsed } = await this.readParsed(section.path);
    const current = parsed.sections.find((s) => s.anchor === section.anchor);
    if (!current) return '';
    return buildSnippet(bodyOf(current), matchedTerms.length > 0 ? matchedTerms : query.toLowerCase().split(/\s+/));
  }

  private toSummary(doc: IndexedDocument): DocumentSummary {
    return {
      path: doc.path,
      title: doc.title,
      sections: doc.sectionIds.length,
      sizeBytes: doc.sizeBytes,
      modified: new Date(doc.mtimeMs).toISOString(),
    };
  }

  private toSectionInfo(section: IndexedSection): SectionInfo {
    const docTitle = this.documents.get(section.path)?.title ?? fallbackTitle(section.path);
    return {
      path: section.path,
      anchor: section.anchor,
      title: section.title,
      breadcrumbs: section.level === 0 ? [] : [docTitle, ...section.trail.filter((t, i) => !(i === 0 && t === docTitle))],
      level: section.level,
      startLine: section.startLine,
      endLine: section.endLine,
    };
  }

  private infoFromParsed(relativePath: string, docTitle: string, section: MarkdownSection): SectionInfo {
    return {
      path: relativePath,
      anchor: section.anchor,
      title: section.level === 0 ? docTitle : section.title,
      breadcrumbs: section.level === 0 ? [] : [docTitle, ...section.trail.filter((t, i) => !(i === 0 && t === docTitle))],
      level: section.level,
      startLine: section.startLine,
      endLine: section.endLine,
    };
  }
}

/** A section's text without its heading line(s). */
function bodyOf(section: MarkdownSection): string {
  if (section.headingLines === 0) return section.text;
  return splitLines(section.text).slice(section.headingLines).join('\n');
}

/** About SNIPPET_CHARS of text around the first matched word, whitespace collapsed. */
export function buildSnippet(body: string, terms: readonly string[]): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  if (flat.length <= SNIPPET_CHARS) return flat;
  const lower = flat.toLowerCase();
  let at = -1;
  for (const term of terms) {
    if (term.length < 2) continue;
    const found = lower.indexOf(term.toLowerCase());
    if (found >= 0 && (at < 0 || found < at)) at = found;
  }
  let start = at < 0 ? 0 : Math.max(0, at - Math.floor(SNIPPET_CHARS / 3));
  if (start > 0) {
    const space = flat.indexOf(' ', start);
    start = space >= 0 && space < at ? space + 1 : start;
  }
  let end = Math.min(flat.length, start + SNIPPET_CHARS);
  if (end < flat.length) {
    const space = flat.lastIndexOf(' ', end);
    if (space > start + SNIPPET_CHARS / 2) end = space;
  }
  return `${start > 0 ? '…' : ''}${flat.slice(start, end)}${end < flat.length ? '…' : ''}`;
}
