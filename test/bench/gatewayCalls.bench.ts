/**
 * Tool-call throughput and latency: a trivial `echo` tool called
 *   1. through the Manifold gateway over Streamable HTTP (fixture child over stdio), without
 *      authentication (loopback development) and with OAuth on (a JWT verified per request),
 *   2. straight to the same fixture served by the SDK's Streamable HTTP transport (JSON responses),
 *   3. straight to the fixture over stdio (newline-delimited JSON-RPC),
 *   4. through a bare node:http → stdio relay with no MCP layers (bareRelay.ts): the floor
 *      that any gateway with child processes pays,
 * at concurrency 1, 8 and 32. The load client is hand-written JSON-RPC over node:http
 * (keep-alive, no fetch) so that it is not the bottleneck; its own CPU is reported, as is
 * the CPU of the server process(es) per call.
 *
 * Run: npx tsc -p . && node dist/test/bench/gatewayCalls.bench.js [--seconds 3] [--warmup 2] [--rounds 1] [--profile]
 * With --rounds N every target is measured in turn N times, each round starting with another
 * target, and each figure is the median.
 * Results: a table on stdout, JSON in bench-results/gateway-calls.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { TestIssuer } from '../support/testIssuer.js';
import { childPids, cpuMs, median, percentile, post, round, startProcess } from './loadClient.js';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const FIXTURE = join(ROOT, 'dist', 'test', 'fixtures', 'gateway', 'fixtureServer.js');
const GATEWAY = join(ROOT, 'dist', 'gateway', 'main.js');
const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '1' },
    profile: { type: 'boolean', default: false },
  },
});
const SECONDS = Number(flags.seconds);
/** Every target gets the same warm-up before each measurement, so that all are compared after JIT compilation settles. */
const WARMUP_SECONDS = Number(flags.warmup);
/** Rounds of every target in turn; each figure is the median over rounds, so that a noisy moment weighs on one round only. */
const ROUNDS = Math.max(1, Number(flags.rounds));
const CONCURRENCY = [1, 8, 32];

interface Result {
  target: string;
  concurrency: number;
  calls: number;
  callsPerSecond: number;
  p50ms: number;
  p99ms: number;
  clientCpuMsPerCall: number;
  serverCpuMsPerCall: number;
  childCpuMsPerCall?: number;
}

// --- HTTP load client ------------------------------------------------------------------------

async function httpSession(agent: Agent, url: URL, auth: Record<string, string> = {}): Promise<Record<string, string>> {
  const init = await post(
    agent,
    url,
    JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
    }),
    auth,
  );
  const session = init.headers['mcp-session-id'];
  if (init.status !== 200 || typeof session !== 'string') throw new Error(`initialize failed: ${init.status} ${init.body}`);
  const headers = { ...auth, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' };
  await post(agent, url, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), headers);
  return headers;
}

/** The `_meta` envelope a 2026-07-28 request carries. */
const MODERN_ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'bench', version: '1' },
};

