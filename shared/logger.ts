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

type Destination = ReturnType<typeof pino.destination>;

/** pino's numeric level of `warn`. */
const WARN_LEVEL = 40;

/** Batches are written once this much is buffered, before the interval is up. */
const BUFFER_BYTES = 8 * 1024;

export interface BatchedDestination {
  destination: Destination;
  /**
   * Write what is buffered now. sonic-boom's own `flush()` does nothing while a batch is being
   * written, and what was buffered meanwhile would wait for the next interval; here it goes
   * out as soon as that write completes.
   */
  flushNow: () => void;
}

/**
 * pino's sonic-boom destination writing to `fd` in batches: once 8 KiB are buffered or every
 * `flushIntervalMs`, and synchronously when the process exits (pino registers that).
 */
export function batchedDestination(fd: number, flushIntervalMs: number): BatchedDestination {
  const destination = pino.destination({ dest: fd, sync: false, minLength: BUFFER_BYTES, periodicFlush: flushIntervalMs });
  let wanted = false;
  destination.on('drain', () => {
    if (!wanted) return;
    wanted = false;
    destination.flush();
  });
  return {
    destination,
    flushNow: () => {
      wanted = true;
      destination.flush();
    },
  };
}

/**
 * A structured JSON logger that writes to stderr only: stdout is the stdio protocol
 * channel of every server, so a single stray byte there would corrupt the session.
 */
export function createLogger(name: string, level: LevelWithSilent = 'info', options: LoggerOptions = {}): Logger {
  const batched = options.flushIntervalMs !== undefined && options.flushIntervalMs > 0 ? batchedDestination(2, options.flushIntervalMs) : undefined;
  const destination = batched?.destination ?? pino.destination({ dest: 2, sync: true });
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
