import { chmodSync, existsSync, mkdirSync } from 'node:fs';

/**
 * The service's data directory, and everything written in it, readable by the service user
 * alone: 0700 for the directory whatever its mode was when the process started (an image may
 * pre-create it 0755), 0600 for files (the process's umask is 077, see runMain).
 */
export function privateDataDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  return dir;
}

/** A file created before the service kept its files private (an older version), made private now, with its companions (`-wal`, `-shm`). */
export function privateFile(file: string, companions: readonly string[] = []): void {
  for (const path of [file, ...companions.map((suffix) => `${file}${suffix}`)]) if (existsSync(path)) chmodSync(path, 0o600);
}
