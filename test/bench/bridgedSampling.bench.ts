/**
 * A sampling round trip through the gateway to a 2025-11-25 upstream (the gateway fixture's
 * `ask_llm`, SDK v1 over stdio): a tool call whose upstream asks the client to sample mid-call,
 * the client answers at once, the call finishes.
 * - legacy path: an SDK v2 client on 2025-11-25 (a session; the gateway sends the client a
 *   sampling/createMessage request on the call's stream);
 * - bridge: the same SDK v2 client pinned to 2026-07-28 (no session; the gateway parks the
 *   upstream call and answers input_required, and the client's retry carries the answer).
 * One gateway, both paths in the same run, interleaved rounds; latency per whole call (p50, p99)
 * at concurrency 1 and 4. Run: npx tsc -p . && node dist/test/bench/bridgedSampling.bench.js
 */
import { parseArgs } from 'node:util';
import { startGateway, fixtureUpstream, waitReady } from '../gateway/harness.js';
import { connectClient, LEGACY_V2, MODERN_V2, type ClientKind, type EraClient } from '../support/eraClients.js';
import { measure, type BenchRow } from './stats.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, calls: { type: 'string', default: '400' } } });
const rounds = Number(values.rounds);
const calls = Number(values.calls);

const gateway = await startGateway({ upstreams: [fixtureUpstream('fx')] }, { env: { LOG_LEVEL: 'info' } });
await waitReady(gateway);

const PATHS: Array<{ name: string; kind: ClientKind }> = [
  { name: 'legacy path (2025-11-25 session, sampling/createMessage on the call stream)', kind: LEGACY_V2 },
  { name: 'bridge (2026-07-28 client, input_required round and retry)', kind: MODERN_V2 },
];
const CONCURRENCY = [1, 4];

async function clientsFor(kind: ClientKind, count: number): Promise<EraClient[]> {
  return Promise.all(
    Array.from({ length: count }, () =>
      connectClient(
        kind,
        { kind: 'http', url: gateway.url },
        {
          capabilities: { sampling: {} },
          handlers: { sampling: () => ({ role: 'assistant', model: 'bench', content: { type: 'text', text: 'ok' } }) },
        },
      ),
    ),
  );
}

async function roundTrips(clients: EraClient[], concurrency: number, total: number, scenario: string): Promise<BenchRow> {
  return measure(
    scenario,
    concurrency,
    total,
    async (i) => {
      const result = await clients[i % clients.length]!.callTool({ name: 'fx__ask_llm', arguments: { prompt: 'p' } });
      if (result.isError) throw new Error(JSON.stringify(result.content));
    },
    gateway.process.pid,
  );
}

const results = new Map<string, BenchRow[]>();
try {
  const pools = new Map<string, EraClient[]>();
  for (const path of PATHS) pools.set(path.name, await clientsFor(path.kind, Math.max(...CONCURRENCY)));
  // Warm both paths first (JIT, the fixture's first sampling).
  for (const path of PATHS) await roundTrips(pools.get(path.name)!, 4, 200, 'warm-up');
  for (let round = 0; round < rounds; round++) {
    for (const concurrency of CONCURRENCY) {
      for (const path of PATHS) {
        const key = `${path.name}|${concurrency}`;
        const row = await roundTrips(pools.get(path.name)!.slice(0, concurrency), concurrency, calls, path.name);
        results.set(key, [...(results.get(key) ?? []), row]);
      }
    }
  }
  for (const pool of pools.values()) await Promise.all(pool.map((client) => client.close()));
} finally {
  await gateway.stop();
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const lines = [
  `## Sampling round trip through the bridge vs the legacy path (SDK v2 client, fixture upstream on 2025-11-25; ${rounds} rounds of ${calls} calls, medians)`,
  '',
  '| path | concurrency | calls/s | p50 ms | p99 ms | gateway CPU ms/call |',
  '|---|---|---|---|---|---|',
];
for (const concurrency of CONCURRENCY) {
  const legacy = results.get(`${PATHS[0]!.name}|${concurrency}`) ?? [];
  for (const path of PATHS) {
    const rows = results.get(`${path.name}|${concurrency}`) ?? [];
    lines.push(
      `| ${path.name} | ${concurrency} | ${Math.round(median(rows.map((r) => r.callsPerSecond)))} | ${median(rows.map((r) => r.p50Ms)).toFixed(2)} | ${median(rows.map((r) => r.p99Ms)).toFixed(2)} | ${median(rows.map((r) => r.serverCpuMsPerCall ?? 0)).toFixed(3)} |`,
    );
  }
  const bridge = results.get(`${PATHS[1]!.name}|${concurrency}`) ?? [];
  lines.push(
    `| bridge ÷ legacy | ${concurrency} | ${(median(bridge.map((r) => r.callsPerSecond)) / median(legacy.map((r) => r.callsPerSecond))).toFixed(2)}× | ${(median(bridge.map((r) => r.p50Ms)) / median(legacy.map((r) => r.p50Ms))).toFixed(2)}× | ${(median(bridge.map((r) => r.p99Ms)) / median(legacy.map((r) => r.p99Ms))).toFixed(2)}× | |`,
  );
}
console.log(lines.join('\n'));
