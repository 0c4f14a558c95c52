import { mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino } from 'pino';
import { batchedDestination } from '../../shared/logger.js';

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
    if (flushIntervalMs > 0) {
      ({ destination: this.stream, flushNow: this.flushNow } = batchedDestination(fd, flushIntervalMs));
    } else {
      // Each line at once, asynchronously and in order; flushed synchronously on exit.
      this.stream = pino.destination({ dest: fd, sync: false });
      this.flushNow = () => undefined;
    }
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
