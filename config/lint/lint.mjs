#!/usr/bin/env node
// `npm run lint`: formatting (Prettier), lint rules (typescript-eslint) and import boundaries
// (dependency-cruiser), each over the whole repository. Installs the toolchain of this folder on
// first use. `npm run lint -- --fix` rewrites what Prettier and ESLint can fix.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const bin = (name) => join(here, 'node_modules', '.bin', name);
const fix = process.argv.includes('--fix');

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  return result.status ?? 1;
}

if (!existsSync(bin('eslint')) || !existsSync(bin('prettier')) || !existsSync(bin('depcruise'))) {
  console.error('Installing the lint toolchain (config/lint)…');
  if (run('npm', ['ci', '--no-audit', '--no-fund', '--silent'], { cwd: here }) !== 0) process.exit(1);
}

const SOURCES = ['gateway', 'servers', 'shared', 'test'];
const checks = [
  ['format (Prettier)', bin('prettier'), [fix ? '--write' : '--check', '--log-level', 'warn', ...SOURCES, 'config', '.ci']],
  ['lint (typescript-eslint)', bin('eslint'), ['-c', join(here, 'eslint.config.js'), ...(fix ? ['--fix'] : []), ...SOURCES]],
  // The product's modules; test fixtures stand in for third-party servers and are not layered.
  [
    'import boundaries (dependency-cruiser)',
    bin('depcruise'),
    ['--config', join(here, 'dependency-cruiser.cjs'), '--output-type', 'err', 'gateway', 'servers', 'shared'],
  ],
];

const failed = [];
for (const [name, command, args] of checks) {
  console.error(`\n== ${name}`);
  if (run(command, args) !== 0) failed.push(name);
}
console.error(failed.length === 0 ? '\nlint: all checks passed' : `\nlint: failed: ${failed.join(', ')}`);
process.exit(failed.length === 0 ? 0 : 1);
