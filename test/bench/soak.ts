/**
 * `npm run soak`: does the gateway leak under hours of ordinary traffic? Two gateway instances
 * share a Redis of the soak's own (cluster.redis) behind a round-robin balancer with no session
 * affinity (test/support/roundRobinProxy.ts), each with the fixture server as its upstream. The
 * load is a mix (weights in MIX): 2026-07-28 tools/call, resources/read, prompts/get and
 * tools/list; calls on 2025 sessions, and 2025 session churn (DELETE one session, initialize
 * another); a tool that announces a resource change, heard by 2026 `subscriptions/listen`
 * streams that are themselves closed and reopened every minute.
 *
 * First the capacity of the pair is measured (closed loop, CONCURRENCY callers, --probe-seconds),
 * then the mix runs open loop at half of it for --minutes (SOAK_MINUTES; default 30). Every
 * minute a table row: throughput, p99, errors, notifications heard, and per gateway instance its
 * RSS and open file descriptors (sockets, pipes, files: the handles a leak would hold), each the
 * median of six samples taken 10 s apart.
 *
 * Leak rule (soakVerdict.ts): for each instance, the medians of RSS and of descriptors over the
 * last five minutes are compared with those of minutes 5 to 9 (JIT, caches and pools settle in
 * the first minutes; a run shorter than 10 minutes compares its halves); growth above 10 % on
 * either exits 1. Errors are reported, not judged.
 *
 * Run: npm run soak  (or: npx tsc -p . && node dist/test/bench/soak.js --minutes 1 --probe-seconds 10)
 */
import { readdirSync, readFileSync, writeFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { Agent, request, type ClientRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ChildProcess } from 'node:child_process';
import { RoundRobinProxy } from '../support/roundRobinProxy.js';
import { startPrivateRedis } from '../support/privateServices.js';
import { median, percentile, post, round, sleep, startProcess } from './loadClient.js';
import { soakVerdicts } from './soakVerdict.js';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const FIXTURE = join(ROOT, 'dist', 'test', 'fixtures', 'gateway', 'fixtureServer.js');
const GATEWAY = join(ROOT, 'dist', 'gateway', 'main.js');

const { values: flags } = parseArgs({
  options: {
    minutes: { type: 'string', default: process.env.SOAK_MINUTES ?? '30' },
    'probe-seconds': { type: 'string', default: process.env.SOAK_PROBE_SECONDS ?? '20' },
  },
});
const MINUTES = Number(flags.minutes);
const PROBE_SECONDS = Number(flags['probe-seconds']);
if (!(MINUTES > 0) || !(PROBE_SECONDS > 0)) throw new Error('--minutes and --probe-seconds must be positive numbers');
const CONCURRENCY = 16;
/** 2025 sessions kept open (churned one at a time), and listen streams. */
const SESSIONS = 12;
const LISTEN_STREAMS = 4;
const SAMPLES_PER_MINUTE = 6;
const MAX_IN_FLIGHT = 128;

type Op = 'modern_call' | 'modern_read' | 'modern_prompt' | 'modern_list' | 'legacy_call' | 'session_churn' | 'touch';
const MIX: ReadonlyArray<[Op, number]> = [
  ['modern_call', 35],
  ['modern_read', 20],
  ['modern_prompt', 10],
  ['modern_list', 5],
  ['legacy_call', 15],
  ['session_churn', 10],
  ['touch', 5],
];
const MIX_TOTAL = MIX.reduce((sum, [, weight]) => sum + weight, 0);

function pickOp(): Op {
  let roll = Math.random() * MIX_TOTAL;
  for (const [op, weight] of MIX) {
    roll -= weight;
    if (roll < 0) return op;
  }
  return 'modern_call';
}

const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'soak', version: '1' },
};
const LEGACY = '2025-11-25';

// --- the system under load ---------------------------------------------------------------------

