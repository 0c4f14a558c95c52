/**
 * The project-management server's own call rate, on both protocol revisions and both transports,
 * against the same server on MCP SDK v1 (commit 2dd92e0, built into a temporary folder at bench
 * time) in the same run:
 *
 *   (a) SDK v2 server over stdio, 2025-11-25 client (initialize, then calls)
 *   (b) SDK v2 server over stdio, 2026-07-28 client (server/discover, `_meta` envelope on every call)
 *   (c) SDK v1 server over stdio, 2025-11-25 client
 *   (d) SDK v2 server over Streamable HTTP, 2025-11-25 session (Mcp-Session-Id)
 *   (e) SDK v2 server over Streamable HTTP, 2026-07-28 stateless (envelope + MCP-Protocol-Version,
 *       Mcp-Method, Mcp-Name headers; the SDK builds a server instance per request)
 *   (f) SDK v1 server over Streamable HTTP, 2025-11-25 session
 *
 * Each target is its own process on its own copy of one seeded SQLite database. The tool is
 * `list_tasks` (a read returning 20 rows); with --writes also `create_task`. Clients are
 * hand-written: node:http with a keep-alive agent, and newline-delimited JSON-RPC on the child's
 * stdin/stdout, so that the load client stays cheap (its CPU is reported). Every process is first
 * driven at concurrency 8 and those figures discarded (JIT warm-up); then every target is measured
 * at concurrency 1, 8 and 32 in interleaved rounds, each round starting with another target, and
 * each figure is the median over rounds.
 *
 * Run: npm run build && node dist/test/bench/domainServerCalls.bench.js [--rounds 3] [--seconds 2]
 *        [--warmup 1] [--writes] [--profile] [--concurrency 1,8,32]
 * With --profile the v2 HTTP 2026-07-28 target is run again afterwards under `node --cpu-prof`
 * and the top self-time functions, time per origin and the per-request factory's share printed.
 * Results: a report on stdout, JSON and Markdown in bench-results/domain-server-calls.*.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { packageRoot } from '../../shared/packageRoot.js';
import { summariseProfile, type TimeEntry } from './cpuProfile.js';
import { cpuMs, machineBusyMs, median, percentile, post, round, send, sleep, startProcess } from './loadClient.js';

const ROOT = packageRoot();
const PM_ENTRY = join(ROOT, 'dist', 'servers', 'project-management', 'main.js');
/** The last commit with the domain servers on SDK v1 (the one before fc671da moved them to v2). */
const V1_COMMIT = '2dd92e0';
const LEGACY = '2025-11-25';
const MODERN = '2026-07-28';
type Era = typeof LEGACY | typeof MODERN;

const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '1,8,32' },
    seed: { type: 'string', default: '100' },
    writes: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
  },
});
const SECONDS = Number(flags.seconds);
/** Seconds of load before each measured window, so that every window starts with the pipeline full. */
const WARMUP_SECONDS = Number(flags.warmup);
/** Rounds of every target in turn; figures are medians over rounds, so a noisy moment weighs on one round only. */
const ROUNDS = Math.max(1, Number(flags.rounds));
const CONCURRENCY = flags.concurrency.split(',').map(Number);
const SEED_TASKS = Number(flags.seed);

// --- what is called ----------------------------------------------------------------------------

interface Operation {
  tool: 'list_tasks' | 'create_task';
  label: string;
  arguments(n: number): Record<string, unknown>;
  /** Text every successful answer contains (checked on every call, so a failing target cannot look fast). */
  expect: string;
}

const READ: Operation = { tool: 'list_tasks', label: 'list_tasks (read, 20 rows)', arguments: () => ({}), expect: '"count":20' };
const WRITE: Operation = {
  tool: 'create_task',
  label: 'create_task (write)',
  arguments: (n) => ({ title: `Bench task ${n}`, priority: 'high' }),
  expect: 'Created T-',
};
const OPERATIONS = flags.writes ? [READ, WRITE] : [READ];

/** The `_meta` envelope every 2026-07-28 request carries (see test/support/modernWire.ts). */
const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': MODERN,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'manifold-bench', version: '1' },
};
const CLIENT_INFO = { name: 'manifold-bench', version: '1' };

function checkAnswer(text: string, op: Operation, status = 200): void {
  if (status !== 200 || !text.includes(op.expect) || text.includes('"isError":true'))
    throw new Error(`bad answer to ${op.tool} (${status}): ${text.slice(0, 300)}`);
}

/** Children get a clean environment: an inherited DATABASE_URL would point the server at PostgreSQL. */
function serverEnv(dataDir: string): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'warn', MANIFOLD_DATA_DIR: dataDir };
}

// --- stdio client ------------------------------------------------------------------------------

/** One stdio connection: newline-delimited JSON-RPC over a child's stdin and stdout. */
class StdioPeer {
  readonly child: ChildProcess;
  private readonly waiting = new Map<number, { resolve: (line: string) => void; reject: (error: Error) => void }>();
  private nextId = 0;
  private stderrTail = '';

