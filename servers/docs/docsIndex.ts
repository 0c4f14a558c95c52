import { createHash } from 'node:crypto';
import { promises as fs, type Dirent } from 'node:fs';
import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { LRUCache } from 'lru-cache';
import { DomainError, notFound } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { DocsRoot, isHiddenName, isMarkdownFile, isMissing, missingDocument } from './docsRoot.js';
import { githubSlug, parseMarkdown, splitLines, type MarkdownSection, type ParsedMarkdown } from './markdownSections.js';
import { editDistance, identifierForms, matchExpression, parseQuery, termExpression, typoBudget, type QueryTerm } from './searchQuery.js';
import { coverageOf } from './termCoverage.js';
import { SectionStore, type SectionRecord, type StoredDocument, type StoredSection } from './sectionStore.js';

/**
 * The searchable model of a docs tree: which documents exist, their sections, and a full-text
 * index over those sections (SQLite FTS5, BM25; see sectionStore.ts). One instance serves every
 * MCP session of the process. It knows nothing about MCP.
 *
 * The index is persistent: a restart re-reads only files whose size or mtime changed, re-indexes
 * only those whose content hash changed, and drops the ones that are gone. The first build runs
 * in the background, in short synchronous slices, so the process answers at once; meanwhile
 * searches see what is indexed so far and `progress()` says how far it got.
 */

