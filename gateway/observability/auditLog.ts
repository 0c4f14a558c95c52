import { mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { batchedDestination, type BatchedDestination } from '../../shared/logger.js';

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
  private readonly lines: BatchedDestination;
  private closed = false;

  constructor(
    readonly file: string,
    flushIntervalMs = 0,
  ) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    this.lines = batchedDestination(openSync(file, 'a', 0o600), flushIntervalMs);
  }

  /** Append one entry; `urgent` entries (administrative events) are written at once. */
  append(entry: Record<string, unknown>, options: { urgent?: boolean } = {}): void {
    if (this.closed) return;
    this.lines.write(`${JSON.stringify(entry)}\n`);
    if (options.urgent) this.lines.flushNow();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.lines.close();
  }
}