const redis = await startPrivateRedis();
const configDir = mkdtempSync(join(tmpdir(), 'manifold-soak-'));
const configFile = join(configDir, 'gateway.json');
writeFileSync(
  configFile,
  JSON.stringify({
    listen: { host: '127.0.0.1', port: 0 },
    auth: { mode: 'none-loopback-dev' },
    cluster: { redis: true },
    // Counted in Redis, never reached: the soak measures leaks, not refusals.
    limits: {
      rate: { perUser: 10_000_000, writesPerUser: 10_000_000, requestsPerUser: 10_000_000 },
      perUser: { sessions: 1000, listenStreams: 100, inFlight: 1000 },
    },
    upstreams: [{ namespace: 'fx', stdio: { command: process.execPath, args: [FIXTURE], env: { FIXTURE_NAME: 'fx' } } }],
  }),
);
const gateways: Array<{ child: ChildProcess; url: string }> = [];
// Stopped early (Ctrl-C, kill): take the gateways and Redis down too.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const gateway of gateways) gateway.child.kill('SIGTERM');
    void redis.remove().finally(() => process.exit(130));
  });
}
for (let i = 0; i < 2; i++) {
  gateways.push(
    await startProcess([GATEWAY, '--config', configFile], { REDIS_URL: redis.url, MANIFOLD_DATA_DIR: mkdtempSync(join(tmpdir(), 'manifold-soak-data-')) }),
  );
}
for (const gateway of gateways) await waitReady(gateway.url.replace(/\/mcp$/, ''));
const proxy = await new RoundRobinProxy().start();
proxy.backends = gateways.map((gateway) => gateway.url.replace(/\/mcp$/, ''));
const URL_MCP = new URL(`${proxy.url}/mcp`);
const agent = new Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT });

async function waitReady(base: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const answer = await fetch(`${base}/readyz`).catch(() => undefined);
    if (answer?.ok) return;
    await sleep(100);
  }
  throw new Error(`${base} did not become ready`);
}

// --- operations --------------------------------------------------------------------------------

let ids = 0;
const sessions: string[] = [];
/** Set when the last minute is over: late closes are not errors of the run. */
let finished = false;

async function modern(method: string, params: Record<string, unknown>, name?: string): Promise<string> {
  const headers: Record<string, string> = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': method, ...(name ? { 'mcp-name': name } : {}) };
  const answer = await post(agent, URL_MCP, JSON.stringify({ jsonrpc: '2.0', id: ++ids, method, params: { ...params, _meta: ENVELOPE } }), headers);
  return check(answer.status, answer.body);
}

async function legacy(session: string, method: string, params: Record<string, unknown>): Promise<string> {
  const answer = await post(agent, URL_MCP, JSON.stringify({ jsonrpc: '2.0', id: ++ids, method, params }), {
    'mcp-session-id': session,
    'mcp-protocol-version': LEGACY,
  });
  return check(answer.status, answer.body);
}

function check(status: number, body: string): string {
  if (status !== 200) throw new Error(`HTTP ${status}: ${body.slice(0, 160)}`);
  if (body.includes('"error":{') || body.includes('"isError":true')) throw new Error(`error answer: ${body.slice(0, 160)}`);
  return body;
}

async function openSession(): Promise<string> {
  const init = await post(
    agent,
    URL_MCP,
    JSON.stringify({
      jsonrpc: '2.0',
      id: ++ids,
      method: 'initialize',
      params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: { name: 'soak', version: '1' } },
    }),
    {},
  );
  const session = init.headers['mcp-session-id'];
  if (init.status !== 200 || typeof session !== 'string') throw new Error(`initialize: HTTP ${init.status} ${init.body.slice(0, 160)}`);
  const initialized = await post(agent, URL_MCP, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), {
    'mcp-session-id': session,
    'mcp-protocol-version': LEGACY,
  });
  if (initialized.status !== 202) throw new Error(`notifications/initialized: HTTP ${initialized.status}`);
  return session;
}