  constructor(args: string[], env: Record<string, string>) {
    this.child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
    createInterface({ input: this.child.stdout! }).on('line', (line) => this.onLine(line));
    // Drained so a chatty server never blocks on a full pipe; the tail explains an early exit.
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderrTail = (this.stderrTail + chunk.toString()).slice(-2000)));
    this.child.once('exit', (code) => {
      const error = new Error(`stdio server exited (${code}):\n${this.stderrTail}`);
      for (const { reject } of this.waiting.values()) reject(error);
      this.waiting.clear();
    });
  }

  private onLine(line: string): void {
    // Both SDKs serialise `{result…, "jsonrpc":"2.0","id":N}`: the id is read off the end of the
    // line without parsing the whole answer (the load client must stay cheap); anything else is parsed.
    let id = Number(/"id":(\d+)\}$/.exec(line)?.[1]);
    if (Number.isNaN(id)) {
      const message = JSON.parse(line) as { id?: unknown };
      if (typeof message.id !== 'number') return; // a notification
      id = message.id;
    }
    const waiter = this.waiting.get(id);
    if (!waiter) return;
    this.waiting.delete(id);
    waiter.resolve(line);
  }

  request(method: string, params: Record<string, unknown>): Promise<string> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.stdin!.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  }

  notify(method: string): void {
    this.child.stdin!.write(`${JSON.stringify({ jsonrpc: '2.0', method })}\n`);
  }

  /** End stdin (the servers shut down cleanly when their peer goes away); kill if that takes too long. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

// --- targets -----------------------------------------------------------------------------------

interface Opened {
  /** One call by worker `worker`; `n` is unique across the measurement. Throws on a wrong answer. */
  call: (worker: number, n: number) => Promise<void>;
  release: () => Promise<void>;
}

interface Target {
  label: string;
  sdk: 'v1' | 'v2';
  transport: 'stdio' | 'http';
  era: Era;
  pid: number;
  /** Set-up for one measurement at `concurrency` (HTTP: an agent, and sessions for 2025). */
  open(concurrency: number, op: Operation): Promise<Opened>;
  stop(): Promise<void>;
}

async function stdioTarget(label: string, sdk: 'v1' | 'v2', entry: string, dataDir: string, era: Era): Promise<Target> {
  const peer = new StdioPeer([entry], serverEnv(dataDir));
  // The first message pins the connection's era: initialize for 2025, an enveloped request for 2026.
  const opening =
    era === LEGACY
      ? await peer.request('initialize', { protocolVersion: LEGACY, capabilities: {}, clientInfo: CLIENT_INFO })
      : await peer.request('server/discover', { _meta: ENVELOPE });
  if (!opening.includes('"result"')) throw new Error(`${label}: opening failed: ${opening.slice(0, 300)}`);
  if (era === LEGACY) peer.notify('notifications/initialized');
  const meta = era === MODERN ? { _meta: ENVELOPE } : {};
  return {
    label,
    sdk,
    transport: 'stdio',
    era,
    pid: peer.child.pid!,
    open: async (_concurrency, op) => ({
      call: async (_worker, n) => checkAnswer(await peer.request('tools/call', { name: op.tool, arguments: op.arguments(n), ...meta }), op),
      release: async () => undefined,
    }),
    stop: () => peer.close(),
  };
}

async function startHttpServer(entry: string, dataDir: string, nodeFlags: string[] = []): Promise<{ child: ChildProcess; url: URL }> {
  // LOG_LEVEL info: the server logs the URL it bound at info level; it logs nothing per call.
  const started = await startProcess([...nodeFlags, entry, '--http', '--port', '0'], { LOG_LEVEL: 'info' }, serverEnv(dataDir));
  return { child: started.child, url: new URL(started.url) };
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** 2025-11-25 over Streamable HTTP: one session per worker, as many clients would hold, deleted afterwards. */
async function legacyHttpTarget(label: string, sdk: 'v1' | 'v2', entry: string, dataDir: string): Promise<Target> {
  const { child, url } = await startHttpServer(entry, dataDir);
  const openSession = async (agent: Agent): Promise<Record<string, string>> => {
    const init = await post(
      agent,
      url,
      JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: CLIENT_INFO } }),
      {},
    );
    const session = init.headers['mcp-session-id'];
    if (init.status !== 200 || typeof session !== 'string') throw new Error(`${label}: initialize failed: ${init.status} ${init.body.slice(0, 300)}`);
    const headers = { 'mcp-session-id': session, 'mcp-protocol-version': LEGACY };
    await post(agent, url, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), headers);
    return headers;
  };
  return {
    label,
    sdk,
    transport: 'http',
    era: LEGACY,
    pid: child.pid!,
    open: async (concurrency, op) => {
      const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
      const sessions = await Promise.all(Array.from({ length: concurrency }, () => openSession(agent)));
      return {
        call: async (worker, n) => {
          const body = JSON.stringify({ jsonrpc: '2.0', id: n, method: 'tools/call', params: { name: op.tool, arguments: op.arguments(n) } });
          const answer = await post(agent, url, body, sessions[worker]!);
          checkAnswer(answer.body, op, answer.status);
        },
        release: async () => {
          // Without the DELETE every measurement would leave its sessions' server instances behind.
          await Promise.all(sessions.map((headers) => send(agent, url, 'DELETE', undefined, headers)));
          agent.destroy();
        },
      };
    },
    stop: () => stopProcess(child),
  };
}

