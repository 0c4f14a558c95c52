import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from './config.js';

/** Fewest bytes of HMAC key the SDK's request-state codec accepts (256 bits). */
const MIN_KEY_BYTES = 32;
export const REQUEST_STATE_KEY_FILE = 'request-state.key';

/**
 * The HMAC key that seals `requestState` (MCP 2026-07-28 multi round-trip requests): the
 * client echoes the state back, so the server must be able to tell it made it. Every instance
 * that may see a retry needs the same key: take it from configuration (replicas), or from a file
 * in the data directory, created on first use with mode 0600.
 */
export function loadRequestStateKey(options: { configured?: string | undefined; dataDir: string }): Uint8Array {
  if (options.configured !== undefined) {
    const key = Buffer.from(options.configured, 'utf8');
    if (key.length < MIN_KEY_BYTES) {
      throw new ConfigError([`MANIFOLD_REQUEST_STATE_KEY: must be at least ${MIN_KEY_BYTES} bytes (for example: openssl rand -base64 32)`]);
    }
    return key;
  }
  const file = join(options.dataDir, REQUEST_STATE_KEY_FILE);
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  try {
    writeFileSync(file, randomBytes(MIN_KEY_BYTES).toString('base64'), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'utf8');
  if (key.length < MIN_KEY_BYTES)
    throw new ConfigError([`${file}: holds fewer than ${MIN_KEY_BYTES} bytes; delete it and a new key is made on the next start`]);
  return key;
}
