import { parseArgs } from 'node:util';
import { z } from 'zod';

/** A configuration problem, naming every variable or flag that was wrong and what is expected. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * Validate environment variables against a zod shape whose keys are the variable
 * names. The error names each bad variable and what it expects; values are never
 * echoed, since they may be secrets.
 */
export function readEnvironment<S extends z.ZodRawShape>(shape: S, env: NodeJS.ProcessEnv = process.env): z.infer<z.ZodObject<S>> {
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(shape)) {
    const raw = env[key];
    input[key] = raw === undefined || raw.trim() === '' ? undefined : raw.trim();
  }
  const parsed = z.object(shape).safeParse(input);
  if (parsed.success) return parsed.data;
  throw new ConfigError(parsed.error.issues.map((issue) => `${String(issue.path[0] ?? '(environment)')}: ${issue.message}`));
}

/** Reusable schemas for environment values. */
export const envSchemas = {
  port: z.coerce.number().int('must be a whole number').min(0, 'must be 0-65535').max(65535, 'must be 0-65535'),
  boolean: z
    .enum(['1', '0', 'true', 'false', 'yes', 'no'], { message: 'must be one of 1, 0, true, false, yes, no' })
    .transform((v) => v === '1' || v === 'true' || v === 'yes'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    message: 'must be one of fatal, error, warn, info, debug, trace, silent',
  }),
  email: z.email('must be an email address such as ada@example.com'),
};

export interface ServeFlags {
  transport: 'stdio' | 'http';
  port: number;
  host: string;
}

export const SERVE_USAGE = 'Usage: [--stdio] | --http [--port N] [--host ADDRESS]  (default: stdio; HTTP listens on 127.0.0.1:3000)';

/** Parse the flags every server entry accepts. */
export function parseServeFlags(argv: readonly string[], defaults: { port?: number } = {}): ServeFlags {
  let values: { http?: boolean; stdio?: boolean; port?: string; host?: string };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        http: { type: 'boolean' },
        stdio: { type: 'boolean' },
        port: { type: 'string' },
        host: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new ConfigError([`${(error as Error).message}. ${SERVE_USAGE}`]);
  }
  if (values.http && values.stdio) throw new ConfigError([`--http and --stdio are exclusive. ${SERVE_USAGE}`]);
  const transport = values.http || values.port !== undefined || values.host !== undefined ? 'http' : 'stdio';
  let port = defaults.port ?? 3000;
  if (values.port !== undefined) {
    const parsed = envSchemas.port.safeParse(values.port);
    if (!parsed.success) throw new ConfigError([`--port: must be a whole number 0-65535 (got "${values.port}")`]);
    port = parsed.data;
  }
  return { transport, port, host: values.host ?? '127.0.0.1' };
}

/** True for addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(?:\.\d{1,3}){3}$/.test(h) || h === '::ffff:127.0.0.1';
}

/** A JSON path such as `upstreams[1].stdio.command`, the form every problem is reported in. */
export function formatJsonPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(root)' : out;
}