export interface DocsIndexOptions {
  root: DocsRoot;
  logger: Logger;
  /** Stop indexing after this many documents (a clear log line says so). */
  maxFiles: number;
  /** Skip documents larger than this many bytes (logged). */
  maxFileBytes: number;
  /** The SQLite file that holds the index; ":memory:" (the default) keeps it in memory only. */
  indexFile?: string;
  /** Bytes of parsed document text kept for reads. Default 32 MiB. */
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
  /** Relevance from 0 to 1 (see scoreOf). */
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

/** What one load did: documents added, re-indexed, dropped, and left alone (not re-read, or re-read with the same content). */
export interface LoadReport extends IndexStats {
  added: number;
  updated: number;
  removed: number;
  /** Same size and mtime as indexed: not read at all. */
  unchanged: number;
  /** Size or mtime changed but the content hash did not: read, not re-indexed. */
  sameContent: number;
  ms: number;
}

/** How far the index is: `scanning` the tree, `indexing` file `done` of `total`, or `ready`. */
export interface IndexProgress {
  state: 'scanning' | 'indexing' | 'ready';
  done: number;
  total: number;
}

interface CachedDocument {
  mtimeMs: number;
  sizeBytes: number;
  text: string;
  parsed: ParsedMarkdown;
}

/** What reading one file found, before anything is written. */
type FileOutcome =
  | { kind: 'gone'; path: string }
  | { kind: 'unchanged'; path: string }
  | { kind: 'touched'; path: string; sizeBytes: number; mtimeMs: number }
  | { kind: 'changed'; path: string; doc: Omit<StoredDocument, 'sections'>; sections: SectionRecord[] };

/** How often a running build logs how far it is. */
const PROGRESS_LOG_MS = 2_000;

/** Files read at once while indexing. */
const READ_BATCH = 32;
/** Longest stretch of synchronous index writing before the event loop gets a turn (each commit flushes FTS5 segments: much shorter slices cost a third more CPU). */
const SLICE_MS = 40;
/** Candidates re-scored per search, at least (more when the limit is higher). */
const RESCORED_CANDIDATES = 20;
/** Most sections BM25 ranks for one query: words found in more sections are not ranked by (see search). */
const RANKED_ROWS = 2000;
/** For a query of common words only: sections looked at (heading matches, then any). */
const COMMON_CANDIDATES = 100;
/** The strength a query of common words only gets in place of BM25's (see scoreOf). */
const COMMON_WORDS_STRENGTH = 0.25;
/** `total` counts matching sections up to this many. */
const MAX_COUNTED = 1000;
const SNIPPET_CHARS = 240;
/**
 * The BM25 sum at which a section's strength is one half (see scoreOf). A heading that holds a
 * query word scores about 10× a body match (the column weights), so a section whose heading
 * matches lands above 0.5 and one that only mentions the word in passing well below.
 */
const HALF_STRENGTH_BM25 = 8;

/**
 * The score of a hit, from 0 to 1: the query's coverage — the mean over its words (or quoted
 * phrases) of 1 when the section's heading holds the word, 0.8 when only its breadcrumbs, file
 * name or quoted code do, 0.6 when only its body text does, 0 when it lacks it — times its BM25
 * strength squashed into 0..1 as raw / (raw + 8) (raw = minus FTS5's weighted BM25). Absolute,
 * not relative to the other hits, so a caller can keep only results above a floor.
 */
export function scoreOf(coverage: number, bm25: number): number {
  return coverage * bm25Strength(bm25);
}

/** FTS5's (negative) weighted BM25 squashed into 0..1: raw / (raw + 8). */
function bm25Strength(bm25: number): number {
  const raw = Math.max(0, -bm25);
  return raw / (raw + HALF_STRENGTH_BM25);
}

function fallbackTitle(relativePath: string): string {
  return path.posix.basename(relativePath).replace(/\.(md|markdown)$/i, '');
}

export class DocsIndex {
  readonly root: DocsRoot;
  private readonly logger: Logger;
  private readonly maxFiles: number;
  private readonly maxFileBytes: number;
  private readonly store: SectionStore;
  private readonly tooLarge = new Set<string>();
  private readonly cache: LRUCache<string, CachedDocument>;
  private readonly listeners = new Set<(change: DocsChange) => void>();
  private sortedPaths: string[] | undefined;
  /**
   * What this process knows of each indexed file. Changes are detected against it, not against
   * the file, so two processes sharing one index file each notice (and announce) every change.
   */
  private readonly known: Map<string, Omit<StoredDocument, 'title' | 'sections' | 'path'>>;
  private fileCapReached = false;
  private progressNow: IndexProgress;
  // Loads and refreshes run one at a time, in order.
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: DocsIndexOptions) {
    this.root = options.root;
    this.logger = options.logger;
    this.maxFiles = options.maxFiles;
    this.maxFileBytes = options.maxFileBytes;
    this.store = SectionStore.open(options.indexFile ?? ':memory:');
    this.known = new Map(this.store.allDocuments().map((doc) => [doc.path, { sizeBytes: doc.sizeBytes, mtimeMs: doc.mtimeMs, hash: doc.hash }]));
    // A persisted index is searchable before the tree is checked again.
    this.progressNow = { state: 'scanning', done: 0, total: this.known.size };
    this.cache = new LRUCache<string, CachedDocument>({
      maxSize: options.cacheBytes ?? 32 * 1024 * 1024,
      sizeCalculation: (entry) => Math.max(1, entry.text.length * 2),
    });
  }

  /** Open a root and index it (resolves when the index is complete). */
  static async open(options: Omit<DocsIndexOptions, 'root'> & { rootPath: string }): Promise<DocsIndex> {
    const root = await DocsRoot.open(options.rootPath);
    const index = new DocsIndex({ ...options, root });
    await index.load();
    return index;
  }

  /** Where the index is kept, for logs. */
  get location(): string {
    return this.store.location;
  }

