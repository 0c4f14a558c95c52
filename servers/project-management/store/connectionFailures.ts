import {
  PostgresDialect,
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type PostgresDialectConfig,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import { DomainError } from '../../../shared/errors.js';
import type { Logger } from '../../../shared/logger.js';

/** Node socket errors that mean the server cannot be reached. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN']);
/** SQLSTATEs of a server that is going away or not accepting connections yet (PostgreSQL appendix A). */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300']);
/** What pg says when a connection is lost or cannot be made in time. */
const LOST_CONNECTION = /^Connection terminated|is not queryable|timeout exceeded when trying to connect|Connection refused/i;

/** Is `error` the database being unreachable (rather than a query at fault)? */
export function isConnectionFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || UNAVAILABLE_STATES.has(code) || code.startsWith('08'))) return true;
  if (error instanceof AggregateError && error.errors.some(isConnectionFailure)) return true;
  return LOST_CONNECTION.test(error.message);
}

const RETRY = 'Retry in a moment; nothing was changed.';

export const databaseUnavailable = (cause: unknown): DomainError =>
  new DomainError('unavailable', 'The project database is unavailable.', { action: RETRY, cause });

/**
 * The connection was lost while COMMIT was on its way: PostgreSQL may or may not have applied
 * it, and only reading back can tell. Said plainly rather than "nothing was changed".
 */
const commitUnknown = (cause: unknown): DomainError =>
  new DomainError('unavailable', 'The connection to the project database was lost while the change was being saved; it may or may not have been saved.', {
    action: 'Check with list_tasks or get_task_details once the database answers again, then retry if it is missing.',
    cause,
  });

/** Told when the database stops answering and when it answers again (each once per outage). */
export interface DatabaseAvailability {
  unavailable(error: unknown): void;
  available(): void;
}

/** Logs an outage once at `warn` and its end at `info`. */
export function loggedAvailability(logger: Logger, location: string): DatabaseAvailability {
  return {
    unavailable: (error) =>
      logger.warn(
        { database: location, err: { message: (error as Error).message, code: (error as { code?: unknown }).code } },
        'database unavailable: calls answer "retry in a moment" until it is back',
      ),
    available: () => logger.info({ database: location }, 'database available again'),
  };
}

/**
 * PostgreSQL through pg's pool, where a lost or refused connection is a DomainError
 * `unavailable` ("retry in a moment") instead of an internal error. Every statement of a change
 * runs in one transaction, so a change refused this way left nothing behind (PostgreSQL rolls
 * back a transaction whose connection is gone); the one case that cannot be known — the
 * connection lost during COMMIT — says so. The pool drops broken connections and opens new
 * ones on demand, so service resumes by itself when the server is back.
 */
export class ConnectionFailureDialect extends PostgresDialect {
  constructor(
    config: PostgresDialectConfig,
    private readonly availability: DatabaseAvailability,
  ) {
    super(config);
  }

  override createDriver(): Driver {
    return new ConnectionFailureDriver(super.createDriver(), this.availability);
  }
}

class WatchedConnection implements DatabaseConnection {
  constructor(
    readonly inner: DatabaseConnection,
    private readonly translate: <T>(work: () => Promise<T>) => Promise<T>,
  ) {}

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return this.translate(() => this.inner.executeQuery<R>(query));
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

class ConnectionFailureDriver implements Driver {
  private down = false;

  constructor(
    private readonly inner: Driver,
    private readonly availability: DatabaseAvailability,
  ) {}

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await this.translate(() => this.inner.acquireConnection());
    return new WatchedConnection(connection, (work) => this.translate(work));
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.translate(() => this.inner.beginTransaction(unwrap(connection), settings));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await this.translate(() => this.inner.commitTransaction(unwrap(connection)));
    } catch (error) {
      throw error instanceof DomainError && error.code === 'unavailable' ? commitUnknown(error.cause) : error;
    }
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.translate(() => this.inner.rollbackTransaction(unwrap(connection)));
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection(unwrap(connection));
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }

  private async translate<T>(work: () => Promise<T>): Promise<T> {
    try {
      const result = await work();
      if (this.down) {
        this.down = false;
        this.availability.available();
      }
      return result;
    } catch (error) {
      if (error instanceof DomainError || !isConnectionFailure(error)) throw error;
      if (!this.down) {
        this.down = true;
        this.availability.unavailable(error);
      }
      throw databaseUnavailable(error);
    }
  }
}

function unwrap(connection: DatabaseConnection): DatabaseConnection {
  return connection instanceof WatchedConnection ? connection.inner : connection;
}