async function closeSession(session: string): Promise<void> {
  const answer = await new Promise<number>((resolveClose, reject) => {
    const req = request(
      {
        agent,
        host: URL_MCP.hostname,
        port: URL_MCP.port,
        path: URL_MCP.pathname,
        method: 'DELETE',
        headers: { 'mcp-session-id': session, 'mcp-protocol-version': LEGACY },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolveClose(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
  if (answer !== 200 && answer !== 204) throw new Error(`DELETE session: HTTP ${answer}`);
}

async function run(op: Op): Promise<void> {
  const n = ids % 10;
  switch (op) {
    case 'modern_call':
      await modern('tools/call', { name: 'fx__echo', arguments: { text: `soak ${n}` } }, 'fx__echo');
      return;
    case 'modern_read':
      await modern('resources/read', { uri: `fx+fixture://items/${n}` }, `fx+fixture://items/${n}`);
      return;
    case 'modern_prompt':
      await modern('prompts/get', { name: 'fx__greet', arguments: { who: 'Ada' } }, 'fx__greet');
      return;
    case 'modern_list':
      await modern('tools/list', {});
      return;
    case 'touch':
      await modern('tools/call', { name: 'fx__touch', arguments: { uri: 'fixture://items/1' } }, 'fx__touch');
      return;
    case 'legacy_call': {
      const session = sessions[Math.floor(Math.random() * sessions.length)];
      if (!session) return;
      await legacy(session, 'tools/call', { name: 'fx__echo', arguments: { text: 'legacy' } });
      return;
    }
    case 'session_churn': {
      // Taken out of the pool first, so that no other operation picks it; closed a little later,
      // since a call that picked it just before may still be on its way.
      const [old] = sessions.splice(Math.floor(Math.random() * sessions.length), 1);
      sessions.push(await openSession());
      if (old) setTimeout(() => !finished && void closeSession(old).catch((error: unknown) => recordError(`session_close: ${(error as Error).message}`)), 500);
      return;
    }
  }
}

// --- listen streams ----------------------------------------------------------------------------

let notifications = 0;
const streams: ClientRequest[] = [];

function openListenStream(): ClientRequest {
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: ++ids,
    method: 'subscriptions/listen',
    params: { notifications: { resourceSubscriptions: ['fx+fixture://items/1'] }, _meta: ENVELOPE },
  });
  const req = request(
    {
      host: URL_MCP.hostname,
      port: URL_MCP.port,
      path: URL_MCP.pathname,
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2026-07-28',
        'mcp-method': 'subscriptions/listen',
      },
    },
    (res) => {
      if (res.statusCode !== 200) recordError(`listen: HTTP ${res.statusCode}`);
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        notifications += chunk.split('notifications/resources/updated').length - 1;
      });
      res.on('error', () => undefined);
    },
  );
  req.on('error', () => undefined);
  req.end(body);
  return req;
}

function reopenListenStreams(): void {
  for (const stream of streams.splice(0)) stream.destroy();
  for (let i = 0; i < LISTEN_STREAMS; i++) streams.push(openListenStream());
}

// --- measurement -------------------------------------------------------------------------------

let latencies: number[] = [];
let completed = 0;
let errors = 0;
const errorSamples = new Map<string, number>();

function recordError(message: string): void {
  errors += 1;
  const key = message.slice(0, 120);
  const seen = errorSamples.get(key) ?? 0;
  errorSamples.set(key, seen + 1);
  if (seen === 0) process.stderr.write(`soak: error: ${message}\n`);
}

async function timed(op: Op): Promise<void> {
  const started = performance.now();
  try {
    await run(op);
    latencies.push(performance.now() - started);
    completed += 1;
  } catch (error) {
    recordError(`${op}: ${(error as Error).message}`);
  }
}

function rssMb(pid: number): number {
  const line =
    readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmRSS:')) ?? '';
  return Number(line.replace(/\D+/g, '')) / 1024;
}

function openDescriptors(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

for (let i = 0; i < SESSIONS; i++) sessions.push(await openSession());
reopenListenStreams();

// Capacity: CONCURRENCY callers back to back.
process.stderr.write(`soak: measuring capacity for ${PROBE_SECONDS} s…\n`);
{
  const until = performance.now() + PROBE_SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) await timed(pickOp());
    }),
  );
}
const capacity = completed / PROBE_SECONDS;
const rate = capacity / 2;
process.stderr.write(`soak: capacity ${Math.round(capacity)} ops/s (errors ${errors}); running ${MINUTES} min at ${Math.round(rate)} ops/s\n`);
latencies = [];
completed = 0;
errors = 0;