/** 2026-07-28 over Streamable HTTP: no session; the envelope and the routing headers on every request. */
async function modernHttpTarget(label: string, entry: string, dataDir: string, nodeFlags: string[] = []): Promise<Target> {
  const { child, url } = await startHttpServer(entry, dataDir, nodeFlags);
  return {
    label,
    sdk: 'v2',
    transport: 'http',
    era: MODERN,
    pid: child.pid!,
    open: async (concurrency, op) => {
      const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
      const headers = { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': op.tool };
      return {
        call: async (_worker, n) => {
          const body = JSON.stringify({ jsonrpc: '2.0', id: n, method: 'tools/call', params: { name: op.tool, arguments: op.arguments(n), _meta: ENVELOPE } });
          const answer = await post(agent, url, body, headers);
          checkAnswer(answer.body, op, answer.status);
        },
        release: async () => agent.destroy(),
      };
    },
    stop: () => stopProcess(child),
  };
}

// --- measuring ---------------------------------------------------------------------------------

interface Sample {
  target: string;
  op: string;
  concurrency: number;
  calls: number;
  callsPerSecond: number;
  p50ms: number;
  p99ms: number;
  serverCpuMsPerCall: number;
  clientCpuMsPerCall: number;
  /** Cores busy with other work on the machine during the window (other engineers' tests, idle targets). */
  otherLoadCores: number;
}

interface Window {
  fromUs: number;
  toUs: number;
}

/** Monotonic microseconds: the clock of V8's CPU profile timestamps too. */
const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

let callCounter = 0;

/** Drive `target` with `concurrency` callers for the warm-up and the measured window. */
async function drive(target: Target, op: Operation, concurrency: number, seconds: number, warmupSeconds: number): Promise<{ sample: Sample; window: Window }> {
  const { call, release } = await target.open(concurrency, op);
  const latencies: number[] = [];
  let stop = false;
  let measuring = false;
  const worker = async (w: number): Promise<void> => {
    while (!stop) {
      const started = performance.now();
      await call(w, ++callCounter);
      if (measuring) latencies.push(performance.now() - started);
    }
  };
  // A failing call stops every worker and ends the measurement early with its error.
  const outcome = Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w))).then(
    () => undefined,
    (error: unknown) => {
      stop = true;
      return error instanceof Error ? error : new Error(String(error));
    },
  );
  const pause = async (ms: number): Promise<void> => {
    const failure = await Promise.race([sleep(ms).then(() => undefined), outcome]);
    if (failure) throw new Error(`${target.label}: ${failure.message}`);
  };
  await pause(warmupSeconds * 1000);
  const serverBefore = cpuMs(target.pid);
  const machineBefore = machineBusyMs();
  const clientBefore = process.cpuUsage();
  const began = performance.now();
  const fromUs = monotonicUs();
  measuring = true;
  await pause(seconds * 1000);
  measuring = false;
  const toUs = monotonicUs();
  const elapsedMs = performance.now() - began;
  const client = process.cpuUsage(clientBefore);
  const serverCpu = cpuMs(target.pid) - serverBefore;
  const machine = machineBusyMs() - machineBefore;
  stop = true;
  const failure = await Promise.race([outcome, sleep(30_000).then(() => new Error('calls still pending 30 s after the window closed'))]);
  if (failure) throw new Error(`${target.label}: ${failure.message}`);
  await release();
  const calls = latencies.length;
  const sorted = latencies.sort((a, b) => a - b);
  const clientCpu = (client.user + client.system) / 1000;
  return {
    sample: {
      target: target.label,
      op: op.label,
      concurrency,
      calls,
      callsPerSecond: Math.round((calls / elapsedMs) * 1000),
      p50ms: round(percentile(sorted, 50)),
      p99ms: round(percentile(sorted, 99)),
      serverCpuMsPerCall: round(serverCpu / calls),
      clientCpuMsPerCall: round(clientCpu / calls),
      otherLoadCores: Math.round((Math.max(0, machine - serverCpu - clientCpu) / elapsedMs) * 100) / 100,
    },
    window: { fromUs, toUs },
  };
}