/** 2026-07-28 has no session: the headers every tools/call carries instead. */
function modernHeaders(auth: Record<string, string>, tool: string): Record<string, string> {
  return { ...auth, 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': tool };
}

async function runHttp(
  target: string,
  urlText: string,
  tool: string,
  concurrency: number,
  pids: () => { server: number; children: number[] },
  auth: Record<string, string> = {},
  call: { arguments: Record<string, unknown>; expect: string } = { arguments: { text: 'hello' }, expect: '"hello"' },
  era: 'legacy' | 'modern' = 'legacy',
): Promise<Result> {
  const url = new URL(urlText);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const sessions = await Promise.all(
    Array.from({ length: concurrency }, () => (era === 'modern' ? Promise.resolve(modernHeaders(auth, tool)) : httpSession(agent, url, auth))),
  );
  const latencies: number[] = [];
  let stop = false;
  let measuring = false;
  const worker = async (headers: Record<string, string>): Promise<void> => {
    let id = 1;
    while (!stop) {
      const params = era === 'modern' ? { name: tool, arguments: call.arguments, _meta: MODERN_ENVELOPE } : { name: tool, arguments: call.arguments };
      const body = JSON.stringify({ jsonrpc: '2.0', id: id++, method: 'tools/call', params });
      const started = performance.now();
      const response = await post(agent, url, body, headers);
      if (response.status !== 200 || !response.body.includes(call.expect)) throw new Error(`bad response ${response.status}: ${response.body.slice(0, 200)}`);
      if (measuring) latencies.push(performance.now() - started);
    }
  };
  return measure(
    target,
    concurrency,
    latencies,
    pids,
    () => Promise.all(sessions.map((h) => worker(h))),
    (value) => (measuring = value),
    () => (stop = true),
    () => agent.destroy(),
  );
}

// --- stdio load client -----------------------------------------------------------------------

async function runStdio(concurrency: number): Promise<Result> {
  const child = spawn(process.execPath, [FIXTURE], { stdio: ['pipe', 'pipe', 'ignore'], env: { ...process.env, LOG_LEVEL: 'warn' } });
  const waiting = new Map<number, (line: string) => void>();
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    const id = /"id":(\d+)/.exec(line)?.[1];
    if (id !== undefined) waiting.get(Number(id))?.(line);
  });
  let nextId = 0;
  const call = (message: Record<string, unknown>): Promise<string> => {
    const id = ++nextId;
    return new Promise((resolveCall) => {
      waiting.set(id, (line) => {
        waiting.delete(id);
        resolveCall(line);
      });
      child.stdin!.write(`${JSON.stringify({ jsonrpc: '2.0', id, ...message })}\n`);
    });
  };
  await call({ method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } });
  child.stdin!.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
  const latencies: number[] = [];
  let stop = false;
  let measuring = false;
  const worker = async (): Promise<void> => {
    while (!stop) {
      const started = performance.now();
      const line = await call({ method: 'tools/call', params: { name: 'echo', arguments: { text: 'hello' } } });
      if (!line.includes('"hello"')) throw new Error(`bad response ${line}`);
      if (measuring) latencies.push(performance.now() - started);
    }
  };
  return measure(
    'direct stdio (child)',
    concurrency,
    latencies,
    () => ({ server: child.pid!, children: [] }),
    () => Promise.all(Array.from({ length: concurrency }, worker)),
    (v) => (measuring = v),
    () => (stop = true),
    () => child.kill(),
  );
}

async function measure(
  target: string,
  concurrency: number,
  latencies: number[],
  pids: () => { server: number; children: number[] },
  start: () => Promise<unknown>,
  setMeasuring: (value: boolean) => void,
  stop: () => void,
  cleanup: () => void,
): Promise<Result> {
  const running = start();
  await new Promise((r) => setTimeout(r, WARMUP_SECONDS * 1000));
  const { server, children } = pids();
  const serverBefore = cpuMs(server);
  const childrenBefore = children.map(cpuMs);
  const clientBefore = process.cpuUsage();
  const began = performance.now();
  setMeasuring(true);
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  setMeasuring(false);
  const elapsed = (performance.now() - began) / 1000;
  const client = process.cpuUsage(clientBefore);
  const serverCpu = cpuMs(server) - serverBefore;
  const childCpu = children.map(cpuMs).reduce((sum, v, i) => sum + v - (childrenBefore[i] ?? 0), 0);
  stop();
  await running;
  cleanup();
  const calls = latencies.length;
  const sorted = latencies.sort((a, b) => a - b);
  return {
    target,
    concurrency,
    calls,
    callsPerSecond: Math.round(calls / elapsed),
    p50ms: round(percentile(sorted, 50)),
    p99ms: round(percentile(sorted, 99)),
    clientCpuMsPerCall: round((client.user + client.system) / 1000 / calls),
    serverCpuMsPerCall: round(serverCpu / calls),
    ...(children.length > 0 ? { childCpuMsPerCall: round(childCpu / calls) } : {}),
  };
}

/** One result per target and concurrency: each figure the median of its rounds. */
function medianOverRounds(all: Result[]): Result[] {
  const groups = new Map<string, Result[]>();
  for (const result of all) {
    const key = `${result.target}\u0000${result.concurrency}`;
    groups.set(key, [...(groups.get(key) ?? []), result]);
  }
  return [...groups.values()].map((group) => {
    const first = group[0]!;
    const pick = (field: 'callsPerSecond' | 'p50ms' | 'p99ms' | 'clientCpuMsPerCall' | 'serverCpuMsPerCall'): number => median(group.map((r) => r[field]));
    const children = group.map((r) => r.childCpuMsPerCall).filter((v): v is number => v !== undefined);
    return {
      target: first.target,
      concurrency: first.concurrency,
      calls: group.reduce((sum, r) => sum + r.calls, 0),
      callsPerSecond: pick('callsPerSecond'),
      p50ms: pick('p50ms'),
      p99ms: pick('p99ms'),
      clientCpuMsPerCall: pick('clientCpuMsPerCall'),
      serverCpuMsPerCall: pick('serverCpuMsPerCall'),
      ...(children.length > 0 ? { childCpuMsPerCall: median(children) } : {}),
    };
  });
}

