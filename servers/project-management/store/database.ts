import { mkdirSync } from 'node:fs';
import { privateFile } from '../../../shared/privateData.js';
import { dirname } from 'node:path';
import SQLite from '../../../shared/sqlite.js';
import { Kysely, Migrator, SqliteDialect, type SqliteDatabase } from 'kysely';
import { LRUCache } from 'lru-cache';
import pg from 'pg';
import type { Logger } from '../../../shared/logger.js';
import { ConnectionFailureDialect, loggedAvailability } from './connectionFailures.js';
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

/** Open the database, apply pending migrations, and return the query layer; `logger` hears of PostgreSQL outages. */
export async function openDatabase(target: DatabaseTarget, options: { logger?: Logger } = {}): Promise<OpenedDatabase> {
  const opened = target.kind === 'postgres' ? openPostgres(target.url, options.logger) : openSqlite(target.file);
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

/** How long a call waits for a connection before it is told the database is unavailable. */
const CONNECT_TIMEOUT_MS = 5_000;

function openPostgres(url: string, logger: Logger | undefined): OpenedDatabase {
  const location = redactUrl(url);
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, keepAlive: true });
  // An idle connection the server closed (a restart, a failover) is dropped by the pool and
  // reported here; without a listener, pg's 'error' event would end the process.
  pool.on('error', (error) =>
    logger?.warn(
      { database: location, err: { message: error.message, code: (error as { code?: unknown }).code } },
      'database connection lost; the pool opens a new one on the next call',
    ),
  );
  const availability = logger ? loggedAvailability(logger, location) : { unavailable: () => undefined, available: () => undefined };
  const db = new Kysely<Database>({ dialect: new ConnectionFailureDialect({ pool }, availability) });
  return { db, dialect: 'postgres', location, close: () => db.destroy() };
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
