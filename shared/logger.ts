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

/**
 * A structured JSON logger that writes to stderr only: stdout is the stdio protocol
 * channel of every server, so a single stray byte there would corrupt the session.
 */
export function createLogger(name: string, level: LevelWithSilent = 'info'): Logger {
  return pino(
    {
      name,
      level,
      redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination({ dest: 2, sync: true }),
  );
}