// --- main ------------------------------------------------------------------------------------

/** The benchmark is one user: caps meant to keep users from starving each other would refuse its load. */
const BENCH_PER_USER = { sessions: 100_000, listenStreams: 100_000, inFlight: 100_000 };

const results: Result[] = [];
const dir = mkdtempSync(join(tmpdir(), 'manifold-bench-'));
const configFile = join(dir, 'gateway.json');
writeFileSync(
  configFile,
  JSON.stringify({
    listen: { host: '127.0.0.1', port: 0 },
    auth: { mode: 'none-loopback-dev' },
    // One benchmark user opens every session and call: per-user caps are raised so the load is not refused.
    limits: { perUser: BENCH_PER_USER },
    upstreams: [{ namespace: 'fx', stdio: { command: process.execPath, args: [FIXTURE] }, maxConcurrency: 256 }],
  }),
);
const gatewayArgs = flags.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(ROOT, 'bench-results', 'profiles')}`, GATEWAY] : [GATEWAY];
async function startGatewayProcess(file: string): Promise<{ child: ChildProcess; url: string }> {
  const started = await startProcess([...gatewayArgs, '--config', file]);
  const base = started.url.replace(/\/mcp$/, '');
  for (let i = 0; i < 100; i++) {
    const ready = await fetch(`${base}/readyz`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ready) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return started;
}
const gateway = await startGatewayProcess(configFile);

// The same gateway with OAuth on: every request carries a JWT access token that is verified.
const issuer = await new TestIssuer().start();
const oauthConfigFile = join(dir, 'gateway-oauth.json');
writeFileSync(
  oauthConfigFile,
  JSON.stringify({
    listen: { host: '127.0.0.1', port: 0 },
    auth: { mode: 'oauth', issuer: issuer.issuer },
    // Production policies stay on (logs, audit, validation, cache); limits are raised so the load is not refused.
    limits: { rate: { perUser: 10_000_000, writesPerUser: 10_000_000, requestsPerUser: 10_000_000 }, perUser: BENCH_PER_USER },
    upstreams: [{ namespace: 'fx', stdio: { command: process.execPath, args: [FIXTURE], env: { FIXTURE_POLICY: '1' } }, maxConcurrency: 256 }],
  }),
);
const securedGateway = await startGatewayProcess(oauthConfigFile);
const bearer = { authorization: `Bearer ${await issuer.accessToken(securedGateway.url, { scope: 'fx:admin', expiresInSeconds: 3600 })}` };
const direct = await startProcess([FIXTURE, '--http', '0']);
const directV2 = await startProcess([join(ROOT, 'dist', 'test', 'bench', 'echoV2Server.js')]);
const relay = await startProcess([join(ROOT, 'dist', 'test', 'bench', 'bareRelay.js'), FIXTURE]);

// Each server process is first driven at concurrency 8 and the figures discarded: a fresh
// process needs some seconds of calls before V8 has optimized its hot paths (at concurrency 1
// a gateway and the SDK server both start at a third of their steady speed), and a
// long-running deployment is measured, not a cold one. Cold start is measured on its own.
const securedPidsForWarmUp = () => ({ server: securedGateway.child.pid!, children: childPids(securedGateway.child.pid!) });
await runHttp('warm-up', gateway.url, 'fx__echo', 8, () => ({ server: gateway.child.pid!, children: [] }));
await runHttp('warm-up', securedGateway.url, 'fx__echo', 8, securedPidsForWarmUp, bearer);
await runHttp('warm-up', securedGateway.url, 'fx__counted_read', 8, securedPidsForWarmUp, bearer, { arguments: { key: 'a' }, expect: '\\"key\\":\\"a\\"' });
await runHttp('warm-up', direct.url, 'echo', 8, () => ({ server: direct.child.pid!, children: [] }));
await runHttp('warm-up', securedGateway.url, 'fx__echo', 8, securedPidsForWarmUp, bearer, undefined, 'modern');
await runHttp('warm-up', directV2.url, 'echo', 8, () => ({ server: directV2.child.pid!, children: [] }), {}, undefined, 'modern');
await runHttp('warm-up', relay.url, 'fx__echo', 8, () => ({ server: relay.child.pid!, children: [] }));

/** The production configuration, and the servers it is measured against. */
const SECURED = 'gateway with OAuth (JWT per request)';
const SECURED_MODERN = 'gateway with OAuth, 2026-07-28';
const DIRECT = 'direct SDK Streamable HTTP server';
const DIRECT_V2 = 'direct SDK v2 server (createMcpHandler), 2026-07-28';
const securedPids = () => ({ server: securedGateway.child.pid!, children: childPids(securedGateway.child.pid!) });
const targets: Array<(concurrency: number) => Promise<Result>> = [
  (c) =>
    runHttp('gateway (Streamable HTTP → stdio child)', gateway.url, 'fx__echo', c, () => ({
      server: gateway.child.pid!,
      children: childPids(gateway.child.pid!),
    })),
  (c) => runHttp(SECURED, securedGateway.url, 'fx__echo', c, securedPids, bearer),
  (c) =>
    runHttp('gateway with OAuth, cached read-only tool', securedGateway.url, 'fx__counted_read', c, securedPids, bearer, {
      arguments: { key: 'a' },
      expect: '\\"key\\":\\"a\\"',
    }),
  (c) => runHttp(SECURED_MODERN, securedGateway.url, 'fx__echo', c, securedPids, bearer, undefined, 'modern'),
  (c) => runHttp(DIRECT, direct.url, 'echo', c, () => ({ server: direct.child.pid!, children: [] })),
  (c) => runHttp(DIRECT_V2, directV2.url, 'echo', c, () => ({ server: directV2.child.pid!, children: [] }), {}, undefined, 'modern'),
  (c) => runStdio(c),
  (c) => runHttp('bare node:http → stdio relay (floor)', relay.url, 'fx__echo', c, () => ({ server: relay.child.pid!, children: childPids(relay.child.pid!) })),
];
const rounds: Result[] = [];
for (let round = 0; round < ROUNDS; round++) {
  for (const concurrency of CONCURRENCY) {
    // Each round starts with another target, so that no target always follows the same one.
    for (let i = 0; i < targets.length; i++) rounds.push(await targets[(i + round) % targets.length]!(concurrency));
  }
}
results.push(...medianOverRounds(rounds));
gateway.child.kill('SIGTERM');
securedGateway.child.kill('SIGTERM');
direct.child.kill('SIGTERM');
directV2.child.kill('SIGTERM');
relay.child.kill('SIGTERM');
await issuer.stop();
await new Promise((r) => setTimeout(r, 500));

const header = '| target | conc. | calls/s | p50 ms | p99 ms | client CPU ms/call | server CPU ms/call | child CPU ms/call |';
const rows = results.map(
  (r) =>
    `| ${r.target} | ${r.concurrency} | ${r.callsPerSecond} | ${r.p50ms} | ${r.p99ms} | ${r.clientCpuMsPerCall} | ${r.serverCpuMsPerCall} | ${r.childCpuMsPerCall ?? ''} |`,
);
/** The result of the target whose name starts with `name`, at concurrency `c`. */
const resultOf = (name: string, c: number): Result => results.find((r) => r.concurrency === c && r.target.startsWith(name))!;
const ratios = CONCURRENCY.map((c) => {
  const g = resultOf('gateway (', c);
  const a = resultOf(SECURED, c);
  const cached = resultOf('gateway with OAuth, cached', c);
  const d = resultOf(DIRECT, c);
  const floor = resultOf('bare node:http', c);
  const m = resultOf(SECURED_MODERN, c);
  const v2 = resultOf(DIRECT_V2, c);
  return (
    `c=${c}: 2026-07-28 through the gateway with OAuth ${(m.callsPerSecond / d.callsPerSecond).toFixed(2)}× the direct v1 server, ` +
    `${(m.callsPerSecond / v2.callsPerSecond).toFixed(2)}× the direct v2 server, p50 ${(m.p50ms / v2.p50ms).toFixed(2)}× v2's, gateway CPU ${m.serverCpuMsPerCall} ms/call; ` +
    `c=${c}: gateway/direct-SDK throughput ${(g.callsPerSecond / d.callsPerSecond).toFixed(2)}×, p50 ${(g.p50ms / d.p50ms).toFixed(2)}×; ` +
    `with OAuth ${(a.callsPerSecond / d.callsPerSecond).toFixed(2)}×, p50 ${(a.p50ms / d.p50ms).toFixed(2)}×, gateway CPU ${a.serverCpuMsPerCall} ms/call; ` +
    `cached ${(cached.callsPerSecond / d.callsPerSecond).toFixed(2)}×, gateway CPU ${cached.serverCpuMsPerCall} ms/call; ` +
    `bare relay floor ${(floor.callsPerSecond / d.callsPerSecond).toFixed(2)}×, CPU ${floor.serverCpuMsPerCall} ms/call`
  );
});
/**
 * The targets the gateway is held to, for the production configuration (OAuth, policies on)
 * against the SDK's own Streamable HTTP server in the same run: throughput at least equal at
 * every concurrency (stretch: twice), p50 at concurrency 1 within 1.2×, gateway CPU under 0.4 ms a call.
 */