interface MinuteRow {
  minute: number;
  opsPerSecond: number;
  p99Ms: number;
  errors: number;
  notifications: number;
  rssMb: number[];
  handles: number[];
}
const rows: MinuteRow[] = [];
let inFlight = 0;
let skipped = 0;
const startedAt = performance.now();
let issued = 0;
// Open loop: every 10 ms, start what the schedule says is due (bounded in flight).
const ticker = setInterval(() => {
  const due = Math.floor(((performance.now() - startedAt) / 1000) * rate) - issued;
  for (let i = 0; i < due; i++) {
    issued += 1;
    if (inFlight >= MAX_IN_FLIGHT) {
      skipped += 1;
      continue;
    }
    inFlight += 1;
    void timed(pickOp()).finally(() => (inFlight -= 1));
  }
}, 10);

console.log(`Soak: 2 gateway instances + Redis, round-robin, capacity ${Math.round(capacity)} ops/s, load ${Math.round(rate)} ops/s, ${MINUTES} min`);
console.log('| minute | ops/s | p99 ms | errors | notifications | RSS MB (A / B) | open fds (A / B) |');
console.log('|---|---|---|---|---|---|---|');
for (let minute = 1; minute <= MINUTES; minute++) {
  const rss: number[][] = gateways.map(() => []);
  const fds: number[][] = gateways.map(() => []);
  const minuteStart = performance.now();
  for (let sample = 0; sample < SAMPLES_PER_MINUTE; sample++) {
    await sleep(minuteStart + ((sample + 1) * 60_000) / SAMPLES_PER_MINUTE - performance.now());
    gateways.forEach((gateway, i) => {
      rss[i]!.push(rssMb(gateway.child.pid!));
      fds[i]!.push(openDescriptors(gateway.child.pid!));
    });
  }
  const sorted = latencies.sort((a, b) => a - b);
  const row: MinuteRow = {
    minute,
    opsPerSecond: Math.round(completed / ((performance.now() - minuteStart) / 1000)),
    p99Ms: round(percentile(sorted, 99)),
    errors,
    notifications,
    rssMb: rss.map((values) => Math.round(median(values) * 10) / 10),
    handles: fds.map((values) => median(values)),
  };
  rows.push(row);
  console.log(
    `| ${minute} | ${row.opsPerSecond} | ${row.p99Ms} | ${row.errors} | ${row.notifications} | ${row.rssMb.join(' / ')} | ${row.handles.join(' / ')} |`,
  );
  latencies = [];
  completed = 0;
  errors = 0;
  notifications = 0;
  reopenListenStreams();
}
clearInterval(ticker);
finished = true;
for (const stream of streams.splice(0)) stream.destroy();
while (inFlight > 0) await sleep(50);

const verdicts = soakVerdicts(rows, gateways.length === 2 ? ['A', 'B'] : gateways.map((_, i) => String(i)));
const totalErrors = rows.reduce((sum, row) => sum + row.errors, 0);
console.log(`\n${verdicts.join('\n')}\nerrors: ${totalErrors}${skipped ? `; ${skipped} operations not started (${MAX_IN_FLIGHT} already in flight)` : ''}`);
for (const [message, count] of errorSamples) console.log(`  ${count} × ${message}`);

const dir = join(ROOT, 'bench-results');
mkdirSync(dir, { recursive: true });
writeFileSync(
  join(dir, `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`),
  JSON.stringify({ capacity, rate, minutes: MINUTES, rows, verdicts, errorSamples: Object.fromEntries(errorSamples) }, null, 2),
);

agent.destroy();
await proxy.stop();
for (const gateway of gateways) gateway.child.kill('SIGTERM');
await Promise.all(
  gateways.map((gateway) => new Promise((resolveExit) => (gateway.child.exitCode !== null ? resolveExit(undefined) : gateway.child.once('exit', resolveExit)))),
);
await redis.remove();
process.exit(verdicts.some((verdict) => verdict.startsWith('FAIL')) ? 1 : 0);