/** One figure per target, operation and concurrency: each the median over rounds. */
function medianOverRounds(samples: Sample[]): Sample[] {
  const groups = new Map<string, Sample[]>();
  for (const s of samples) {
    const key = `${s.target}\u0000${s.op}\u0000${s.concurrency}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  return [...groups.values()].map((group) => {
    const pick = (field: 'callsPerSecond' | 'p50ms' | 'p99ms' | 'serverCpuMsPerCall' | 'clientCpuMsPerCall' | 'otherLoadCores'): number =>
      median(group.map((s) => s[field]));
    const first = group[0]!;
    return {
      target: first.target,
      op: first.op,
      concurrency: first.concurrency,
      calls: group.reduce((sum, s) => sum + s.calls, 0),
      callsPerSecond: pick('callsPerSecond'),
      p50ms: pick('p50ms'),
      p99ms: pick('p99ms'),
      serverCpuMsPerCall: pick('serverCpuMsPerCall'),
      clientCpuMsPerCall: pick('clientCpuMsPerCall'),
      otherLoadCores: pick('otherLoadCores'),
    };
  });
}

// --- the v1 server, built from history ---------------------------------------------------------

type V1Build = { ok: true; entry: string; seconds: number } | { ok: false; reason: string; failed: boolean };

/**
 * Build the project-management server of commit 2dd92e0 (SDK v1) into `dir`: its servers/ and
 * shared/ from `git archive` (nothing in this checkout's index or working tree is touched), this
 * checkout's node_modules linked in (SDK v1 is still installed as @modelcontextprotocol/sdk), and
 * only the server entry compiled.
 */
function buildV1Server(dir: string): V1Build {
  const began = performance.now();
  const git = (args: string[]) => spawnSync('git', ['-C', ROOT, ...args], { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 });
  if (git(['cat-file', '-e', `${V1_COMMIT}^{commit}`]).status !== 0) {
    const shallow = git(['rev-parse', '--is-shallow-repository']).stdout?.toString().trim() === 'true';
    return {
      ok: false,
      failed: false,
      reason: shallow
        ? `commit ${V1_COMMIT} is not in this shallow clone (git fetch --unshallow brings it)`
        : `commit ${V1_COMMIT} is not in this checkout's git history (or git is not available)`,
    };
  }
  const archive = git(['archive', '--format=tar', V1_COMMIT, 'package.json', 'tsconfig.json', 'servers/project-management', 'shared']);
  if (archive.status !== 0) return { ok: false, failed: true, reason: `git archive ${V1_COMMIT} failed: ${archive.stderr.toString()}` };
  mkdirSync(dir, { recursive: true });
  const untar = spawnSync('tar', ['-x', '-C', dir], { input: archive.stdout });
  if (untar.status !== 0) return { ok: false, failed: true, reason: `tar failed: ${untar.stderr.toString()}` };
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  // The commit's own compiler options, narrowed to the one entry (tsc follows its imports).
  writeFileSync(
    join(dir, 'tsconfig.bench-v1.json'),
    JSON.stringify({ extends: './tsconfig.json', compilerOptions: { sourceMap: false }, include: ['servers/project-management/main.ts'] }),
  );
  const tsc = spawnSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.bench-v1.json'], { cwd: dir, encoding: 'utf8' });
  const entry = join(dir, 'dist', 'servers', 'project-management', 'main.js');
  if (tsc.status !== 0 || !existsSync(entry)) return { ok: false, failed: true, reason: `compiling ${V1_COMMIT} failed:\n${tsc.stdout}${tsc.stderr}` };
  return { ok: true, entry, seconds: (performance.now() - began) / 1000 };
}

// --- seed --------------------------------------------------------------------------------------

/** The one database every target gets a copy of, written through the current server over stdio. */
async function seedDatabase(dir: string): Promise<void> {
  const peer = new StdioPeer([PM_ENTRY], serverEnv(dir));
  await peer.request('initialize', { protocolVersion: LEGACY, capabilities: {}, clientInfo: CLIENT_INFO });
  peer.notify('notifications/initialized');
  const priorities = ['low', 'medium', 'high', 'urgent'];
  for (let i = 0; i < SEED_TASKS; i++) {
    const args = {
      title: `Seed task ${i}`,
      description: `Seeded for the benchmark (${i}).`,
      priority: priorities[i % 4],
      ...(i % 3 ? { assignee: `dev${i % 5}@example.com` } : {}),
    };
    checkAnswer(await peer.request('tools/call', { name: 'create_task', arguments: args }), WRITE);
  }
  // A clean exit closes the database, folding the WAL into the file that is copied.
  await peer.close();
}

// --- profile -----------------------------------------------------------------------------------

const ms = (value: number): string => value.toFixed(1);
const pct = (part: number, whole: number): string => `${((part / whole) * 100).toFixed(1)}%`;

