/**
 * Start-up: from process start to a green /readyz with the shipped configuration (OAuth, the
 * three domain servers as children), median of 8 starts, each into a fresh data directory
 * after one unmeasured start (so the children's module compile cache, where the runtime has
 * one, is as warm as after any earlier start). Also: how long importing the gateway's module
 * graph takes, and each child's time to answer the handshake.
 * Run: npx tsc -p . && node dist/test/bench/startup.bench.js
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { packageRoot } from '../../shared/packageRoot.js';
import { percentile } from './stats.js';

const median = (values: readonly number[]): number =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );

const ROOT = packageRoot();
const GATEWAY = join(ROOT, 'dist', 'gateway', 'main.js');
const STARTS = Number(process.env.STARTUP_BENCH_STARTS ?? 8);

function shippedConfig(dir: string): string {
  const shipped = JSON.parse(readFileSync(join(ROOT, 'config', 'gateway.json'), 'utf8')) as {
    workflows?: { teamDirectory?: string };
    upstreams: Array<{ stdio?: { cwd?: string } }>;
  };
  for (const upstream of shipped.upstreams) if (upstream.stdio?.cwd) upstream.stdio.cwd = join(ROOT, 'config', upstream.stdio.cwd);
  if (shipped.workflows?.teamDirectory) shipped.workflows.teamDirectory = join(ROOT, 'config', shipped.workflows.teamDirectory);
  const file = join(dir, 'gateway.json');
  writeFileSync(file, JSON.stringify(shipped));
  return file;
}

interface Start {
  toListeningMs: number;
  toReadyMs: number;
  upstreamReadyMs: Record<string, number>;
}

async function startOnce(): Promise<Start> {
  const data = mkdtempSync(join(tmpdir(), 'manifold-startup-'));
  const config = shippedConfig(data);
  const began = performance.now();
  const child: ChildProcess = spawn(process.execPath, [GATEWAY, '--config', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'info', MANIFOLD_GATEWAY_PORT: '0', MANIFOLD_DATA_DIR: data, GITHUB_API_URL: 'http://127.0.0.1:9', DOCS_WATCH: '0' },
  });
  const upstreamReadyMs: Record<string, number> = {};
  try {
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stderr! }).on('line', (line) => {
        try {
          const entry = JSON.parse(line) as { url?: string; msg?: string; upstream?: string };
          if (entry.msg === 'upstream ready' && entry.upstream) upstreamReadyMs[entry.upstream] = Math.round(performance.now() - began);
          if (entry.url) resolve(entry.url);
        } catch {
          // not a log line
        }
      });
      child.once('exit', (code) => reject(new Error(`gateway exited (${code})`)));
    });
    const toListeningMs = performance.now() - began;
    const base = url.replace(/\/mcp$/, '');
    for (;;) {
      if (
        await fetch(`${base}/readyz`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      await new Promise((r) => setTimeout(r, 5));
    }
    return { toListeningMs, toReadyMs: performance.now() - began, upstreamReadyMs };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(data, { recursive: true, force: true });
  }
}

/** Importing the gateway's static module graph (its core and HTTP app), in a fresh process. */
async function importTimeMs(): Promise<number> {
  const modules = ['session/gatewayCore.js', 'http/app.js', 'compose/gatewayAuth.js', 'compose/policyStack.js'].map((m) =>
    JSON.stringify(join(ROOT, 'dist', 'gateway', m)),
  );
  const script = `const t = performance.now(); await Promise.all([${modules.join(', ')}].map((m) => import(m))); console.log(performance.now() - t);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise((r) => child.once('exit', r));
  return Number(out.trim());
}

async function main(): Promise<void> {
  await startOnce(); // unmeasured: warms the OS file cache and the compile cache
  const starts: Start[] = [];
  for (let i = 0; i < STARTS; i++) starts.push(await startOnce());
  const upstreams = Object.keys(starts[0]?.upstreamReadyMs ?? {});
  const report = {
    starts: STARTS,
    medianToListeningMs: Math.round(median(starts.map((s) => s.toListeningMs))),
    medianToReadyMs: Math.round(median(starts.map((s) => s.toReadyMs))),
    minToReadyMs: Math.round(Math.min(...starts.map((s) => s.toReadyMs))),
    maxToReadyMs: Math.round(Math.max(...starts.map((s) => s.toReadyMs))),
    medianUpstreamReadyMs: Object.fromEntries(upstreams.map((name) => [name, Math.round(median(starts.map((s) => s.upstreamReadyMs[name] ?? Number.NaN)))])),
    gatewayModuleGraphImportMs: Math.round(await importTimeMs()),
    targetMedianToReadyMs: 1500,
  };
  console.log(JSON.stringify(report, null, 2));
}

await main();
