import { mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino } from 'pino';
import { eagerFlush } from '../../shared/logger.js';

/** Writes buffered past this size go out before the flush interval is up. */
const BUFFER_BYTES = 8 * 1024;

/**
 * The audit log of writes: one JSON line per write attempt (refused ones included), in a file
 * of its own, opened with O_APPEND so every line is added at the end — the gateway never
 * rewrites or truncates it. Rotation and shipping are left to the platform (logrotate
 * with copytruncate, a log agent).
 *
 * Lines are written in order, in batches: at most `flushIntervalMs` after they are appended
 * (0: each at once), on an administrative event, and synchronously when the process exits.
 * Only a process killed outright (SIGKILL, out of memory) can lose the last interval's lines.
 */
export class AuditLog {
  private readonly stream: ReturnType<typeof pino.destination>;
  private readonly flushNow: () => void;
  private closed = false;

  constructor(
    readonly file: string,
    flushIntervalMs = 0,
  ) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const fd = openSync(file, 'a', 0o600);
    // pino's sonic-boom destination: batched asynchronous writes, flushed synchronously on exit.
    this.stream = pino.destination({ dest: fd, sync: false, ...(flushIntervalMs > 0 ? { minLength: BUFFER_BYTES, periodicFlush: flushIntervalMs } : {}) });
    this.flushNow = eagerFlush(this.stream);
  }

  /** Append one entry; `urgent` entries (administrative events) are written at once. */
  append(entry: Record<string, unknown>, options: { urgent?: boolean } = {}): void {
    if (this.closed) return;
    this.stream.write(`${JSON.stringify(entry)}\n`);
    if (options.urgent) this.flushNow();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => {
      this.stream.once('close', () => resolve());
      this.stream.once('error', () => resolve());
      this.stream.end();
    });
  }
}
