import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Logger } from '../../../shared/logger.js';

/** The JWS algorithm of every token the embedded authorization server signs. */
export const SIGNING_ALGORITHM = 'ES256';

export const SIGNING_KEYS_FILE = 'signing-keys.json';
export const COOKIE_KEYS_FILE = 'cookie-keys.json';

export interface PrivateJwks {
  keys: JWK[];
}

/**
 * Create `dataDir` (owner-only) and return it. State there includes private keys, so the
 * folder is 0700 and every secret file 0600.
 */
export function ensureDataDir(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  return dataDir;
}

/**
 * Read a JSON secret file, or create it with `create()` when absent. Creation is atomic and
 * exclusive (write a temporary file, then hard-link it into place), so a gateway and a token
 * command starting together on an empty folder agree on one set of keys.
 */
async function readOrCreateSecretFile<T>(path: string, create: () => Promise<T>, isValid: (value: unknown) => value is T, logger: Logger): Promise<T> {
  const existing = readSecretFile(path, isValid, logger);
  if (existing !== undefined) return existing;
  const value = await create();
  const temporary = `${path}.${process.pid}.${randomUUID()}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(temporary, path);
    logger.info({ file: path }, 'created authorization server secrets');
    return value;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const winner = readSecretFile(path, isValid, logger);
    if (winner === undefined) throw new Error(`${path} appeared while it was being created but cannot be read.`, { cause: error });
    return winner;
  } finally {
    unlinkSync(temporary);
  }
}

function readSecretFile<T>(path: string, isValid: (value: unknown) => value is T, logger: Logger): T | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    chmodSync(path, 0o600);
    logger.warn({ file: path, mode: mode.toString(8) }, 'secret file was readable by others; restricted it to 0600');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${path} is not valid JSON. Restore it from a backup, or delete it to generate new keys (this signs everyone out).`);
  }
  if (!isValid(parsed)) {
    throw new Error(`${path} does not hold the expected keys. Restore it from a backup, or delete it to generate new keys (this signs everyone out).`);
  }
  return parsed;
}

function isPrivateJwks(value: unknown): value is PrivateJwks {
  if (typeof value !== 'object' || value === null) return false;
  const keys = (value as { keys?: unknown }).keys;
  return (
    Array.isArray(keys) &&
    keys.length > 0 &&
    keys.every(
      (k: unknown) =>
        typeof k === 'object' && k !== null && typeof (k as JWK).kty === 'string' && typeof (k as JWK).d === 'string' && typeof (k as JWK).kid === 'string',
    )
  );
}

/** The signing keys (a private JWKS), generated on first run: one ES256 (P-256) key. */
export async function loadSigningKeys(dataDir: string, logger: Logger): Promise<PrivateJwks> {
  return readOrCreateSecretFile(
    join(dataDir, SIGNING_KEYS_FILE),
    async () => {
      const { privateKey } = await generateKeyPair(SIGNING_ALGORITHM, { extractable: true });
      const jwk = await exportJWK(privateKey);
      const kid = await calculateJwkThumbprint(jwk);
      return { keys: [{ ...jwk, kid, alg: SIGNING_ALGORITHM, use: 'sig' }] };
    },
    isPrivateJwks,
    logger,
  );
}

/** The public half of a private JWKS, as published at the jwks_uri. */
export function publicJwks(jwks: PrivateJwks): { keys: JWK[] } {
  return {
    keys: jwks.keys.map(({ kty, crv, x, y, n, e, kid, alg, use }) =>
      Object.fromEntries(Object.entries({ kty, crv, x, y, n, e, kid, alg, use }).filter(([, v]) => v !== undefined)),
    ),
  };
}

interface CookieKeys {
  keys: string[];
}

function isCookieKeys(value: unknown): value is CookieKeys {
  if (typeof value !== 'object' || value === null) return false;
  const keys = (value as { keys?: unknown }).keys;
  return Array.isArray(keys) && keys.length > 0 && keys.every((k) => typeof k === 'string' && k.length >= 32);
}

/** Keys for oidc-provider's cookie signing (Koa keygrip), generated on first run. */
export async function loadCookieKeys(dataDir: string, logger: Logger): Promise<string[]> {
  const { keys } = await readOrCreateSecretFile(
    join(dataDir, COOKIE_KEYS_FILE),
    async () => ({ keys: [randomBytes(32).toString('base64url')] }),
    isCookieKeys,
    logger,
  );
  return keys;
}
