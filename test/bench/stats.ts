/** Latency and throughput figures for one benchmark row. */
export interface BenchRow {
  scenario: string;
  concurrency: number;
  calls: number;
  callsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU time of the benchmark's own process per call (the load client). */
  clientCpuMsPerCall?: number;
  /** CPU time of the measured server process per call, when it can be read. */
  serverCpuMsPerCall?: number;
  note?: string;
}

export function percentile(sortedMs: readonly number[], p: number): number {
  if (sortedMs.length === 0) return 0;
  const index = Math.min(sortedMs.length - 1, Math.max(0, Math.ceil((p / 100) * sortedMs.length) - 1));
  return sortedMs[index] ?? 0;
}

/** CPU milliseconds used so far by a process, from /proc (Linux). */
export async function processCpuMs(pid: number): Promise<number | undefined> {
  try {
    const { readFile } = await import('node:fs/promises');
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
    return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

/**
 * Run `call` with a fixed number of callers in flight until `total` calls are done;
 * returns latency percentiles, throughput and CPU per call.
 */
export async function measure(
  scenario: string,
  concurrency: number,
  total: number,
  call: (i: number) => Promise<unknown>,
  serverPid?: number,
): Promise<BenchRow> {
  const latencies: number[] = [];
  let next = 0;
  const serverCpuBefore = serverPid ? await processCpuMs(serverPid) : undefined;
  const clientCpuBefore = process.cpuUsage();
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      const t0 = performance.now();
      await call(i);
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedMs = performance.now() - started;
  const clientCpu = process.cpuUsage(clientCpuBefore);
  const serverCpuAfter = serverPid ? await processCpuMs(serverPid) : undefined;
  latencies.sort((a, b) => a - b);
  const row: BenchRow = {
    scenario,
    concurrency,
    calls: total,
    callsPerSecond: Math.round((total / elapsedMs) * 1000),
    p50Ms: round(percentile(latencies, 50)),
    p99Ms: round(percentile(latencies, 99)),
    clientCpuMsPerCall: round((clientCpu.user + clientCpu.system) / 1000 / total),
  };
  if (serverCpuBefore !== undefined && serverCpuAfter !== undefined) row.serverCpuMsPerCall = round((serverCpuAfter - serverCpuBefore) / total);
  return row;
}

export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function markdownTable(rows: readonly BenchRow[]): string {
  const header = '| scenario | concurrency | calls/s | p50 ms | p99 ms | client CPU ms/call | server CPU ms/call |\n|---|---|---|---|---|---|---|';
  const lines = rows.map(
    (r) =>
      `| ${r.scenario} | ${r.concurrency} | ${r.callsPerSecond} | ${r.p50Ms} | ${r.p99Ms} | ${r.clientCpuMsPerCall ?? '—'} | ${r.serverCpuMsPerCall ?? '—'} |`,
  );
  return [header, ...lines].join('\n');
}
