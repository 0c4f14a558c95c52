import { mkdirSync, openSync, write, close } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The audit log of writes: one JSON line per write attempt (refused ones included), in a file
 * of its own, opened with O_APPEND so every line is added at the end — the gateway never
 * rewrites or truncates it. Rotation and shipping are left to the platform (logrotate
 * with copytruncate, a log agent).
 */
export class AuditLog {
  private readonly fd: number;
  private pending: Promise<void> = Promise.resolve();

  constructor(readonly file: string) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    this.fd = openSync(file, 'a', 0o600);
  }

  append(entry: Record<string, unknown>): void {
    const line = Buffer.from(`${JSON.stringify(entry)}\n`, 'utf8');
    // One write(2) per line, in order; with O_APPEND each lands whole at the end of the file.
    this.pending = this.pending.then(
      () => new Promise<void>((resolve) => write(this.fd, line, 0, line.length, null, () => resolve())),
    );
  }

  async close(): Promise<void> {
    await this.pending;
    await new Promise<void>((resolve) => close(this.fd, () => resolve()));
  }
}
