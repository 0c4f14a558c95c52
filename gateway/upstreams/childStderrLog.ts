import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { Logger } from '../../shared/logger.js';

type LevelName = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

const PINO_LEVELS: Record<number, LevelName> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
/** Fields pino adds itself; the child's values are kept under `child*` names. */
const RESERVED = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'v']);

/**
 * Copy a child's stderr into the gateway log, one entry per line, under the child's namespace.
 * Lines that are pino JSON keep their level, message and fields; anything else is logged as text.
 */
export function pipeChildStderr(stderr: Readable, logger: Logger, pid: number | undefined, onMessage?: (message: string) => void): void {
  const lines = createInterface({ input: stderr, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (line.trim() === '') return;
    const entry = parseJsonLine(line);
    if (!entry) {
      onMessage?.(line.slice(0, 200));
      logger.info({ childPid: pid, stream: 'stderr' }, line.length > 4000 ? `${line.slice(0, 4000)}…` : line);
      return;
    }
    const level = typeof entry.level === 'number' ? (PINO_LEVELS[entry.level] ?? 'info') : levelFromString(entry.level);
    const fields: Record<string, unknown> = { childPid: typeof entry.pid === 'number' ? entry.pid : pid };
    if (typeof entry.name === 'string') fields.childName = entry.name;
    if (typeof entry.time === 'string' || typeof entry.time === 'number') fields.childTime = entry.time;
    for (const [key, value] of Object.entries(entry)) if (!RESERVED.has(key)) fields[key] = value;
    const message = typeof entry.msg === 'string' ? entry.msg : '(child log entry)';
    onMessage?.(message.slice(0, 200));
    logger[level](fields, message);
  });
  lines.on('error', () => undefined);
}

function parseJsonLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function levelFromString(level: unknown): LevelName {
  if (typeof level !== 'string') return 'info';
  const lower = level.toLowerCase();
  if (lower === 'warning') return 'warn';
  return (['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const).find((l) => l === lower) ?? 'info';
}
