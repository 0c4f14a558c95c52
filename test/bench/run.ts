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
const table = markdownTable(rows);
console.log(table);
const dir = join(packageRoot(), 'bench-results');
mkdirSync(dir, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const meta = { at: new Date().toISOString(), node: process.version, cpus: (await import('node:os')).cpus().length };
writeFileSync(join(dir, `bench-${stamp}.json`), JSON.stringify({ ...meta, rows }, null, 2));
writeFileSync(join(dir, `bench-${stamp}.md`), `# Manifold benchmarks\n\n${JSON.stringify(meta)}\n\n${table}\n`);
process.stderr.write(`bench: results written to ${dir}\n`);
