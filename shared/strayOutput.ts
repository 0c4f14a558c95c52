import { format, inspect, stripVTControlCharacters } from 'node:util';
import type { Logger } from './logger.js';

/** Longest message kept from one console call or warning; the rest is cut with an ellipsis. */
const MAX_MESSAGE_CHARS = 4000;

function messageOf(text: string): string {
  const plain = stripVTControlCharacters(text).trimEnd();
  return plain.length > MAX_MESSAGE_CHARS ? `${plain.slice(0, MAX_MESSAGE_CHARS)}…` : plain;
}

/**
 * Everything a process writes outside its logger becomes a JSON line of that logger: Node's
 * own warnings (`process.emitWarning`: deprecations, experimental features, listener leaks)
 * and whatever a library prints with `console.*` (oidc-provider, for one, prints
 * "Unsupported runtime" with `console.warn` when it is loaded on Node 20, and its notices with
 * `console.info`, which would go to stdout). Each server's stdout is the stdio protocol
 * channel and its stderr is read as one JSON object per line (the gateway copies a child's
 * stderr into its own log), so a stray line would corrupt the one or break the other.
 *
 * Call it once, first thing, with the process's logger. Node's default warning printer is
 * replaced (a listener added later still hears every warning); `--no-warnings` and
 * `--no-deprecation` still silence what they silence, since Node then emits nothing.
 */
export function routeStrayOutputToLog(logger: Logger): void {
  // Node writes warnings to stderr from a 'warning' listener of its own; at start-up it is the only one.
  process.removeAllListeners('warning');
  process.on('warning', (warning: Error & { code?: string; detail?: string }) => {
    logger.warn(
      {
        warning: {
          name: warning.name,
          ...(warning.code ? { code: warning.code } : {}),
          ...(warning.detail ? { detail: warning.detail } : {}),
        },
      },
      messageOf(warning.message),
    );
  });

  const consoleLog = logger.child({ source: 'console' });
  const at =
    (write: (message: string) => void) =>
    (...args: unknown[]): void =>
      write(messageOf(format(...args)));
  // Replacing the methods is how library output is kept off stdout and in the JSON log.
  Object.assign(console, {
    log: at((message) => consoleLog.info(message)),
    info: at((message) => consoleLog.info(message)),
    debug: at((message) => consoleLog.debug(message)),
    warn: at((message) => consoleLog.warn(message)),
    error: at((message) => consoleLog.error(message)),
    trace: at((message) => consoleLog.warn({ stack: new Error().stack?.split('\n').slice(2).join('\n') }, message)),
    dir: (item: unknown) => consoleLog.info(messageOf(inspect(item))),
  });
}
