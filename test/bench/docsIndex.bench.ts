/**
 * Docs index benchmark: generate a 10,000-file Markdown tree in a temp folder,
 * index it, and report time and memory; then time searches and a one-file
 * re-index. Run after a build:  node dist/test/bench/docsIndex.bench.js
 * Options (environment): BENCH_DOCS_FILES (default 10000), BENCH_DOCS_KEEP=1 keeps the tree.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DocsIndex } from '../../servers/docs/docsIndex.js';
import { createLogger } from '../../shared/logger.js';

const FILES = Number(process.env.BENCH_DOCS_FILES ?? 10_000);
const FILES_PER_FOLDER = 100;

// A deterministic generator, so runs are comparable.
let seed = 42;
function random(): number {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed / 2 ** 31;
}
// Technical words the queries look for, plus a long tail of synthetic words drawn with a
// Zipf-like distribution, as real prose is: a few words everywhere, most words rare.
const TOPIC_WORDS = (
  'gateway server session token bearer loopback origin request response stream event cursor page index search section heading anchor ' +
  'document folder watch change update resource template subscription notification client model tool schema result error limit retry ' +
  'timeout port host address configuration environment variable default value secret scope audience issuer metadata discovery registration ' +
  'project task status priority assignee comment issue pull review branch commit repository owner file path markdown fence code block'
).split(' ');
const SYLLABLES = 'ka lo mi ne ru sa ti vo ze pa qui ra den tor mel vin sor lap gut fen'.split(' ');
const TAIL_WORDS = Array.from({ length: 30_000 }, (_, i) => {
  let word = '';
  for (let n = i + 1; n > 0; n = Math.floor(n / SYLLABLES.length)) word += SYLLABLES[n % SYLLABLES.length];
  return word;
});
const VOCABULARY = [...TOPIC_WORDS, ...TAIL_WORDS];
/** Zipf-like: rank r is drawn with probability about 1/r. */
const word = (): string => VOCABULARY[Math.min(VOCABULARY.length - 1, Math.floor(Math.exp(random() * Math.log(VOCABULARY.length))) - 1)] as string;
const sentence = (words: number): string => {
  const text = Array.from({ length: words }, () => word()).join(' ');
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
};
const paragraph = (): string => Array.from({ length: 3 + Math.floor(random() * 4) }, () => sentence(8 + Math.floor(random() * 10))).join(' ');

function generateDocument(n: number): string {
  const parts = [`# Document ${n}: ${sentence(3)}`, '', paragraph(), ''];
  const sections = 4 + Math.floor(random() * 5);
  for (let s = 0; s < sections; s++) {
    parts.push(`## ${sentence(2 + Math.floor(random() * 3)).slice(0, -1)}`, '', paragraph(), '');
    if (random() < 0.4) parts.push('```sh', `# comment ${sentence(3)}`, 'run --flag value', '```', '');
    if (random() < 0.5) parts.push(`### ${sentence(2).slice(0, -1)}`, '', paragraph(), '');
  }
  return parts.join('\n');
}

function gcNow(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

async function main(): Promise<void> {
  const parent = await fs.mkdtemp(path.join(os.tmpdir(), 'manifold-docs-bench-'));
  const root = path.join(parent, 'docs');
  let generatedBytes = 0;
  const generateStart = performance.now();
  for (let n = 0; n < FILES; n++) {
    const folder = path.join(root, `area-${String(Math.floor(n / FILES_PER_FOLDER)).padStart(3, '0')}`);
    if (n % FILES_PER_FOLDER === 0) await fs.mkdir(folder, { recursive: true });
    const text = generateDocument(n);
    generatedBytes += Buffer.byteLength(text);
    await fs.writeFile(path.join(folder, `doc-${String(n).padStart(5, '0')}.md`), text);
  }
  const generateMs = performance.now() - generateStart;

  gcNow();
  const before = process.memoryUsage();
  const indexStart = performance.now();
  const docsIndex = await DocsIndex.open({ rootPath: root, logger: createLogger('bench', 'silent'), maxFiles: FILES, maxFileBytes: 1024 * 1024 });
  const indexMs = performance.now() - indexStart;
  const peak = process.memoryUsage();
  gcNow();
  const after = process.memoryUsage();
  const stats = docsIndex.stats();

  const queries = ['bearer token loopback', 'retry timeout limit', 'subscription notification resource', 'markdown fence code block', 'gatewy sesion'];
  const searchTimes: number[] = [];
  for (let round = 0; round < 5; round++) {
    for (const query of queries) {
      const start = performance.now();
      await docsIndex.search(query, { limit: 10 });
      searchTimes.push(performance.now() - start);
    }
  }
  searchTimes.sort((a, b) => a - b);

  const middle = Math.floor(FILES / 2);
  const edited = `area-${String(Math.floor(middle / FILES_PER_FOLDER)).padStart(3, '0')}/doc-${String(middle).padStart(5, '0')}.md`;
  await fs.appendFile(path.join(root, edited), '\n## Benchmark edit\n\nA freshly added okapi section.\n');
  const refreshStart = performance.now();
  const change = await docsIndex.refresh([edited]);
  const refreshMs = performance.now() - refreshStart;
  const found = (await docsIndex.search('okapi', { limit: 1 })).hits[0];

  const report = {
    files: stats.documents,
    sections: stats.sections,
    corpus: mb(generatedBytes),
    generateSeconds: +(generateMs / 1000).toFixed(2),
    indexSeconds: +(indexMs / 1000).toFixed(2),
    filesPerSecond: Math.round(stats.documents / (indexMs / 1000)),
    heapBefore: mb(before.heapUsed),
    heapPeakDuringIndex: mb(peak.heapUsed),
    heapAfterIndexGc: mb(after.heapUsed),
    heapRetainedByIndex: mb(after.heapUsed - before.heapUsed),
    rssAfter: mb(after.rss),
    searchMedianMs: +(searchTimes[Math.floor(searchTimes.length / 2)] ?? 0).toFixed(2),
    searchP95Ms: +(searchTimes[Math.floor(searchTimes.length * 0.95)] ?? 0).toFixed(2),
    reindexOneFileMs: +refreshMs.toFixed(2),
    reindexFound: found?.path === edited && change.updated.length === 1,
  };
  process.stdout.write(`docs index benchmark (${FILES} files)\n`);
  for (const [key, value] of Object.entries(report)) process.stdout.write(`  ${key.padEnd(22)} ${String(value)}\n`);

  if (process.env.BENCH_DOCS_KEEP === '1') process.stdout.write(`  tree kept at ${root}\n`);
  else await fs.rm(parent, { recursive: true, force: true });
  if (!report.reindexFound) {
    process.stderr.write('re-index check failed: the edited file was not found by search\n');
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
