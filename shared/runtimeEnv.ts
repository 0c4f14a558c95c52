import { z } from 'zod';
import { ConfigError, envSchemas, readEnvironment } from './config.js';
import { createLogger, type Logger, type LoggerOptions } from './logger.js';
import { routeStrayOutputToLog } from './strayOutput.js';

/** Environment variables every Manifold server reads. */
export const commonServerEnv = {
  LOG_LEVEL: envSchemas.logLevel.default('info'),
  /** When set, HTTP clients must send it as a bearer token; required off loopback. */
  MANIFOLD_HTTP_BEARER_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Set by the gateway for its children: trust the caller identity in request _meta. */
  MANIFOLD_TRUST_CALLER_META: envSchemas.boolean.default(false),
  /** The acting user for a local, single-user launch (no gateway). */
  MANIFOLD_USER: z.string().min(1).max(320).default('local-user'),
};

export type CommonServerEnv = z.infer<z.ZodObject<typeof commonServerEnv>>;

/**
 * Run a server entry point: configuration errors print one clear message and exit
 * with status 2; anything else is logged and exits with status 1. Once the logger exists,
 * Node's warnings and what libraries print with `console.*` are JSON lines of it too.
 */
export function runMain(name: string, main: (logger: Logger) => Promise<void>, loggerOptions: LoggerOptions = {}): void {
  // Whatever the process writes (databases, keys, logs, pins) is the service user's alone.
  process.umask(0o077);
  let logger: Logger;
  try {
    const { LOG_LEVEL } = readEnvironment({ LOG_LEVEL: commonServerEnv.LOG_LEVEL });
    logger = createLogger(name, LOG_LEVEL, loggerOptions);
  } catch (error) {
    process.stderr.write(`${name}: ${(error as Error).message}\n`);
    process.exit(2);
  }
  routeStrayOutputToLog(logger);
  main(logger).catch((error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`${name}: ${error.message}\n`);
      process.exit(2);
    }
    logger.fatal({ err: error }, 'failed to start');
    process.exit(1);
  });
}
