import { mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from '../../shared/sqlite.js';
import { privateFile } from '../../shared/privateData.js';

/**
 * The persistent half of the docs index: one SQLite file (or an in-memory database) holding
 * every indexed document (path, size, mtime, content hash), its sections (anchor, heading,
 * breadcrumbs, lines) and an FTS5 full-text index over the sections, ranked with BM25.
 *
 * FTS5 columns, in order, and their BM25 weights: the section's heading (10), its context
 * (document title, enclosing headings and the path's words, 3), the code it quotes (inline code
 * and fenced blocks, 4) and its body text (1). The tokenizer is `porter unicode61`: Porter
 * stemming over Unicode word splitting, so "limits", "limiting" and "limit" meet, and
 * "rate-limit", "DOCS_MAX_FILES" and "foo.bar" index their parts.
 *
 * Synchronous (better-sqlite3); callers keep each call short (see DocsIndex's batches).
 */

/** Bumped whenever the schema, tokenizer or weights change: an older file is rebuilt from scratch. */
const SCHEMA_VERSION = '1';

export const COLUMN_WEIGHTS = { title: 10, context: 3, code: 4, body: 1 } as const;

export interface StoredDocument {
  path: string;
  title: string;
  sizeBytes: number;
  mtimeMs: number;
  hash: string;
  sections: number;
}

export interface StoredSection {
  id: number;
  path: string;
  anchor: string;
  title: string;
  level: number;
  trail: string[];
  startLine: number;
  endLine: number;
}

/** A section as handed to the store: where it is, and the four texts FTS5 indexes. */
export interface SectionRecord extends Omit<StoredSection, 'id' | 'path'> {
  context: string;
  code: string;
  body: string;
}

export interface RankedRow {
  id: number;
  /** FTS5 rank: BM25 with the column weights, negative, lower is better. */
  rank: number;
}

interface SectionRow {
  id: number;
  path: string;
  anchor: string;
  title: string;
  level: number;
  trail: string;
  start_line: number;
  end_line: number;
}

interface DocumentRow {
  path: string;
  title: string;
  size_bytes: number;
  mtime_ms: number;
  hash: string;
  sections: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS documents (
  path TEXT PRIMARY KEY, title TEXT NOT NULL, size_bytes INTEGER NOT NULL, mtime_ms REAL NOT NULL,
  hash TEXT NOT NULL, sections INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sections (
  id INTEGER PRIMARY KEY, path TEXT NOT NULL, anchor TEXT NOT NULL, title TEXT NOT NULL, level INTEGER NOT NULL,
  trail TEXT NOT NULL, start_line INTEGER NOT NULL, end_line INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sections_by_path ON sections (path, anchor);
CREATE VIRTUAL TABLE IF NOT EXISTS sections_fts USING fts5 (title, context, code, body, tokenize = 'porter unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE IF NOT EXISTS sections_vocab USING fts5vocab (sections_fts, 'row');
`;

function fromSectionRow(row: SectionRow): StoredSection {
  return {
    id: row.id,
    path: row.path,
    anchor: row.anchor,
    title: row.title,
    level: row.level,
    trail: JSON.parse(row.trail) as string[],
    startLine: row.start_line,
    endLine: row.end_line,
  };
}

function fromDocumentRow(row: DocumentRow): StoredDocument {
  return { path: row.path, title: row.title, sizeBytes: row.size_bytes, mtimeMs: row.mtime_ms, hash: row.hash, sections: row.sections };
}

export class SectionStore {
  private readonly db: SQLite.Database;
  private readonly statements: ReturnType<SectionStore['prepare']>;
  /** Where the index lives, for logs: a file path or ":memory:". */
  readonly location: string;

  private constructor(db: SQLite.Database, location: string) {
    this.db = db;
    this.location = location;
    this.statements = this.prepare();
  }

  /**
   * Open (creating when missing) the index file. A file of another schema version, or one
   * SQLite cannot read, is deleted and started afresh: it only ever holds derived data.
   */
  static open(file: string): SectionStore {
    if (file === ':memory:') return SectionStore.init(new SQLite(':memory:'), file);
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    try {
      return SectionStore.init(new SQLite(file), file);
    } catch {
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
      return SectionStore.init(new SQLite(file), file);
    }
  }

  private static init(db: SQLite.Database, location: string): SectionStore {
    try {
      if (location !== ':memory:') {
        privateFile(location, ['-wal', '-shm']);
        // WAL: searches read while a batch is written; NORMAL: the index is derived data.
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
      }
      db.pragma('busy_timeout = 5000');
      db.pragma('cache_size = -16384');
      const version = SectionStore.schemaVersion(db);
      if (version !== undefined && version !== SCHEMA_VERSION) {
        db.exec(
          'DROP TABLE IF EXISTS sections_vocab; DROP TABLE IF EXISTS sections_fts; DROP TABLE IF EXISTS sections; DROP TABLE IF EXISTS documents; DROP TABLE IF EXISTS meta;',
        );
      }
      db.exec(SCHEMA);
      if (version !== SCHEMA_VERSION) {
        const weights = [COLUMN_WEIGHTS.title, COLUMN_WEIGHTS.context, COLUMN_WEIGHTS.code, COLUMN_WEIGHTS.body].map((w) => w.toFixed(1)).join(', ');
        db.prepare("INSERT INTO sections_fts (sections_fts, rank) VALUES ('rank', ?)").run(`bm25(${weights})`);
        db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)").run(SCHEMA_VERSION);
      }
      return new SectionStore(db, location);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  private static schemaVersion(db: SQLite.Database): string | undefined {
    const table = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
    if (!table) return undefined;
    const row = db.prepare("SELECT value FROM meta WHERE key = 'schema'").get() as { value: string } | undefined;
    return row?.value ?? '0';
  }

  private prepare() {
    const db = this.db;
    return {
      allDocuments: db.prepare('SELECT path, title, size_bytes, mtime_ms, hash, sections FROM documents'),
      document: db.prepare('SELECT path, title, size_bytes, mtime_ms, hash, sections FROM documents WHERE path = ?'),
      paths: db.prepare('SELECT path FROM documents ORDER BY path').pluck(),
      counts: db.prepare('SELECT (SELECT count(*) FROM documents) AS documents, (SELECT count(*) FROM sections) AS sections'),
      // One rowid at a time: FTS5 answers `rowid = ?` by a seek, but scans the whole table for `rowid IN (SELECT …)`.
      sectionIds: db.prepare('SELECT id FROM sections WHERE path = ?').pluck(),
      deleteFts: db.prepare('DELETE FROM sections_fts WHERE rowid = ?'),
      deleteSections: db.prepare('DELETE FROM sections WHERE path = ?'),
      deleteDocument: db.prepare('DELETE FROM documents WHERE path = ?'),
      insertDocument: db.prepare('INSERT INTO documents (path, title, size_bytes, mtime_ms, hash, sections) VALUES (?, ?, ?, ?, ?, ?)'),
      touchDocument: db.prepare('UPDATE documents SET size_bytes = ?, mtime_ms = ? WHERE path = ?'),
      insertSection: db.prepare('INSERT INTO sections (path, anchor, title, level, trail, start_line, end_line) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      insertFts: db.prepare('INSERT INTO sections_fts (rowid, title, context, code, body) VALUES (?, ?, ?, ?, ?)'),
      section: db.prepare('SELECT id, path, anchor, title, level, trail, start_line, end_line FROM sections WHERE id = ?'),
      ranked: db.prepare('SELECT rowid AS id, rank FROM sections_fts WHERE sections_fts MATCH ? ORDER BY rank LIMIT ?'),
      rankedUnder: db.prepare(
        'SELECT f.rowid AS id, f.rank AS rank FROM sections_fts f JOIN sections s ON s.id = f.rowid WHERE f.sections_fts MATCH ? AND substr(s.path, 1, ?) = ? ORDER BY f.rank LIMIT ?',
      ),
      countUpTo: db.prepare('SELECT count(*) FROM (SELECT 1 FROM sections_fts WHERE sections_fts MATCH ? LIMIT ?)').pluck(),
      countUpToUnder: db
        .prepare(
          'SELECT count(*) FROM (SELECT 1 FROM sections_fts f JOIN sections s ON s.id = f.rowid WHERE f.sections_fts MATCH ? AND substr(s.path, 1, ?) = ? LIMIT ?)',
        )
        .pluck(),
      firstMatches: db.prepare('SELECT rowid FROM sections_fts WHERE sections_fts MATCH ? LIMIT ?').pluck(),
      firstMatchesUnder: db
        .prepare('SELECT f.rowid FROM sections_fts f JOIN sections s ON s.id = f.rowid WHERE f.sections_fts MATCH ? AND substr(s.path, 1, ?) = ? LIMIT ?')
        .pluck(),
      anyMatch: db.prepare('SELECT 1 FROM sections_fts WHERE sections_fts MATCH ? LIMIT 1').pluck(),
      body: db.prepare('SELECT body FROM sections_fts WHERE rowid = ?').pluck(),
      texts: db.prepare('SELECT title, context, code, body FROM sections_fts WHERE rowid = ?'),
      vocabRange: db.prepare('SELECT term FROM sections_vocab WHERE term >= ? AND term < ?').pluck(),
    };
  }

  /**
   * Run `work` in one transaction (a batch of writes commits together, or not at all). It takes
   * the write lock first (BEGIN IMMEDIATE): another process on the same index file (two stdio
   * servers on one tree) is then waited for (busy_timeout), where a transaction that began as a
   * reader would fail with "database is locked" when it tried to write.
   */
  transaction<T>(work: () => T): T {
    return this.db.transaction(work).immediate();
  }

  allDocuments(): StoredDocument[] {
    return (this.statements.allDocuments.all() as DocumentRow[]).map(fromDocumentRow);
  }

  document(path: string): StoredDocument | undefined {
    const row = this.statements.document.get(path) as DocumentRow | undefined;
    return row && fromDocumentRow(row);
  }

  paths(): string[] {
    return this.statements.paths.all() as string[];
  }

  counts(): { documents: number; sections: number } {
    return this.statements.counts.get() as { documents: number; sections: number };
  }

  /** Remove a document and its sections; true when it was there. */
  deleteDocument(path: string): boolean {
    for (const id of this.statements.sectionIds.all(path) as number[]) this.statements.deleteFts.run(id);
    this.statements.deleteSections.run(path);
    return this.statements.deleteDocument.run(path).changes > 0;
  }

  /** Replace a document and its sections (call inside a transaction). */
  putDocument(doc: Omit<StoredDocument, 'sections'>, sections: readonly SectionRecord[]): void {
    this.deleteDocument(doc.path);
    this.statements.insertDocument.run(doc.path, doc.title, doc.sizeBytes, doc.mtimeMs, doc.hash, sections.length);
    for (const s of sections) {
      const id = this.statements.insertSection.run(doc.path, s.anchor, s.title, s.level, JSON.stringify(s.trail), s.startLine, s.endLine).lastInsertRowid;
      this.statements.insertFts.run(id, s.title, s.context, s.code, s.body);
    }
  }

  /** Record a new size and mtime for a document whose content did not change. */
  touchDocument(path: string, sizeBytes: number, mtimeMs: number): void {
    this.statements.touchDocument.run(sizeBytes, mtimeMs, path);
  }

  section(id: number): StoredSection | undefined {
    const row = this.statements.section.get(id) as SectionRow | undefined;
    return row && fromSectionRow(row);
  }

  /** The best `limit` sections for an FTS5 query, optionally only under a path prefix. */
  ranked(match: string, limit: number, pathPrefix = ''): RankedRow[] {
    if (pathPrefix === '') return this.statements.ranked.all(match, limit) as RankedRow[];
    return this.statements.rankedUnder.all(match, pathPrefix.length, pathPrefix, limit) as RankedRow[];
  }

  /** Sections matching, counted up to `max` (counting stops there: common words match most of a large tree). */
  countUpTo(match: string, max: number, pathPrefix = ''): number {
    if (pathPrefix === '') return this.statements.countUpTo.get(match, max) as number;
    return this.statements.countUpToUnder.get(match, pathPrefix.length, pathPrefix, max) as number;
  }

  /** The first `limit` matching sections in index order, unranked. */
  firstMatches(match: string, limit: number, pathPrefix = ''): number[] {
    if (pathPrefix === '') return this.statements.firstMatches.all(match, limit) as number[];
    return this.statements.firstMatchesUnder.all(match, pathPrefix.length, pathPrefix, limit) as number[];
  }

  /** A section's four indexed texts. */
  texts(id: number): { title: string; context: string; code: string; body: string } | undefined {
    return this.statements.texts.get(id) as { title: string; context: string; code: string; body: string } | undefined;
  }

  /** A section's body text, as indexed. */
  body(id: number): string {
    return (this.statements.body.get(id) as string | undefined) ?? '';
  }

  /** True when any section matches. */
  anyMatch(match: string): boolean {
    return this.statements.anyMatch.get(match) !== undefined;
  }

  /** Indexed terms (Porter stems) starting with `start`, in order. */
  termsStartingWith(start: string): string[] {
    const last = start.codePointAt(start.length - 1) ?? 0;
    const next = `${start.slice(0, -1)}${String.fromCodePoint(last + 1)}`;
    return this.statements.vocabRange.all(start, next) as string[];
  }

  /** Merge FTS5's index segments a step at a time; false once nothing is left to merge. */
  mergeStep(pages: number): boolean {
    const before = this.db.prepare('SELECT total_changes()').pluck().get() as number;
    this.db.prepare("INSERT INTO sections_fts (sections_fts, rank) VALUES ('merge', ?)").run(pages);
    const after = this.db.prepare('SELECT total_changes()').pluck().get() as number;
    return after - before >= 2;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