/** The same target (e) under `node --cpu-prof`, measured once at concurrency 8 after its warm-up. */
async function profileModernHttp(seedDir: string, workDir: string): Promise<string[]> {
  const dataDir = join(workDir, 'data-profile');
  cpSync(seedDir, dataDir, { recursive: true });
  const profileDir = join(workDir, 'profile');
  const name = 'pm-v2-http-2026.cpuprofile';
  // 500 µs sampling: thousands of samples in a few seconds of load, at an overhead that leaves the shares readable.
  const nodeFlags = ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}`, '--cpu-prof-interval=500'];
  const target = await modernHttpTarget('(e) v2 HTTP, 2026-07-28 stateless, under --cpu-prof', PM_ENTRY, dataDir, nodeFlags);
  const concurrency = 8;
  const seconds = Math.max(SECONDS, 3);
  await drive(target, READ, concurrency, WARMUP_SECONDS + SECONDS, 0);
  const { sample, window } = await drive(target, READ, concurrency, seconds, WARMUP_SECONDS);
  await target.stop(); // SIGTERM: the server exits through process.exit, and Node writes the profile then
  const file = join(profileDir, name);
  if (!existsSync(file)) return [`profile: no profile was written (${file})`];
  const kept = join(ROOT, 'bench-results', 'profiles');
  mkdirSync(kept, { recursive: true });
  copyFileSync(file, join(kept, name));

  const summary = summariseProfile(file, window);
  const perCall = (value: number): string => `${((value / sample.calls) * 1000).toFixed(0)} µs/call`;
  const isFactory = (fn: string, url: string) => fn === 'createProjectManagementServer' && url.includes('/servers/project-management/');
  const factory = summary.inclusive(isFactory);
  const inclusiveRows: Array<[string, (fn: string, url: string) => boolean]> = [
    ['createProjectManagementServer (our factory, per request)', isFactory],
    ['  registerTaskTools', (fn) => fn === 'registerTaskTools'],
    ['  registerProjectTools', (fn) => fn === 'registerProjectTools'],
    ['  registerBreakdownTool', (fn) => fn === 'registerBreakdownTool'],
    ['  registerResources', (fn) => fn === 'registerResources'],
    ['  registerPrompts', (fn) => fn === 'registerPrompts'],
    ['  McpServer constructor (SDK)', (fn, url) => fn === 'McpServer' && url.includes('@modelcontextprotocol/server')],
    ['SDK: output schema → JSON Schema (convertOutputSchemaJson)', (fn) => fn === 'convertOutputSchemaJson'],
    ['SDK: any schema → JSON Schema (standardSchemaToJsonSchema)', (fn) => fn === 'standardSchemaToJsonSchema'],
    ['  of which the SEP-2243 Mcp-Param check (toolInputSchemaJson)', (fn) => fn === 'toolInputSchemaJson'],
    ['SDK: tool input validation (validateToolInput)', (fn) => fn === 'validateToolInput'],
    ['SDK: tool output validation (validateToolOutput)', (fn) => fn === 'validateToolOutput'],
    ['our tool handler (list_tasks → store.listTasks)', (fn) => fn === 'listTasks'],
    ['SDK: Protocol connect (per-request instance)', (fn, url) => fn === 'connect' && url.includes('@modelcontextprotocol/')],
    ['SDK: Protocol close (per-request instance)', (fn, url) => fn === 'close' && url.includes('@modelcontextprotocol/')],
  ];
  const lines = [
    '',
    `## Profile: (e) v2 HTTP 2026-07-28, list_tasks at concurrency ${concurrency} (${sample.calls} calls in ${seconds} s, ${sample.callsPerSecond} calls/s under the profiler)`,
    `server main thread in the window: ${ms(summary.busyMs)} ms busy (${perCall(summary.busyMs)}), ${ms(summary.idleMs)} ms idle, ${summary.samples} samples; profile kept in bench-results/profiles/${name}`,
    "Per-call figures include the profiler's own overhead (the table above has the unprofiled CPU per call): read the shares.",
    '',
    'Top self time:',
    '| function | origin | self ms | share | per call |',
    '|---|---|---|---|---|',
    ...summary.self.slice(0, 25).map((e: TimeEntry) => `| ${e.name} | ${e.origin} | ${ms(e.ms)} | ${pct(e.ms, summary.busyMs)} | ${perCall(e.ms)} |`),
    '',
    'Self time by origin:',
    '| origin | ms | share | per call |',
    '|---|---|---|---|',
    ...summary.origins.slice(0, 15).map((e) => `| ${e.name} | ${ms(e.ms)} | ${pct(e.ms, summary.busyMs)} | ${perCall(e.ms)} |`),
    '',
    'Inclusive time (samples with the function on the stack):',
    '| under | ms | share | per call |',
    '|---|---|---|---|',
    ...inclusiveRows.map(([label, match]) => {
      const value = summary.inclusive(match);
      return `| ${label} | ${ms(value)} | ${pct(value, summary.busyMs)} | ${perCall(value)} |`;
    }),
    '',
    `Inside createProjectManagementServer, by origin of the running function (${ms(factory)} ms):`,
    ...summary
      .originsUnder(isFactory)
      .slice(0, 8)
      .map((e) => `  ${e.name}: ${ms(e.ms)} ms (${pct(e.ms, factory)})`),
  ];
  return [...lines, '', ...(await factoryMicroBench(join(workDir, 'data-factory'), seedDir))];
}

/**
 * createProjectManagementServer called in this process, without a profiler: what the 2026-07-28
 * HTTP path pays per request before the SDK sees the request, split by registration step, and
 * what would remain if the definitions (zod schemas, configs, handlers) were built once per
 * process and only registered per request. The latter is emulated without changing the server:
 * one instance is built with its register calls recorded, and each timed instance replays them
 * with the very same definition objects.
 */
