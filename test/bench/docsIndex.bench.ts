/**
 * Docs index benchmark, on the real server process over stdio: generated Markdown trees of
 * 2,600 and 10,000 files (about 26,000 and 100,000 sections), and for each
 *  - time from spawn to the answer to `initialize`,
 *  - cold build: time from spawn until the whole tree is indexed (empty data directory),
 *  - warm restart: the same on the second start (the persistent index is checked, not rebuilt),
 *  - search_docs latency, median and p95, over 200 mixed queries (common words, rare words,
 *    quoted phrases, misspellings),
 *  - the server's RSS after the searches, and its peak (VmHWM).
 * The watcher is off (DOCS_WATCH=0) so the figures are the index's own. Wall times grow with the
 * machine's load (printed): the cold build's CPU time and the 7-file tree's initialize are given
 * to read them against.
 *
 * Run after a build:  node dist/test/bench/docsIndex.bench.js
 * Environment: BENCH_DOCS_SIZES (default "2600,10000"); BENCH_DOCS_BEFORE=<path to another
 * build's dist/servers/docs/main.js> measures that server too, in the same run, on the same trees.
 */
import { promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { childEnv, distEntry, ROOT } from '../support/processes.js';
import { percentile, processCpuMs } from './stats.js';

const SIZES = (process.env.BENCH_DOCS_SIZES ?? '2600,10000').split(',').map(Number);
const FILES_PER_FOLDER = 100;
const QUERIES = 200;
const TARGETS = { initializeMs: 1000, coldBuild10kMs: 15_000, warmRestartMs: 2000, searchP95At10kMs: 20, rssMb: 200 };

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

async function generateTree(root: string, files: number): Promise<{ bytes: number; sections: number }> {
  seed = 42;
  let bytes = 0;
  let sections = 0;
  for (let n = 0; n < files; n++) {
    const folder = path.join(root, `area-${String(Math.floor(n / FILES_PER_FOLDER)).padStart(3, '0')}`);
    if (n % FILES_PER_FOLDER === 0) await fs.mkdir(folder, { recursive: true });
    const text = generateDocument(n);
    bytes += Buffer.byteLength(text);
    sections += (text.match(/^#{1,3} /gm) ?? []).length;
    await fs.writeFile(path.join(folder, `doc-${String(n).padStart(5, '0')}.md`), text);
  }
  return { bytes, sections };
}

const QUERY_KINDS = ['common', 'question', 'rare', 'phrase', 'typo'] as const;

/** 200 queries: common words, rare words, quoted phrases and misspellings, in a fixed order (kind = index % 5). */
function mixedQueries(): string[] {
  seed = 7;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const queries: string[] = [];
  for (let i = 0; queries.length < QUERIES; i++) {
    switch (i % 5) {
      case 0: // common words
        queries.push(`${pick(TOPIC_WORDS)} ${pick(TOPIC_WORDS)}`);
        break;
      case 1: // a question in words
        queries.push(`how do I configure the ${pick(TOPIC_WORDS)} ${pick(TOPIC_WORDS)}`);
        break;
      case 2: // rare words
        queries.push(`${pick(TAIL_WORDS.slice(2000))} ${pick(TAIL_WORDS.slice(500, 5000))}`);
        break;
      case 3: // a phrase
        queries.push(`"${pick(TOPIC_WORDS)} ${pick(TOPIC_WORDS)}"`);
        break;
      default: {
        // a misspelling: one letter dropped from a longer topic word
        const w = pick(TOPIC_WORDS.filter((t) => t.length >= 6));
        const at = 1 + Math.floor(random() * (w.length - 2));
        queries.push(`${w.slice(0, at)}${w.slice(at + 1)} ${pick(TOPIC_WORDS)}`);
      }
    }
  }
  return queries;
}

interface Started {
  client: Client;
  pid: number;
  initializeMs: number;
  /** Resolves with ms since spawn once the server logs that the tree is indexed. */
  indexed: Promise<number>;
}

async function start(entry: string, root: string, dataDir: string): Promise<Started> {
  const spawned = performance.now();
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [entry],
    env: childEnv({ DOCS_ROOT: root, MANIFOLD_DATA_DIR: dataDir, DOCS_WATCH: '0', DOCS_MAX_FILES: '100000', LOG_LEVEL: 'info' }),
    stderr: 'pipe',
  });
  let log = '';
  const indexed = new Promise<number>((resolve) => {
    transport.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString('utf8');
      if (log.includes('"msg":"indexed docs"')) {
        resolve(performance.now() - spawned);
        log = '';
      }
    });
  });
  const client = new Client({ name: 'docs-bench', version: '1.0.0' });
  await client.connect(transport, { timeout: 600_000 });
  const initializeMs = performance.now() - spawned;
  return { client, pid: transport.pid ?? 0, initializeMs, indexed };
}

function memoryMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { rss: Math.round(kb('VmRSS') / 1024), peak: Math.round(kb('VmHWM') / 1024) };
}

interface Figures {
  server: string;
  files: number;
  initializeMs: number;
  coldBuildMs: number;
  /** CPU the server used for the cold build (its own process): the machine's load does not inflate it. */
  coldBuildCpuMs: number;
  warmInitializeMs: number;
  warmRestartMs: number;
  searchMedianMs: number;
  searchP95Ms: number;
  searchMaxMs: number;
  /** p95 per kind of query: common words, a question, rare words, a phrase, a misspelling. */
  searchP95ByKind: string;
  emptyResults: number;
  rssMb: number;
  peakRssMb: number;
}

async function measure(label: string, entry: string, root: string, files: number, queries: readonly string[]): Promise<Figures> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'manifold-docs-bench-data-'));
  try {
    const cold = await start(entry, root, dataDir);
    const coldBuildMs = await cold.indexed;
    const coldBuildCpuMs = (await processCpuMs(cold.pid)) ?? 0;
    const times: number[] = [];
    const byKind: number[][] = QUERY_KINDS.map(() => []);
    let emptyResults = 0;
    for (const [i, query] of queries.entries()) {
      const began = performance.now();
      const result = (await cold.client.callTool({ name: 'search_docs', arguments: { query, limit: 10 } }, undefined, { timeout: 120_000 })) as CallToolResult;
      const took = performance.now() - began;
      times.push(took);
      byKind[i % QUERY_KINDS.length]?.push(took);
      const structured = result.structuredContent as { results?: unknown[] } | undefined;
      if ((structured?.results?.length ?? 0) === 0) emptyResults++;
    }
    times.sort((a, b) => a - b);
    const memory = memoryMb(cold.pid);
    await cold.client.close();

    const warm = await start(entry, root, dataDir);
    const warmRestartMs = await warm.indexed;
    await warm.client.close();
    return {
      server: label,
      files,
      initializeMs: Math.round(cold.initializeMs),
      coldBuildMs: Math.round(coldBuildMs),
      coldBuildCpuMs: Math.round(coldBuildCpuMs),
      warmInitializeMs: Math.round(warm.initializeMs),
      warmRestartMs: Math.round(warmRestartMs),
      searchMedianMs: +percentile(times, 50).toFixed(2),
      searchP95Ms: +percentile(times, 95).toFixed(2),
      searchMaxMs: +(times[times.length - 1] ?? 0).toFixed(2),
      searchP95ByKind: byKind
        .map(
          (kind, k) =>
            `${QUERY_KINDS[k]} ${percentile(
              kind.sort((a, b) => a - b),
              95,
            ).toFixed(0)}`,
        )
        .join(', '),
      emptyResults,
      rssMb: memory.rss,
      peakRssMb: memory.peak,
    };
  } finally {
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const servers: Array<[string, string]> = [['this build', distEntry('servers/docs/main.js')]];
  if (process.env.BENCH_DOCS_BEFORE) servers.unshift(['before', path.resolve(process.env.BENCH_DOCS_BEFORE)]);
  const queries = mixedQueries();
  const rows: Figures[] = [];
  const lines: string[] = [
    `  machine load average at start: ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} (${os.cpus().length} cores)`,
  ];
  // What starting a server costs here with nothing to index: the floor under "initialize ms".
  for (const [label, entry] of servers) {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'manifold-docs-bench-data-'));
    const tiny = await start(entry, path.join(ROOT, 'test/fixtures/docs'), dataDir);
    lines.push(`  ${label}: initialize on the 7-file fixture tree ${Math.round(tiny.initializeMs)} ms`);
    await tiny.client.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
  for (const files of SIZES) {
    const parent = await fs.mkdtemp(path.join(os.tmpdir(), 'manifold-docs-bench-'));
    const root = path.join(parent, 'docs');
    try {
      const tree = await generateTree(root, files);
      lines.push(`  tree of ${files} files: ${tree.sections} sections, ${(tree.bytes / 1024 / 1024).toFixed(1)} MB`);
      for (const [label, entry] of servers) {
        process.stderr.write(`docs bench: ${label}, ${files} files…\n`);
        rows.push(await measure(label, entry, root, files, queries));
      }
    } finally {
      await fs.rm(parent, { recursive: true, force: true });
    }
  }

  const columns: Array<[keyof Figures, string]> = [
    ['server', 'server'],
    ['files', 'files'],
    ['initializeMs', 'initialize ms'],
    ['coldBuildMs', 'cold build ms'],
    ['coldBuildCpuMs', 'cold build CPU ms'],
    ['warmInitializeMs', 'warm initialize ms'],
    ['warmRestartMs', 'warm restart ms'],
    ['searchMedianMs', 'search p50 ms'],
    ['searchP95Ms', 'search p95 ms'],
    ['searchMaxMs', 'search max ms'],
    ['searchP95ByKind', 'p95 ms by kind'],
    ['emptyResults', 'no result'],
    ['rssMb', 'RSS MB'],
    ['peakRssMb', 'peak RSS MB'],
  ];
  process.stdout.write(`docs index benchmark (server process over stdio, ${QUERIES} mixed queries, watcher off)\n`);
  for (const line of lines) process.stdout.write(`${line}\n`);
  process.stdout.write(`| ${columns.map(([, title]) => title).join(' | ')} |\n|${columns.map(() => '---').join('|')}|\n`);
  for (const row of rows) process.stdout.write(`| ${columns.map(([key]) => String(row[key])).join(' | ')} |\n`);

  const mine = rows.filter((row) => row.server === 'this build');
  const largest = mine.find((row) => row.files === Math.max(...SIZES));
  const checks: Array<[string, boolean]> = [
    [
      `initialize ≤ ${TARGETS.initializeMs} ms at every size`,
      mine.every((row) => row.initializeMs <= TARGETS.initializeMs && row.warmInitializeMs <= TARGETS.initializeMs),
    ],
    [`warm restart ≤ ${TARGETS.warmRestartMs} ms`, mine.every((row) => row.warmRestartMs <= TARGETS.warmRestartMs)],
    [`RSS ≤ ${TARGETS.rssMb} MB`, mine.every((row) => row.peakRssMb <= TARGETS.rssMb)],
    ...(largest?.files === 10_000
      ? ([
          [`cold build of 10,000 files ≤ ${TARGETS.coldBuild10kMs} ms`, largest.coldBuildMs <= TARGETS.coldBuild10kMs],
          [`search p95 ≤ ${TARGETS.searchP95At10kMs} ms at 10,000 files`, largest.searchP95Ms <= TARGETS.searchP95At10kMs],
        ] as Array<[string, boolean]>)
      : []),
  ];
  for (const [name, met] of checks) process.stdout.write(`  ${met ? 'met' : 'MISSED'}: ${name}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
