import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Password hashes for configured users: `scrypt$<salt base64>$<hash base64>`, derived with
 * Node's scrypt defaults (N=16384, r=8, p=1). The derived length is read from the stored hash,
 * so a hash made elsewhere with the same parameters and another key length still verifies.
 */
const SCRYPT_OPTIONS: ScryptOptions = { N: 16384, r: 8, p: 1 };
const SALT_BYTES = 16;
const KEY_BYTES = 32;
const HASH_PATTERN = /^scrypt\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

function scrypt(password: string, salt: Buffer, keyLength: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(password.normalize('NFC'), salt, keyLength, SCRYPT_OPTIONS, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** Hash a password for the `users[].passwordHash` configuration field. */
export async function hashPassword(password: string): Promise<string> {
  if (password.length === 0) throw new Error('The password is empty. Choose a non-empty password.');
  const salt = randomBytes(SALT_BYTES);
  const key = await scrypt(password, salt, KEY_BYTES);
  return `scrypt$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** True when `passwordHash` has the `scrypt$<salt>$<hash>` shape this module verifies. */
export function isPasswordHash(passwordHash: string): boolean {
  const match = HASH_PATTERN.exec(passwordHash);
  if (!match?.[1] || !match[2]) return false;
  return Buffer.from(match[1], 'base64').length >= 8 && Buffer.from(match[2], 'base64').length >= 16;
}

// A fixed hash verified when the user is unknown, so that "no such user" and "wrong password"
// take the same time and cannot be told apart.
const DECOY_HASH = `scrypt$${Buffer.alloc(SALT_BYTES, 7).toString('base64')}$${Buffer.alloc(KEY_BYTES, 9).toString('base64')}`;

/**
 * Check a password against a stored hash in constant time. A malformed hash, or `undefined`
 * (unknown user), never verifies, but still costs one scrypt derivation.
 */
export async function verifyPassword(password: string, passwordHash: string | undefined): Promise<boolean> {
  const usable = passwordHash !== undefined && isPasswordHash(passwordHash);
  const [, saltB64, hashB64] = HASH_PATTERN.exec(usable ? passwordHash : DECOY_HASH) ?? [];
  const salt = Buffer.from(saltB64 ?? '', 'base64');
  const expected = Buffer.from(hashB64 ?? '', 'base64');
  const actual = await scrypt(password, salt, expected.length);
  return timingSafeEqual(actual, expected) && usable;
}
