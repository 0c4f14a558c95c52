/**
 * Pieces shared by the call benchmarks (gatewayCalls.bench.ts, domainServerCalls.bench.ts): a lean
 * node:http JSON-RPC client (keep-alive agent, no fetch, so that the load client is not what
 * limits the figures), CPU readings from /proc, and the small statistics both report.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request, type Agent } from 'node:http';
import { createInterface } from 'node:readline';

/** USER_HZ: the unit of the CPU times in /proc (100 on every Linux we run on). */
const CLK_TCK = 100;

/** CPU milliseconds (user + system) a process has used so far. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may contain spaces and parentheses: fields are counted after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/** CPU milliseconds the whole machine has spent busy so far (every core, every process). */
export function machineBusyMs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const [, ...ticks] = line.trim().split(/\s+/).map(Number);
  // user nice system idle iowait irq softirq steal …; idle and iowait are not work.
  const total = ticks.slice(0, 8).reduce((sum, t) => sum + t, 0);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return ((total - idle) * 1000) / CLK_TCK;
}

export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Start a Node program that logs a JSON line with its `url` on stderr once it listens.
 * `baseEnv` is what the child inherits before `env` (the whole environment by default).
 * After that line the rest of its log is drained unread: the load client measures calls, and
 * parsing a gateway's call log line per call (which a direct server does not write) would
 * charge the client for the gateway's logging; in production another process reads the log.
 */
export function startProcess(
  args: string[],
  env: Record<string, string> = {},
  baseEnv: NodeJS.ProcessEnv = process.env,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...baseEnv, LOG_LEVEL: 'info', ...env } });
  return new Promise((resolveStart, reject) => {
    const lines = createInterface({ input: child.stderr! });
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { url?: string };
        if (entry.url) {
          lines.close();
          child.stderr!.resume();
          resolveStart({ child, url: entry.url });
        }
      } catch {
        // not JSON
      }
    });
    child.once('exit', (code) => reject(new Error(`process exited (${code}) before listening`)));
  });
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP exchange on a keep-alive agent; the body is read whole as text. */
export function send(agent: Agent, url: URL, method: 'POST' | 'DELETE', body: string | undefined, headers: Record<string, string>): Promise<HttpAnswer> {
  return new Promise((resolveSend, reject) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method,
        headers: {
          accept: 'application/json, text/event-stream',
          ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }),
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolveSend({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export function post(agent: Agent, url: URL, body: string, headers: Record<string, string>): Promise<HttpAnswer> {
  return send(agent, url, 'POST', body, headers);
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

export function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
