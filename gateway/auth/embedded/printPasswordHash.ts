import { hashPassword } from './passwords.js';

/**
 * Print a `scrypt$…` hash for a user's `passwordHash`, reading the password from stdin (so it
 * stays out of shell history and process listings):
 *
 *   node dist/gateway/auth/embedded/printPasswordHash.js            (prompts, no echo)
 *   printf '%s' "$PASSWORD" | node dist/gateway/auth/embedded/printPasswordHash.js
 */
async function readPassword(): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of stdin as AsyncIterable<Buffer>) chunks.push(chunk);
    return Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, '');
  }
  process.stderr.write('Password: ');
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let password = '';
    const onData = (key: string): void => {
      for (const char of key) {
        if (char === '\r' || char === '\n' || char === '\u0004') {
          stdin.setRawMode(false);
          stdin.off('data', onData);
          stdin.pause();
          process.stderr.write('\n');
          return resolve(password);
        }
        if (char === '\u0003') {
          stdin.setRawMode(false);
          return reject(new Error('cancelled'));
        }
        if (char === '\u007f' || char === '\b') password = password.slice(0, -1);
        else password += char;
      }
    };
    stdin.on('data', onData);
  });
}

readPassword()
  .then(async (password) => {
    if (password.length === 0) throw new Error('the password is empty');
    process.stdout.write(`${await hashPassword(password)}\n`);
  })
  .catch((error: unknown) => {
    process.stderr.write(`printPasswordHash: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  });