async function factoryMicroBench(dataDir: string, seedDir: string): Promise<string[]> {
  cpSync(seedDir, dataDir, { recursive: true });
  const { McpServer } = await import('@modelcontextprotocol/server');
  const { openDatabase } = await import('../../servers/project-management/store/database.js');
  const { ProjectStore } = await import('../../servers/project-management/store/projectStore.js');
  const { publishStoreChanges, registerResources } = await import('../../servers/project-management/resources.js');
  const { pendingInputCodec, serverContext } = await import('../../servers/project-management/context.js');
  const { createProjectManagementServer, SERVER_INFO } = await import('../../servers/project-management/server.js');
  const { registerTaskTools } = await import('../../servers/project-management/tools/tasks.js');
  const { registerProjectTools } = await import('../../servers/project-management/tools/projects.js');
  const { registerBreakdownTool } = await import('../../servers/project-management/tools/breakdown.js');
  const { registerPrompts } = await import('../../servers/project-management/prompts.js');
  const { createLogger } = await import('../../shared/logger.js');
  const database = await openDatabase({ kind: 'sqlite', file: join(dataDir, 'project-management.sqlite') });
  try {
    const store = new ProjectStore(database.db);
    const caller = { trustCallerMeta: false, localUser: 'bench' };
    const deps = {
      store,
      logger: createLogger('bench', 'silent'),
      ...caller,
      defaultProject: 'general',
      samplingTimeoutMs: 60_000,
      changes: publishStoreChanges(store),
      pendingInput: pendingInputCodec(randomBytes(32), caller),
    };
    const instance = { era: 'modern', changes: 'none' } as const;
    type Ctx = ReturnType<typeof serverContext>;
    const bare = () => new McpServer(SERVER_INFO, { capabilities: { logging: {} } });
    const registerAll = (ctx: Ctx): void => {
      registerTaskTools(ctx);
      registerProjectTools(ctx);
      registerBreakdownTool(ctx);
      registerResources(ctx);
      registerPrompts(ctx);
    };

    // CPU time (all threads, GC included), not wall time: other processes on the machine do not inflate it.
    const runs = 500;
    const cpuUsIt = (fn: () => void): number => {
      for (let i = 0; i < 200; i++) fn(); // JIT warm-up
      const before = process.cpuUsage();
      for (let i = 0; i < runs; i++) fn();
      const used = process.cpuUsage(before);
      return (used.user + used.system) / runs;
    };

    // Record one instance's registrations, to replay them with the same definition objects.
    const methods = ['registerTool', 'registerResource', 'registerPrompt'] as const;
    const recorded: Array<{ method: (typeof methods)[number]; args: unknown[] }> = [];
    const probe = bare();
    for (const method of methods) {
      const original = probe[method];
      Object.defineProperty(probe, method, {
        value: (...args: unknown[]): unknown => {
          recorded.push({ method, args });
          return Reflect.apply(original, probe, args);
        },
      });
    }
    registerAll(serverContext(probe, deps));
    const replay = () => {
      const server = bare();
      for (const { method, args } of recorded) Reflect.apply(server[method], server, args);
    };

    // What the SDK then does per instance on a list_tasks call (memoised per instance only, so per
    // request here): the input schema as JSON Schema for the Mcp-Param header check (SEP-2243),
    // and the output schema as JSON Schema for the result projection.
    const listTasks = recorded.find((r) => r.method === 'registerTool' && r.args[0] === 'list_tasks');
    const config = listTasks?.args[1] as { inputSchema?: JsonSchemaSource; outputSchema?: JsonSchemaSource } | undefined;
    const toJson = (schema: JsonSchemaSource | undefined, io: 'input' | 'output') => schema?.['~standard'].jsonSchema?.[io]({ target: 'draft-2020-12' });

    const whole = cpuUsIt(() => createProjectManagementServer(deps, instance));
    const bareUs = cpuUsIt(bare);
    const step = (register: (ctx: Ctx) => void) => cpuUsIt(() => register(serverContext(bare(), deps))) - bareUs;
    const rows: Array<[string, number]> = [
      ['bare McpServer (SDK constructor only)', bareUs],
      ['+ registerTaskTools (8 tools)', step(registerTaskTools)],
      ['+ registerProjectTools', step(registerProjectTools)],
      ['+ registerBreakdownTool', step(registerBreakdownTool)],
      ['+ registerResources', step((ctx) => registerResources(ctx))],
      ['+ registerPrompts', step(registerPrompts)],
    ];
    const replayUs = cpuUsIt(replay);
    const conversions = cpuUsIt(() => {
      toJson(config?.inputSchema, 'input');
      toJson(config?.outputSchema, 'output');
    });
    return [
      `Factory in-process, CPU time, no profiler (${runs} calls after 200 warm-up calls each):`,
      `  createProjectManagementServer (its surface built once per process, installed per request): ${whole.toFixed(0)} µs per request`,
      `  building the surface on each request instead, step by step:`,
      ...rows.map(([label, us]) => `    ${label}: ${us.toFixed(0)} µs`),
      `  the same ${recorded.length} registrations replayed with definitions built once: ${replayUs.toFixed(0)} µs per request`,
      `  SDK per-instance JSON Schema conversions for one list_tasks call (input for SEP-2243, output for projection): ${conversions.toFixed(0)} µs per request${config ? '' : ' (list_tasks not found)'}`,
    ];
  } finally {
    await database.close();
  }
}

/** The part of a Standard Schema (zod ≥ 4.2 implements it) the SDK converts to JSON Schema. */
interface JsonSchemaSource {
  '~standard': { jsonSchema?: Record<'input' | 'output', (options: { target: string }) => unknown> };
}