  /** Listen for documents added, changed or removed by refresh() or a load; returns the unsubscribe function. */
  onChange(listener: (change: DocsChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stats(): IndexStats {
    const counts = this.store.counts();
    return {
      documents: counts.documents,
      sections: counts.sections,
      skippedTooLarge: this.tooLarge.size,
      fileCapReached: this.fileCapReached,
      maxFiles: this.maxFiles,
      maxFileBytes: this.maxFileBytes,
    };
  }

  /** How far the first (or a re-started) build is. */
  progress(): IndexProgress {
    return { ...this.progressNow };
  }

  has(relativePath: string): boolean {
    return this.known.has(relativePath);
  }

  /** Every indexed document path, sorted. */
  paths(): readonly string[] {
    this.sortedPaths ??= this.store.paths();
    return this.sortedPaths;
  }

  summary(relativePath: string): DocumentSummary | undefined {
    const doc = this.store.document(relativePath);
    return doc && toSummary(doc);
  }

  close(): void {
    this.store.close();
  }

  // ---- loading -------------------------------------------------------------

  private progressLoggedAt = 0;

  /**
   * A log line at most every PROGRESS_LOG_MS while a build runs ("indexing 1,200 of 2,625
   * files"): supervisors (the gateway's readiness) show it, and it tells them the process is
   * alive and making progress.
   */
  private logProgress(): void {
    const now = Date.now();
    if (now - this.progressLoggedAt < PROGRESS_LOG_MS || this.progressNow.state !== 'indexing') return;
    this.progressLoggedAt = now;
    const { done, total } = this.progressNow;
    this.logger.info({ done, total }, `indexing ${done.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} files`);
  }

  /**
   * Bring the whole index in line with the tree: walk it, re-read files whose size or mtime
   * changed, re-index those whose content changed, drop documents that are gone. Listeners hear
   * about the net change. Searches keep working throughout, on what is indexed so far.
   * `alsoAwait` (the watcher's first scan) must settle before the index reports itself ready.
   */
  load(options: { alsoAwait?: Promise<unknown> } = {}): Promise<LoadReport> {
    return this.serial(async () => {
      const started = performance.now();
      this.progressNow = { state: 'scanning', done: 0, total: this.known.size };
      const files: string[] = [];
      for await (const file of this.walk('', () => files.length)) files.push(file);
      this.progressNow = { state: 'indexing', done: 0, total: files.length };

      const change: DocsChange = { added: [], updated: [], removed: [] };
      let unchanged = 0;
      let sameContent = 0;
      for (let at = 0; at < files.length; at += READ_BATCH) {
        const batch = files.slice(at, at + READ_BATCH);
        const outcomes = await Promise.all(batch.map((file) => this.readFile(file, this.known.get(file))));
        await this.applyInSlices(outcomes, change);
        unchanged += outcomes.filter((o) => o.kind === 'unchanged').length;
        sameContent += outcomes.filter((o) => o.kind === 'touched').length;
        this.progressNow = { state: 'indexing', done: Math.min(files.length, at + batch.length), total: files.length };
        this.logProgress();
      }
      const present = new Set(files);
      const gone = [...this.known.keys()].filter((known) => !present.has(known));
      await this.applyInSlices(
        gone.map((p) => ({ kind: 'gone', path: p })),
        change,
      );
      if (change.added.length + change.updated.length > 0) await this.mergeSegments();
      // "ready" also means kept up to date: the watcher's first scan is done too.
      await options.alsoAwait?.catch(() => undefined);
      this.progressNow = { state: 'ready', done: files.length, total: files.length };
      const report: LoadReport = {
        ...this.stats(),
        added: change.added.length,
        updated: change.updated.length,
        removed: change.removed.length,
        unchanged,
        sameContent,
        ms: Math.round(performance.now() - started),
      };
      this.logger.info(report, 'indexed docs');
      this.announce(change);
      return report;
    });
  }

  /** Write outcomes in transactions of at most SLICE_MS each, giving the event loop a turn between them. */
  private async applyInSlices(outcomes: readonly FileOutcome[], change: DocsChange): Promise<void> {
    let next = 0;
    while (next < outcomes.length) {
      const sliceStart = performance.now();
      this.store.transaction(() => {
        do {
          const outcome = outcomes[next++];
          if (outcome) this.apply(outcome, change);
        } while (next < outcomes.length && performance.now() - sliceStart < SLICE_MS);
      });
      this.sortedPaths = undefined;
      await nextTurn();
    }
  }

  /** Write one file's outcome (inside a transaction) and note it in `change`. */
  private apply(outcome: FileOutcome, change: DocsChange): void {
    const known = this.known.get(outcome.path);
    switch (outcome.kind) {
      case 'unchanged':
        return;
      case 'touched':
        this.store.touchDocument(outcome.path, outcome.sizeBytes, outcome.mtimeMs);
        if (known) this.known.set(outcome.path, { ...known, sizeBytes: outcome.sizeBytes, mtimeMs: outcome.mtimeMs });
        return;
      case 'gone':
        this.store.deleteDocument(outcome.path);
        if (known) {
          this.known.delete(outcome.path);
          change.removed.push(outcome.path);
        }
        this.cache.delete(outcome.path);
        return;
      case 'changed':
        this.store.putDocument(outcome.doc, outcome.sections);
        this.known.set(outcome.path, { sizeBytes: outcome.doc.sizeBytes, mtimeMs: outcome.doc.mtimeMs, hash: outcome.doc.hash });
        (known ? change.updated : change.added).push(outcome.path);
        this.cache.delete(outcome.path);
    }
  }

  /** After a build, merge FTS5's index segments a little at a time (fewer segments, faster searches). */
  private async mergeSegments(): Promise<void> {
    for (let step = 0; step < 10_000; step++) {
      const sliceStart = performance.now();
      let more = true;
      while (more && performance.now() - sliceStart < SLICE_MS) more = this.store.mergeStep(16);
      if (!more) return;
      await nextTurn();
    }
  }

  private announce(change: DocsChange): void {
    if (change.added.length + change.updated.length + change.removed.length === 0) return;
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (error) {
        this.logger.error({ err: error }, 'docs change listener failed');
      }
    }
  }

  /**
   * Walk a folder (relative to the root) for Markdown files in a stable order.
   * Hidden entries and node_modules are skipped; symbolic links to files are yielded (readFile
   * refuses those that lead out of the root), and linked folders are not descended (they could
   * loop). Stops once `count()` plus the documents outside this walk reach maxFiles.
   */
  private async *walk(relativeDir: string, count: () => number, alreadyIndexed = 0): AsyncGenerator<string> {
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
        yield* this.walk(relative, count, alreadyIndexed);
      } else if ((entry.isFile() || entry.isSymbolicLink()) && isMarkdownFile(entry.name)) {
        if (count() + alreadyIndexed >= this.maxFiles) {
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
   * Read one file and work out what its index entry needs: nothing (same size and mtime, or the
   * same content), a drop (gone, too large, a link out of the root), or new sections.
   */
  private async readFile(relativePath: string, existing: { sizeBytes: number; mtimeMs: number; hash: string } | undefined): Promise<FileOutcome> {
    let real: string | undefined;
    try {
      real = await this.root.resolve(relativePath);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      this.logger.warn({ path: relativePath }, 'skipping a symbolic link that resolves outside the docs root');
      real = undefined;
    }
    const stat = real === undefined ? undefined : await fs.stat(real).catch(() => undefined);
    if (real === undefined || !stat?.isFile()) return { kind: 'gone', path: relativePath };
    if (stat.size > this.maxFileBytes) {
      if (!this.tooLarge.has(relativePath)) {
        this.logger.warn({ path: relativePath, sizeBytes: stat.size, maxFileBytes: this.maxFileBytes }, 'skipping a document above DOCS_MAX_FILE_BYTES');
      }
      this.tooLarge.add(relativePath);
      return { kind: 'gone', path: relativePath };
    }
    this.tooLarge.delete(relativePath);
    if (existing && existing.sizeBytes === stat.size && existing.mtimeMs === stat.mtimeMs) return { kind: 'unchanged', path: relativePath };
    let text: string;
    try {
      text = await fs.readFile(real, 'utf8');
    } catch (error) {
      if (isMissing(error)) return { kind: 'gone', path: relativePath };
      throw error;
    }
    const hash = createHash('sha1').update(text).digest('base64');
    if (existing && existing.hash === hash) return { kind: 'touched', path: relativePath, sizeBytes: stat.size, mtimeMs: stat.mtimeMs };
    const parsed = parseMarkdown(text);
    const title = parsed.title || fallbackTitle(relativePath);
    return {
      kind: 'changed',
      path: relativePath,
      doc: { path: relativePath, title, sizeBytes: stat.size, mtimeMs: stat.mtimeMs, hash },
      sections: sectionRecords(relativePath, title, parsed),
    };
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
      const update = async (relative: string): Promise<void> => {
        const existing = this.known.get(relative);
        if (!existing && this.known.size >= this.maxFiles) {
          this.noteFileCap(relative);
          return;
        }
        const outcome = await this.readFile(relative, existing);
        this.store.transaction(() => this.apply(outcome, change));
        this.sortedPaths = undefined;
      };
      for (const relative of requested) {
        if (relative.split('/').some(isHiddenName)) continue;
        const stat = await fs.lstat(this.root.absoluteOf(relative)).catch(() => undefined);
        if (stat?.isDirectory()) {
          let walked = 0;
          for await (const file of this.walk(relative, () => walked, this.known.size)) {
            walked++;
            await update(file);
          }
        } else if (isMarkdownFile(relative)) {
          await update(relative);
        }
        if (!stat) {
          // A removed folder: drop every document under it.
          const prefix = `${relative}/`;
          const under = [...this.known.keys()].filter((known) => known.startsWith(prefix));
          this.store.transaction(() => {
            for (const known of under) this.apply({ kind: 'gone', path: known }, change);
          });
          this.sortedPaths = undefined;
        }
      }
      if (change.added.length + change.updated.length + change.removed.length > 0) {
        this.logger.info({ added: change.added.length, updated: change.updated.length, removed: change.removed.length }, 're-indexed changed docs');
      }
      this.announce(change);
      return change;
    });
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  // ---- queries ---------------------------------------------------------------

  /** Ranked sections for a query, best first, each with a 0..1 score and a snippet around the matched words. */
  async search(query: string, options: { limit: number; pathPrefix?: string }): Promise<SearchOutcome> {
    const parsed = parseQuery(query);
    if (!parsed) return { total: 0, hits: [] };
    const prefix = options.pathPrefix ?? '';
    const terms = this.correctTypos(this.prefixOnlyWhenNeeded(parsed.terms));
    const termMatches = terms.map(termExpression);
    const match = matchExpression(terms);
    const wanted = Math.max(options.limit, RESCORED_CANDIDATES);

    // BM25 reads every section a word is in: words in more than RANKED_ROWS sections are left
    // out of the ranking (they barely tell sections apart: BM25 gives them little weight), and
    // still count towards coverage. A phrase costs what its words cost.
    const sectionsWith = (word: string): number => this.store.countUpTo(`"${word}"`, RANKED_ROWS + 1);
    const frequency = terms.map((term, i) => ({
      term: termMatches[i] ?? '',
      sections: term.prefix ? this.store.countUpTo(termMatches[i] ?? '', RANKED_ROWS + 1) : term.parts.reduce((sum, part) => sum + sectionsWith(part), 0),
    }));
    frequency.sort((a, b) => a.sections - b.sections);
    const ranked: string[] = [];
    let rows = 0;
    for (const { term, sections } of frequency) {
      if (rows + sections > RANKED_ROWS) break;
      ranked.push(term);
      rows += sections;
    }
    let candidates: Array<{ id: number; rank: number; strength: number }>;
    if (ranked.length > 0) {
      candidates = this.store.ranked(ranked.join(' OR '), wanted, prefix).map((row) => ({ ...row, strength: bm25Strength(row.rank) }));
    } else {
      // Only common words: the first sections that hold them, in index order, without BM25 (coverage orders them).
      const ids = this.store.firstMatches(match, COMMON_CANDIDATES, prefix);
      candidates = [...ids].map((id) => ({ id, rank: 0, strength: COMMON_WORDS_STRENGTH }));
    }
    if (candidates.length === 0) return { total: 0, hits: [] };
    const scored = candidates.map((candidate) => {
      const texts = this.store.texts(candidate.id);
      return { ...candidate, score: (texts ? coverageOf(terms, texts) : 0) * candidate.strength };
    });
    scored.sort((a, b) => b.score - a.score || a.rank - b.rank);
    const total = this.store.countUpTo(match, MAX_COUNTED, prefix);
    const words = [...new Set(terms.flatMap((t) => t.parts))];
    const hits: SearchHit[] = [];
    for (const candidate of scored.slice(0, options.limit)) {
      const section = this.store.section(candidate.id);
      if (!section) continue;
      hits.push({
        ...this.toSectionInfo(section),
        score: Math.round(candidate.score * 1000) / 1000,
        snippet: buildSnippet(this.store.body(candidate.id), words),
      });
    }
    return { total, hits };
  }

  /**
   * The last word matches as a prefix only when it is not a word of the index as typed (the
   * user is still typing it): prefixes are costly to match, and a whole word needs none.
   */
  private prefixOnlyWhenNeeded(terms: readonly QueryTerm[]): QueryTerm[] {
    return terms.map((term) => (term.prefix && this.store.anyMatch(termExpression({ ...term, prefix: false })) ? { ...term, prefix: false } : term));
  }

  /**
   * A word that matches nothing is replaced by the closest indexed term (same first two letters, three
   * from six letters on, one
   * edit for words up to 6 letters, two for longer ones), preferring the most common; phrases
   * are left alone.
   */
  private correctTypos(terms: readonly QueryTerm[]): QueryTerm[] {
    return terms.map((term) => {
      const word = term.parts[0] ?? '';
      const budget = typoBudget(word);
      if (term.parts.length !== 1 || budget === 0 || this.store.anyMatch(termExpression(term))) return term;
      let nearest: string[] = [];
      let nearestDistance = budget + 1;
      for (const candidate of this.store.termsStartingWith(word.slice(0, word.length >= 6 ? 3 : 2))) {
        const distance = editDistance(word, candidate, budget);
        if (distance < nearestDistance) {
          nearest = [candidate];
          nearestDistance = distance;
        } else if (distance === nearestDistance && distance <= budget) {
          nearest.push(candidate);
        }
      }
      // Of equally near words, the most common (counted up to MAX_COUNTED).
      const counted = nearest.slice(0, 10).map((candidate) => ({ candidate, sections: this.store.countUpTo(`"${candidate}"`, MAX_COUNTED) }));
      counted.sort((a, b) => b.sections - a.sections);
      const best = counted[0]?.candidate;
      return best === undefined ? term : { parts: [best], prefix: false };
    });
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
        const doc = this.store.document(p);
        return doc ? [toSummary(doc)] : [];
      }),
      total: matching.length,
      hasMore: start + page.length < matching.length,
    };
  }

  /** A whole document: its text and its outline. */
  async getDocument(relativePath: string): Promise<{ summary: DocumentSummary; text: string; lineCount: number; sections: SectionInfo[] }> {
    const doc = await this.requireDocument(relativePath);
    const cached = await this.readParsed(relativePath);
    const title = doc?.title ?? cached.parsed.title ?? fallbackTitle(relativePath);
    return {
      summary: doc
        ? { ...toSummary(doc), sizeBytes: cached.sizeBytes }
        : { path: relativePath, title, sections: cached.parsed.sections.length, sizeBytes: cached.sizeBytes, modified: new Date(cached.mtimeMs).toISOString() },
      text: cached.text,
      lineCount: cached.parsed.lineCount,
      sections: cached.parsed.sections.map((s) => infoFromParsed(relativePath, title, s)),
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
    const title = doc?.title ?? parsed.title ?? fallbackTitle(relativePath);
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
      section: { ...infoFromParsed(relativePath, title, section), endLine: last.endLine },
      text: parts.map((s) => s.text).join('\n'),
      subsections: parts.slice(1).map((s) => infoFromParsed(relativePath, title, s)),
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

  /**
   * The indexed document, or undefined for a Markdown file that exists but is not indexed yet
   * (the first build is still running); otherwise an error that says why it is not served.
   */
  private async requireDocument(relativePath: string): Promise<StoredDocument | undefined> {
    const doc = this.store.document(relativePath);
    if (doc) return doc;
    // Not indexed: say why when we can (link out of the root, too large), else not found.
    const real = await this.root.resolve(relativePath);
    if (this.tooLarge.has(relativePath)) {
      throw new DomainError('unsupported', `Document "${relativePath}" is larger than ${this.maxFileBytes} bytes and is not served.`, {
        action: 'Raise DOCS_MAX_FILE_BYTES to include it.',
      });
    }
    if (real !== undefined && this.progressNow.state !== 'ready' && !relativePath.split('/').some(isHiddenName)) return undefined;
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

  private toSectionInfo(section: StoredSection): SectionInfo {
    const docTitle = this.store.document(section.path)?.title ?? fallbackTitle(section.path);
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
}

function toSummary(doc: StoredDocument): DocumentSummary {
  return { path: doc.path, title: doc.title, sections: doc.sections, sizeBytes: doc.sizeBytes, modified: new Date(doc.mtimeMs).toISOString() };
}

function infoFromParsed(relativePath: string, docTitle: string, section: MarkdownSection): SectionInfo {
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

/** The rows FTS5 indexes for a parsed document: heading, context, quoted code and body per section. */
function sectionRecords(relativePath: string, title: string, parsed: ParsedMarkdown): SectionRecord[] {
  // The file's own name says what it is about; folder names ("guides", "configuration") mostly do not.
  const pathWords = path.posix.basename(relativePath).replace(/\.(md|markdown)$/i, '');
  return parsed.sections.map((section) => {
    const trail = section.level === 0 ? [] : section.trail;
    const body = bodyOf(section);
    return {
      anchor: section.anchor,
      title: section.level === 0 ? title : section.title,
      level: section.level,
      trail,
      startLine: section.startLine,
      endLine: section.endLine,
      context: `${[title, ...trail.filter((t, i) => !(i === 0 && t === title))].join(' ')} ${pathWords}`,
      code: codeOf(body),
      body,
    };
  });
}

/** A section's text without its heading line(s). */
function bodyOf(section: MarkdownSection): string {
  if (section.headingLines === 0) return section.text;
  return splitLines(section.text).slice(section.headingLines).join('\n');
}

/** The code a section quotes: inline code spans and the lines of fenced blocks. */
export function codeOf(body: string): string {
  const code: string[] = [];
  let fence: string | undefined;
  for (const line of splitLines(body)) {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence !== undefined) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker) fence = undefined;
      else code.push(line);
      continue;
    }
    if (marker) {
      fence = marker;
      continue;
    }
    for (const span of line.matchAll(/(`+)([^`]+?)\1/g)) code.push(span[2] ?? '');
  }
  // Identifiers also as whole words: `DOCS_MAX_FILES` as "docsmaxfiles", `ttlMs` as "ttl ms".
  const identifiers = new Set(code.join(' ').match(/[\p{L}\p{N}]+(?:[._-][\p{L}\p{N}]+)+|\p{Ll}+\p{Lu}[\p{L}\p{N}]*/gu) ?? []);
  return [...code, ...[...identifiers].flatMap(identifierForms)].join('\n');
}

/** About SNIPPET_CHARS of text around the first query word found (by its start), whitespace collapsed. */
export function buildSnippet(body: string, words: readonly string[]): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  if (flat.length <= SNIPPET_CHARS) return flat;
  const lower = flat.toLowerCase();
  let at = -1;
  for (const word of words) {
    // The word's first letters: "limits" also finds "limit" and "limiting".
    const stem = word.length > 5 ? word.slice(0, word.length - 2) : word;
    const found = lower.indexOf(stem.toLowerCase());
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
