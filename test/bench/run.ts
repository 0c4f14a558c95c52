import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../shared/packageRoot.js';
import { benchProjectManagementStdio } from './projectManagementStdio.bench.js';
import { markdownTable, type BenchRow } from './stats.js';

/**
 * `npm run bench`: run every benchmark, print a table, and write JSON and Markdown
 * under bench-results/ (not committed).
 */
const suites: Array<{ name: string; run: () => Promise<BenchRow[]> }> = [{ name: 'project-management over stdio', run: benchProjectManagementStdio }];

const rows: BenchRow[] = [];
for (const suite of suites) {
  process.stderr.write(`bench: ${suite.name}…\n`);
  rows.push(...(await suite.run()));
}
/** Benchmarks that need a process of their own (memory figures); their report is kept as text. */
const programs: Array<[string, ...string[]]> = [
  // Five interleaved rounds, medians reported: single runs on a small shared machine move by tens of percent.
  ['gatewayCalls.bench.js', '--rounds', '5', '--seconds', '2'],
  // The project-management server on SDK v2 against its SDK v1 build (commit 2dd92e0), both
  // protocol revisions, stdio and HTTP; three interleaved rounds, medians reported.
  ['domainServerCalls.bench.js', '--rounds', '3', '--seconds', '2'],
  // A sampling round trip to a 2025 upstream: bridged for a 2026-07-28 client vs a 2025 session.
  ['bridgedSampling.bench.js', '--rounds', '3', '--calls', '400'],
  ['gatewayFootprint.bench.js'],
  // Process start to a green /readyz with the shipped configuration, median of 8 starts (target 1.5 s).
  ['startup.bench.js'],
  ['docsIndex.bench.js'],
];
const programReports: string[] = [];
for (const [program, ...args] of programs) {
  process.stderr.write(`bench: ${program}…\n`);
  const result = spawnSync(process.execPath, ['--expose-gc', join(import.meta.dirname, program), ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  programReports.push(result.stdout.trim());
  if (result.status !== 0) process.exitCode = 1;
}

const table = markdownTable(rows);
console.log(table);
for (const report of programReports) console.log(`\n${report}`);
const dir = join(packageRoot(), 'bench-results');
mkdirSync(dir, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const meta = { at: new Date().toISOString(), node: process.version, cpus: (await import('node:os')).cpus().length };
writeFileSync(join(dir, `bench-${stamp}.json`), JSON.stringify({ ...meta, rows, programReports }, null, 2));
writeFileSync(
  join(dir, `bench-${stamp}.md`),
  `# Manifold benchmarks\n\n${JSON.stringify(meta)}\n\n${table}\n\n${programReports.map((r) => `\`\`\`\n${r}\n\`\`\``).join('\n\n')}\n`,
);
process.stderr.write(`bench: results written to ${dir}\n`);