function targetVerdicts(): string[] {
  const secured = (c: number) => resultOf(SECURED, c);
  const direct = (c: number) => resultOf(DIRECT, c);
  const mark = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const throughput = CONCURRENCY.map((c) => secured(c).callsPerSecond / direct(c).callsPerSecond);
  const cpu = CONCURRENCY.map((c) => secured(c).serverCpuMsPerCall);
  const p50 = secured(1).p50ms / direct(1).p50ms;
  const list = (values: number[], unit: string) => values.map((v, i) => `c=${CONCURRENCY[i]} ${v.toFixed(unit === '×' ? 2 : 3)}${unit}`).join(', ');
  const modern = (c: number) => resultOf(SECURED_MODERN, c);
  const directV2 = (c: number) => resultOf(DIRECT_V2, c);
  const overV1 = CONCURRENCY.map((c) => modern(c).callsPerSecond / direct(c).callsPerSecond);
  const overV2 = CONCURRENCY.map((c) => modern(c).callsPerSecond / directV2(c).callsPerSecond);
  const modernCpu = CONCURRENCY.map((c) => modern(c).serverCpuMsPerCall);
  return [
    'targets, 2025-11-25 path (gateway with OAuth vs the direct SDK v1 server, this run):',
    `  throughput ≥ 1.0×: ${mark(throughput.every((r) => r >= 1))} (${list(throughput, '×')})`,
    `  stretch, throughput ≥ 2.0×: ${mark(throughput.every((r) => r >= 2))}`,
    `  p50 at c=1 ≤ 1.2×: ${mark(p50 <= 1.2)} (${p50.toFixed(2)}×)`,
    `  gateway CPU < 0.4 ms/call: ${mark(cpu.every((v) => v < 0.4))} (${list(cpu, ' ms')})`,
    'targets, 2026-07-28 path (gateway with OAuth vs the direct servers, this run):',
    `  throughput ≥ 1.2× the direct v1 server: ${mark(overV1.every((r) => r >= 1.2))} (${list(overV1, '×')})`,
    `  throughput ≥ 2.0× the direct v2 server: ${mark(overV2.every((r) => r >= 2))} (${list(overV2, '×')})`,
    `  stretch, throughput ≥ 2.0× the direct v1 server: ${mark(overV1.every((r) => r >= 2))}`,
    `  gateway CPU ≤ 0.3 ms/call at c=1 and ≤ 0.2 ms/call at c=8: ${mark(modernCpu[0]! <= 0.3 && modernCpu[1]! <= 0.2)} (${list(modernCpu, ' ms')})`,
  ];
}

const table = [header, '|---|---|---|---|---|---|---|---|', ...rows, '', ...ratios, '', ...targetVerdicts()].join('\n');
process.stdout.write(`${table}\n`);
mkdirSync(join(ROOT, 'bench-results'), { recursive: true });
writeFileSync(
  join(ROOT, 'bench-results', 'gateway-calls.json'),
  JSON.stringify({ seconds: SECONDS, warmupSeconds: WARMUP_SECONDS, rounds: ROUNDS, results }, null, 2),
);
writeFileSync(join(ROOT, 'bench-results', 'gateway-calls.md'), `${table}\n`);
