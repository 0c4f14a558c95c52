import { mkdirSync } from 'node:fs';
import { privateFile } from '../../../shared/privateData.js';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type SqliteDatabase } from 'kysely';
import { LRUCache } from 'lru-cache';
import pg from 'pg';
import { migrationsFor } from './migrations.js';
import type { Database, SqlDialectName } from './schema.js';

export interface OpenedDatabase {
  db: Kysely<Database>;
  dialect: SqlDialectName;
  /** Where the data lives, without credentials, for logs. */
  location: string;
  close(): Promise<void>;
}

export type DatabaseTarget = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };

/** Open the database, apply pending migrations, and return the query layer. */
export async function openDatabase(target: DatabaseTarget): Promise<OpenedDatabase> {
  const opened = target.kind === 'postgres' ? openPostgres(target.url) : openSqlite(target.file);
  const migrator = new Migrator({ db: opened.db, provider: migrationsFor(opened.dialect) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    await opened.close();
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`Database migration ${failed} failed on ${opened.location}: ${(error as Error).message}`, { cause: error });
  }
  return opened;
}

function openSqlite(file: string): OpenedDatabase {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const sqlite = new SQLite(file);
  if (file !== ':memory:') privateFile(file, ['-wal', '-shm']);
  // WAL lets readers run beside the writer; NORMAL sync is durable across process
  // crashes (a committed transaction is in the WAL before commit returns).
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  return { db, dialect: 'sqlite', location: file, close: () => db.destroy() };
}

/** Distinct statements kept prepared: the store issues a few dozen shapes of query. */
const PREPARED_STATEMENTS = 256;

/**
 * Kysely prepares every query again; SQLite's prepare (parse and plan) was about a tenth of a
 * list_tasks call. The store's queries come in a few dozen shapes, so each shape is prepared
 * once and reused (better-sqlite3 runs statements synchronously, one at a time).
 */
function withStatementCache(sqlite: SQLite.Database): SqliteDatabase {
  const statements = new LRUCache<string, SQLite.Statement>({ max: PREPARED_STATEMENTS });
  return {
    close: () => sqlite.close(),
    prepare: (sql) => {
      let statement = statements.get(sql);
      if (!statement) {
        statement = sqlite.prepare(sql);
        statements.set(sql, statement);
      }
      return statement;
    },
  };
}

function openPostgres(url: string): OpenedDatabase {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: 'postgres', location: redactUrl(url), close: () => db.destroy() };
}

/** A database URL with its password removed, safe for logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable database URL)';
  }
}
