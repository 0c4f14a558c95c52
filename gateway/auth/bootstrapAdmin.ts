import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../shared/logger.js';
import { hashPassword } from './embedded/passwords.js';
import { embeddedUserSchema, type EmbeddedUser } from './embedded/settings.js';

export const BOOTSTRAP_ADMIN_FILE = 'bootstrap-admin.json';
export const INITIAL_PASSWORD_FILE = 'initial-admin-password';

/**
 * With no users configured, the embedded authorization server still needs someone who can
 * sign in, so a fresh install is protected and usable at once: an `admin` user with a random
 * password, created on first start. The password is written to a file only its owner can
 * read (never to the log), and the hash is kept beside the server's other state.
 */
export async function bootstrapAdmin(authDataDir: string, logger: Logger): Promise<EmbeddedUser> {
  mkdirSync(authDataDir, { recursive: true, mode: 0o700 });
  const file = join(authDataDir, BOOTSTRAP_ADMIN_FILE);
  if (existsSync(file)) return embeddedUserSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  const password = randomBytes(18).toString('base64url');
  const admin: EmbeddedUser = { id: 'admin', email: 'admin@manifold.localhost', name: 'Administrator', passwordHash: await hashPassword(password) };
  const passwordFile = join(authDataDir, INITIAL_PASSWORD_FILE);
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  writeFileSync(file, JSON.stringify(admin, null, 2), { mode: 0o600 });
  logger.warn(
    { user: admin.id, passwordFile },
    'no users configured for the embedded authorization server: created user "admin"; its password is in the password file. Configure auth.embedded.users for real deployments.',
  );
  return admin;
}

/** The bootstrap admin if one was created, for the token command. */
export function readBootstrapAdmin(authDataDir: string): EmbeddedUser | undefined {
  const file = join(authDataDir, BOOTSTRAP_ADMIN_FILE);
  return existsSync(file) ? embeddedUserSchema.parse(JSON.parse(readFileSync(file, 'utf8'))) : undefined;
}
