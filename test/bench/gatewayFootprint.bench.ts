/**
 * Gateway footprint: cold start to a green /readyz with the three domain servers, resident
 * memory at idle, with 1,000 open sessions and under load, and tools/list over 20 upstreams
 * with about 1,000 tools. Run: npx tsc -p . && node dist/test/bench/gatewayFootprint.bench.js
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { packageRoot } from '../../shared/packageRoot.js';

const ROOT = packageRoot();
const GATEWAY = join(ROOT, 'dist', 'gateway', 'main.js');
const FIXTURE = join(ROOT, 'dist', 'test', 'fixtures', 'gateway', 'fixtureServer.js');

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function start(args: string[], env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [GATEWAY, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LOG_LEVEL: 'info', ...env } });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { url?: string };
        if (entry.url) resolve({ child, url: entry.url });
      } catch {
        // not JSON
      }
    });
    child.once('exit', (code) => reject(new Error(`gateway exited (${code})`)));
  });
}

async function untilReady(base: string): Promise<void> {
  for (;;) {
    if (
      await fetch(`${base}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

function post(agent: Agent, url: URL, body: string, headers: Record<string, string>): Promise<{ status: number; session?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: text,
            ...(typeof res.headers['mcp-session-id'] === 'string' ? { session: res.headers['mcp-session-id'] } : {}),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
});

async function main(): Promise<void> {
  const report: Record<string, string | number> = {};
  const data = mkdtempSync(join(tmpdir(), 'manifold-footprint-'));
  // 1. Cold start of the shipped configuration (OAuth, three domain servers as children).
  const began = performance.now();
  // The shipped configuration, its relative paths made absolute, and one user allowed the
  // 1,000 sessions this benchmark opens (limits.perUser.sessions is 100 by default).
  const shipped = JSON.parse(readFileSync(join(ROOT, 'config', 'gateway.json'), 'utf8')) as {
    workflows?: { teamDirectory?: string };
    limits?: Record<string, unknown>;
    upstreams: Array<{ stdio?: { cwd?: string } }>;
  };
  for (const upstream of shipped.upstreams) if (upstream.stdio?.cwd) upstream.stdio.cwd = join(ROOT, 'config', upstream.stdio.cwd);
  if (shipped.workflows?.teamDirectory) shipped.workflows.teamDirectory = join(ROOT, 'config', shipped.workflows.teamDirectory);
  shipped.limits = { ...shipped.limits, perUser: { sessions: 1000 } };
  const shippedCopy = join(data, 'gateway.json');
  writeFileSync(shippedCopy, JSON.stringify(shipped));
  const gateway = await start(['--config', shippedCopy], {
    MANIFOLD_GATEWAY_PORT: '0',
    MANIFOLD_DATA_DIR: data,
    GITHUB_API_URL: 'http://127.0.0.1:9',
    DOCS_WATCH: '0',
  });
  const base = gateway.url.replace(/\/mcp$/, '');
  await untilReady(base);
  report.coldStartToReadyMs = Math.round(performance.now() - began);
  const pid = gateway.child.pid!;
  await new Promise((r) => setTimeout(r, 1000));
  report.idleRssGatewayMb = rssMb(pid);
  report.idleRssWithChildrenMb = rssMb(pid) + childPids(pid).reduce((sum, child) => sum + rssMb(child), 0);

  const token = execFileSync(
    process.execPath,
    [join(ROOT, 'dist', 'gateway', 'tokenCommand.js'), '--user', 'admin', '--scope', 'pm:read docs:read github:read', '--public-url', base],
    {
      env: { ...process.env, MANIFOLD_DATA_DIR: data },
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  )
    .toString()
    .trim();
  const auth = { authorization: `Bearer ${token}` };
  const url = new URL(gateway.url);
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });

  // 2. 1,000 open sessions.
  const sessions: string[] = [];
  for (let i = 0; i < 1000; i += 50) {
    const opened = await Promise.all(Array.from({ length: 50 }, () => post(agent, url, INITIALIZE, auth)));
    for (const o of opened) if (o.session) sessions.push(o.session);
  }
  await new Promise((r) => setTimeout(r, 500));
  report.sessionsOpen = sessions.length;
  report.rssWith1000SessionsMb = rssMb(pid);

  // 3. Under load: 32 callers for 5 seconds on a read-only docs tool.
  const stopAt = Date.now() + 5000;
  let calls = 0;
  let peak = 0;
  await Promise.all(
    sessions.slice(0, 32).map(async (session) => {
      let id = 1;
      const headers = { ...auth, 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' };
      while (Date.now() < stopAt) {
        const result = await post(
          agent,
          url,
          JSON.stringify({ jsonrpc: '2.0', id: id++, method: 'tools/call', params: { name: 'docs__list_documents', arguments: {} } }),
          headers,
        );
        if (result.status !== 200) throw new Error(`call failed ${result.status} ${result.body.slice(0, 200)}`);
        calls += 1;
        if (calls % 200 === 0) peak = Math.max(peak, rssMb(pid));
      }
    }),
  );
  report.callsUnderLoad = calls;
  report.rssUnderLoadPeakMb = Math.max(peak, rssMb(pid));
  agent.destroy();
  gateway.child.kill('SIGTERM');
  await new Promise((r) => gateway.child.once('exit', r));

  // 4. Aggregation at scale: 20 upstreams, about 1,000 tools, tools/list paged to the end.
  const config = join(data, 'twenty.json');
  writeFileSync(
    config,
    JSON.stringify({
      listen: { host: '127.0.0.1', port: 0 },
      auth: { mode: 'none-loopback-dev' },
      http: { pageSize: 100 },
      upstreams: Array.from({ length: 20 }, (_, i) => ({
        namespace: `up${i}`,
        stdio: { command: process.execPath, args: [FIXTURE], env: { FIXTURE_NAME: `up${i}`, FIXTURE_EXTRA_TOOLS: '42' } },
      })),
    }),
  );
  const wide = await start(['--config', config], {});
  const wideBase = wide.url.replace(/\/mcp$/, '');
  await untilReady(wideBase);
  const wideAgent = new Agent({ keepAlive: true });
  const wideUrl = new URL(wide.url);
  const init = await post(wideAgent, wideUrl, INITIALIZE, {});
  const headers = { 'mcp-session-id': init.session!, 'mcp-protocol-version': '2025-11-25' };
  const timings: number[] = [];
  let tools = 0;
  for (let round = 0; round < 20; round++) {
    const t0 = performance.now();
    let cursor: string | undefined;
    tools = 0;
    do {
      const page = await post(
        wideAgent,
        wideUrl,
        JSON.stringify({ jsonrpc: '2.0', id: round * 100 + tools, method: 'tools/list', params: cursor ? { cursor } : {} }),
        headers,
      );
      const result = (JSON.parse(page.body) as { result: { tools: unknown[]; nextCursor?: string } }).result;
      tools += result.tools.length;
      cursor = result.nextCursor;
    } while (cursor);
    timings.push(performance.now() - t0);
  }
  timings.sort((a, b) => a - b);
  report.aggregateUpstreams = 20;
  report.aggregateTools = tools;
  report.toolsListAllPagesP50Ms = Math.round((timings[10] ?? 0) * 100) / 100;
  report.toolsListAllPagesMaxMs = Math.round((timings[19] ?? 0) * 100) / 100;
  wideAgent.destroy();
  wide.child.kill('SIGTERM');
  await new Promise((r) => wide.child.once('exit', r));
  rmSync(data, { recursive: true, force: true });

  process.stdout.write('gateway footprint\n');
  for (const [key, value] of Object.entries(report)) process.stdout.write(`  ${key.padEnd(28)} ${value}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
