import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../shared/packageRoot.js';
import { EmbeddedAuthHarness, SCOPES } from './embeddedHarness.js';

const CLI = resolve(packageRoot(), 'dist/gateway/auth/embedded/printToken.js');

let harness: EmbeddedAuthHarness;
let usersFile: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function printToken(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first with "npx tsc -p .".`);
  harness = await new EmbeddedAuthHarness().start();
  usersFile = join(harness.dataDir, 'users.json');
  writeFileSync(usersFile, JSON.stringify({ scopes: SCOPES, users: harness.authOptions().users }));
});
afterAll(async () => harness?.stop());

const common = (): string[] => ['--data-dir', harness.dataDir, '--public-url', harness.baseUrl, '--users', usersFile];

describe('printToken', () => {
  it('prints only a token, signed with the running server’s keys, that the resource server accepts', async () => {
    const run = await printToken(['--user', 'ada', '--scope', 'pm:read pm:write', ...common()]);
    expect(run.stderr).not.toMatch(/error/i);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const answer = await harness.callProtected(run.stdout.trim());
    expect(answer.status).toBe(200);
    expect(answer.claims).toMatchObject({ sub: 'ada', scope: 'pm:read pm:write', aud: harness.resource, iss: harness.issuer });
  });

  it('takes the users file and data directory from the environment, and a per-namespace resource', async () => {
    const resource = harness.namespaceResource('github');
    const run = await printToken(['--user', 'bob@example.com', '--scope', 'github:read', '--resource', resource, '--public-url', harness.baseUrl], {
      MANIFOLD_AUTH_USERS_FILE: usersFile,
      MANIFOLD_AUTH_DATA_DIR: harness.dataDir,
    });
    expect(run.code).toBe(0);
    expect((await harness.callProtected(run.stdout.trim(), '/servers/github/mcp')).claims).toMatchObject({ sub: 'bob', aud: resource });
  });

  it.each([
    { name: 'a missing --user', args: ['--scope', 'pm:read'], flag: '--user' },
    { name: 'a missing --scope', args: ['--user', 'ada'], flag: '--scope' },
    { name: 'an unknown user', args: ['--user', 'mallory', '--scope', 'pm:read'], flag: '--user' },
    { name: 'an unsupported scope', args: ['--user', 'ada', '--scope', 'pm:read root'], flag: '--scope' },
    { name: 'a scope the user may not have', args: ['--user', 'bob', '--scope', 'pm:write'], flag: '--scope' },
    { name: 'a foreign resource', args: ['--user', 'ada', '--scope', 'pm:read', '--resource', 'https://evil.example/mcp'], flag: '--resource' },
    { name: 'an unknown flag', args: ['--user', 'ada', '--scope', 'pm:read', '--scopes', 'x'], flag: '--scopes' },
  ])('exits 2 naming the flag for $name', async ({ args, flag }) => {
    const run = await printToken([...args, ...common()]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(flag);
  });

  it('exits 2 naming --users when the file is missing or invalid', async () => {
    const missing = await printToken(['--user', 'ada', '--scope', 'pm:read', '--data-dir', harness.dataDir, '--users', join(harness.dataDir, 'nope.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--users');
    const invalidFile = join(harness.dataDir, 'invalid.json');
    writeFileSync(invalidFile, JSON.stringify({ users: [{ id: 'x', email: 'not-an-email', passwordHash: 'plain' }] }));
    const invalid = await printToken(['--user', 'x', '--scope', 'pm:read', '--data-dir', harness.dataDir, '--users', invalidFile]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/users\.0\.email/);
    expect(invalid.stderr).toMatch(/users\.0\.passwordHash/);
    expect(invalid.stderr).not.toContain('plain"');
  });
});
