import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/**
 * Field paths whose values are never written to a log line. Tokens, passwords and
 * authorization headers may appear in request metadata or configuration objects.
 */
export const REDACTED_LOG_PATHS = [
  'token',
  'accessToken',
  'refreshToken',
  'password',
  'secret',
  'authorization',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.password',
  '*.secret',
  '*.authorization',
  '*.Authorization',
  'headers.authorization',
  'req.headers.authorization',
  'env.GITHUB_TOKEN',
  'env.MANIFOLD_HTTP_BEARER_TOKEN',
];

const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function isLogLevel(value: string): value is LevelWithSilent {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

export interface LoggerOptions {
  /**
   * Write info and debug lines in batches, at most this many milliseconds after they are
   * logged (and synchronously on exit), instead of one write(2) per line: for a process that
   * logs every call. Warnings and errors still go out at once. Unset: every line at once.
   */
  flushIntervalMs?: number;
}

type SonicBoom = ReturnType<typeof pino.destination>;

/** pino's numeric level of `warn`. */
const WARN_LEVEL = 40;

/**
 * A batch goes to the file once it holds this many characters (or at the interval).
 * sonic-boom measures the buffer it appends to on every write it is given, so it is given
 * whole batches, not lines.
 */
const BATCH_CHARS = 16 * 1024;

/** A log file (or stderr) written in batches of lines; pino's destination interface. */
export interface BatchedDestination {
  /** One line (pino calls this per log line). */
  write(line: string): boolean;
  /** Hand what is collected to the file now; it is written as soon as the write in progress, if any, completes. */
  flushNow(): void;
  /** pino's `logger.flush(cb)`. */
  flush(cb?: (error?: Error) => void): void;
  /** Everything, synchronously (pino calls this for a fatal line). */
  flushSync(): void;
  /** Write what is left, then close the file. */
  close(): Promise<void>;
}

/** Batches still open, drained before pino's own exit handler flushes their files. */
const openBatches = new Set<LineBatches>();
let drainedOnExit = false;

function drainOpenBatches(): void {
  for (const batches of openBatches) batches.flushNow();
}

class LineBatches implements BatchedDestination {
  private lines: string[] = [];
  private chars = 0;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly file: SonicBoom,
    flushIntervalMs: number,
    private readonly batchChars: number,
  ) {
    if (flushIntervalMs > 0) {
      this.timer = setInterval(() => this.flushNow(), flushIntervalMs);
      this.timer.unref();
    }
    openBatches.add(this);
    if (!drainedOnExit) {
      drainedOnExit = true;
      // Before pino's handlers (registered by the first pino.destination), which flush the files.
      process.prependListener('beforeExit', drainOpenBatches);
      process.prependListener('exit', drainOpenBatches);
    }
  }

  write(line: string): boolean {
    this.lines.push(line);
    this.chars += line.length;
    if (this.chars >= this.batchChars) this.flushNow();
    return true;
  }

  flushNow(): void {
    if (this.lines.length === 0) return;
    const batch = this.lines.length === 1 ? this.lines[0]! : this.lines.join('');
    this.lines = [];
    this.chars = 0;
    this.file.write(batch);
  }

  flush(cb?: (error?: Error) => void): void {
    this.flushNow();
    this.file.flush(cb);
  }

  flushSync(): void {
    this.flushNow();
    this.file.flushSync();
  }

  close(): Promise<void> {
    this.flushNow();
    clearInterval(this.timer);
    openBatches.delete(this);
    return new Promise((resolve) => {
      this.file.once('close', () => resolve());
      this.file.once('error', () => resolve());
      this.file.end();
    });
  }
}

/**
 * Lines for `fd` collected and written in batches: once 16 KiB are collected or every
 * `flushIntervalMs` (0: each line at once), and synchronously when the process exits. The
 * writing is pino's sonic-boom (asynchronous, in order, retried on EAGAIN).
 */
export function batchedDestination(fd: number, flushIntervalMs: number): BatchedDestination {
  const file = pino.destination({ dest: fd, sync: false, minLength: 0 });
  return new LineBatches(file, flushIntervalMs, flushIntervalMs > 0 ? BATCH_CHARS : 0);
}

/**
 * A structured JSON logger that writes to stderr only: stdout is the stdio protocol
 * channel of every server, so a single stray byte there would corrupt the session.
 */
export function createLogger(name: string, level: LevelWithSilent = 'info', options: LoggerOptions = {}): Logger {
  const batched = options.flushIntervalMs !== undefined && options.flushIntervalMs > 0 ? batchedDestination(2, options.flushIntervalMs) : undefined;
  const destination = batched ?? pino.destination({ dest: 2, sync: true });
  return pino(
    {
      name,
      level,
      ...(batched
        ? {
            hooks: {
              logMethod(args, method, level) {
                method.apply(this, args);
                if (level >= WARN_LEVEL) batched.flushNow();
              },
            },
          }
        : {}),
      redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