// --- main --------------------------------------------------------------------------------------

const work = mkdtempSync(join(tmpdir(), 'manifold-pm-bench-'));
const targets: Target[] = [];
const notes: string[] = [];
const report: string[] = [];
// The temporary folder (with the v1 build) goes whatever happens, even on an early error.
process.once('exit', () => rmSync(work, { recursive: true, force: true }));
try {
  const loadBefore = loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');
  const v1 = buildV1Server(join(work, 'v1'));
  if (v1.ok) notes.push(`v1 server: commit ${V1_COMMIT} built in ${v1.seconds.toFixed(1)} s into a temporary folder (removed afterwards)`);
  else {
    notes.push(`v1 rows SKIPPED: ${v1.reason}`);
    process.stderr.write(`domainServerCalls: v1 rows skipped: ${v1.reason}\n`);
    if (v1.failed) process.exitCode = 1;
  }
  const seedDir = join(work, 'seed');
  await seedDatabase(seedDir);
  const dataFor = (key: string): string => {
    const dir = join(work, `data-${key}`);
    cpSync(seedDir, dir, { recursive: true });
    return dir;
  };

  targets.push(await stdioTarget('(a) v2 stdio, 2025 client', 'v2', PM_ENTRY, dataFor('a'), LEGACY));
  targets.push(await stdioTarget('(b) v2 stdio, 2026 client', 'v2', PM_ENTRY, dataFor('b'), MODERN));
  if (v1.ok) targets.push(await stdioTarget('(c) v1 stdio, 2025 client', 'v1', v1.entry, dataFor('c'), LEGACY));
  targets.push(await legacyHttpTarget('(d) v2 HTTP, 2025 session', 'v2', PM_ENTRY, dataFor('d')));
  targets.push(await modernHttpTarget('(e) v2 HTTP, 2026 stateless', PM_ENTRY, dataFor('e')));
  if (v1.ok) targets.push(await legacyHttpTarget('(f) v1 HTTP, 2025 session', 'v1', v1.entry, dataFor('f')));

  // Each process is first driven at concurrency 8 and the figures discarded: a fresh process
  // needs some seconds of calls before V8 has optimised its hot paths, and a long-running server
  // is what is measured.
  for (const target of targets) for (const op of OPERATIONS) await drive(target, op, 8, WARMUP_SECONDS + SECONDS, 0);

  const samples: Sample[] = [];
  const perRound: Array<Sample & { round: number }> = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const op of OPERATIONS) {
      for (const concurrency of CONCURRENCY) {
        // Each round starts with another target, so that no target always follows the same one.
        for (let i = 0; i < targets.length; i++) {
          const target = targets[(i + r) % targets.length]!;
          const { sample } = await drive(target, op, concurrency, SECONDS, WARMUP_SECONDS);
          samples.push(sample);
          perRound.push({ ...sample, round: r });
          process.stderr.write(`  round ${r + 1}/${ROUNDS} ${op.tool} c=${concurrency} ${target.label}: ${sample.callsPerSecond} calls/s\n`);
        }
      }
    }
  }
  for (const target of targets.splice(0)) await target.stop();
  const loadAfter = loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');
  const results = medianOverRounds(samples);

  // --- report ----------------------------------------------------------------------------------
  report.push(
    `# project-management server: SDK v2 (this checkout) against SDK v1 (${V1_COMMIT}), same run`,
    `${cpus().length} cores, Node ${process.version}; ${ROUNDS} round(s) × ${SECONDS} s per figure after ${WARMUP_SECONDS} s of load, every process warmed at concurrency 8 first; seed ${SEED_TASKS} tasks; load average ${loadBefore} before, ${loadAfter} after`,
    ...notes,
    '',
    '| target | tool | conc. | calls/s | p50 ms | p99 ms | server CPU ms/call | client CPU ms/call | other load (cores) |',
    '|---|---|---|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.target} | ${r.op} | ${r.concurrency} | ${r.callsPerSecond} | ${r.p50ms} | ${r.p99ms} | ${r.serverCpuMsPerCall} | ${r.clientCpuMsPerCall} | ${r.otherLoadCores} |`,
    ),
  );

  const find = (list: Sample[], prefix: string, op: string, c: number) => list.find((s) => s.target.startsWith(prefix) && s.op === op && s.concurrency === c);
  const pairs: Array<{ label: string; v2: string; v1: string; transport: 'stdio' | 'http' }> = [
    { label: 'stdio, 2025 client: (a)/(c)', v2: '(a)', v1: '(c)', transport: 'stdio' },
    { label: 'stdio, 2026 client: (b)/(c)', v2: '(b)', v1: '(c)', transport: 'stdio' },
    { label: 'HTTP, 2025 session: (d)/(f)', v2: '(d)', v1: '(f)', transport: 'http' },
    { label: 'HTTP, 2026 stateless: (e)/(f)', v2: '(e)', v1: '(f)', transport: 'http' },
  ];
  /** v2/v1 of one field in each round: both targets measured in the same round at the same concurrency. */
  const pairedRatios = (pair: { v2: string; v1: string }, op: string, c: number, field: 'callsPerSecond' | 'serverCpuMsPerCall'): number[] =>
    Array.from({ length: ROUNDS }, (_, r) => {
      const x = perRound.find((s) => s.round === r && s.target.startsWith(pair.v2) && s.op === op && s.concurrency === c)!;
      const y = perRound.find((s) => s.round === r && s.target.startsWith(pair.v1) && s.op === op && s.concurrency === c)!;
      return x[field] / y[field];
    });
  /** The median proper (mean of the middle two for an even count): with two rounds the upper value would flatter v2. */
  const middle = (values: number[]): number => {
    const sorted = [...values].sort((x, y) => x - y);
    const half = sorted.length / 2;
    return sorted.length % 2 ? sorted[Math.floor(half)]! : (sorted[half - 1]! + sorted[half]!) / 2;
  };
  const range = (values: number[]): string => `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}`;
  if (v1.ok) {
    report.push(
      '',
      'v2/v1 in this run (calls/s: above 1 is v2 faster; p50 and CPU: below 1 is v2 cheaper), as ratios of the medians above;',
      '"rounds" columns give the range of the paired per-round ratios (v2 and v1 measured in the same round at the same concurrency).',
      '',
      '| pair | tool | conc. | calls/s v2/v1 | rounds | p50 v2/v1 | server CPU v2/v1 | rounds |',
      '|---|---|---|---|---|---|---|---|',
    );
    const verdicts: Array<{ state: 'met' | 'met within noise' | 'NOT met'; line: string; cpuHigherEveryRound: boolean }> = [];
    for (const pair of pairs) {
      for (const op of OPERATIONS) {
        for (const c of CONCURRENCY) {
          const a = find(results, pair.v2, op.label, c)!;
          const b = find(results, pair.v1, op.label, c)!;
          const throughput = pairedRatios(pair, op.label, c, 'callsPerSecond');
          const cpu = pairedRatios(pair, op.label, c, 'serverCpuMsPerCall');
          report.push(
            `| ${pair.label} | ${op.tool} | ${c} | ${(a.callsPerSecond / b.callsPerSecond).toFixed(2)} | ${range(throughput)} | ${(a.p50ms / b.p50ms).toFixed(2)} | ${(a.serverCpuMsPerCall / b.serverCpuMsPerCall).toFixed(2)} | ${range(cpu)} |`,
          );
          if (pair.transport !== 'stdio') continue;
          // Noise is read off the paired ratios themselves: v2 counts as slower only when it was
          // slower in every round AND the median shortfall exceeds the rounds' own spread (half
          // their range). Pairing matters on a shared machine: the load moves between rounds, and
          // each round measures both targets under about the same load.
          const med = middle(throughput);
          const spread = (Math.max(...throughput) - Math.min(...throughput)) / 2;
          const state = med >= 1 ? 'met' : Math.max(...throughput) >= 1 || med >= 1 - spread ? 'met within noise' : 'NOT met';
          const cpuHigherEveryRound = Math.min(...cpu) > 1;
          verdicts.push({
            state,
            cpuHigherEveryRound,
            line: `  ${pair.label.split(':')[0]}, ${op.tool}, c=${c}: calls/s v2/v1 ${med.toFixed(2)} (rounds ${range(throughput)}, spread ±${spread.toFixed(2)}) → ${state}; server CPU/call v2/v1 ${range(cpu)}${cpuHigherEveryRound ? ' (higher in every round)' : ''}`,
          });
        }
      }
    }
    const overall = verdicts.some((v) => v.state === 'NOT met') ? 'NOT MET' : verdicts.some((v) => v.state === 'met within noise') ? 'MET WITHIN NOISE' : 'MET';
    const costlier = verdicts.filter((v) => v.cpuHigherEveryRound).length;
    report.push(
      '',
      `Requirement "over stdio the v2 server is no slower than v1" (median paired calls/s ratio ≥ 1.0 within noise, both client eras, every concurrency): ${overall}`,
      ...verdicts.map((v) => v.line),
      ROUNDS < 2
        ? '  (1 round: no noise estimate, so any ratio below 1.00 counts as not met; run with --rounds 3 or more)'
        : '  Noise: per cell, the paired per-round ratios; a shortfall counts only if v2 was slower in every round and by more than half their range.',
      `  Server CPU per call, the steadier figure on a loaded machine: v2 used more than v1 in every round in ${costlier} of ${verdicts.length} stdio cells` +
        (costlier > 0 ? ' (when the server is CPU-bound, that is what throughput follows on a quiet machine).' : '.'),
    );
  }

  if (flags.profile) report.push(...(await profileModernHttp(seedDir, work)));

  const text = `${report.join('\n')}\n`;
  process.stdout.write(text);
  mkdirSync(join(ROOT, 'bench-results'), { recursive: true });
  writeFileSync(
    join(ROOT, 'bench-results', 'domain-server-calls.json'),
    JSON.stringify({ seconds: SECONDS, warmupSeconds: WARMUP_SECONDS, rounds: ROUNDS, results, perRound, notes }, null, 2),
  );
  writeFileSync(join(ROOT, 'bench-results', 'domain-server-calls.md'), text);
} finally {
  for (const target of targets) await target.stop().catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
}
