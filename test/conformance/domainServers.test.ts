import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeGithubApi } from '../github/fakeGithubApi.js';
import { envelope } from '../support/modernWire.js';
import { startHttpServer, tempDir, type HttpServerProcess } from '../support/processes.js';
import {
  conformanceAvailable,
  conformanceNextAvailable,
  GENERIC_SCENARIOS,
  GENERIC_SCENARIOS_2025,
  GENERIC_SCENARIOS_2026,
  runScenario,
  runSuiteLine,
  unmetChecks,
  type GenericScenario,
  type LineRun,
  type SpecVersion,
} from './conformanceSuite.js';

const servers = [
  { name: 'project-management', entry: 'servers/project-management/main.js', fakeGithub: false },
  // A default repository on a local fake GitHub API, so resources/list has an entry and the
  // caching scenario reads it (with nothing listed, the suite skips its resources/read check).
  { name: 'github', entry: 'servers/github/main.js', fakeGithub: true },
  { name: 'docs', entry: 'servers/docs/main.js', fakeGithub: false },
];

const suite016 = conformanceAvailable();
const suiteNext = conformanceNextAvailable();

// Time limits, well under the suite's own (30 s a scenario) and vitest's (30 s a test). A
// scenario takes 0.1 to 0.5 s here, server-stateless 6 s (it waits out its listen windows).
// 0.1.16 has no limit of its own: its process is killed, and the test's limit covers start-up.
const SCENARIO_016_MS = 10_000;
// 0.2.0 lines: --timeout per scenario, then one limit for the line's whole process.
const LINES: ReadonlyArray<{ specVersion: SpecVersion; title: string; scenarios: readonly GenericScenario[]; scenarioMs: number; processMs: number }> = [
  { specVersion: '2025-11-25', title: 'sessions', scenarios: GENERIC_SCENARIOS_2025, scenarioMs: 8_000, processMs: 40_000 },
  { specVersion: '2026-07-28', title: 'stateless', scenarios: GENERIC_SCENARIOS_2026, scenarioMs: 12_000, processMs: 60_000 },
];

// The three servers are tested side by side, each by one suite process at a time: a scenario
// never shares its server with another, so the suite's short stream windows (0.5 to 2 s) keep
// their meaning on two busy cores.
describe.runIf(suite016 || suiteNext).concurrent.each(servers)('MCP conformance suites against the $name server', ({ entry, fakeGithub }) => {
  const github = fakeGithub ? new FakeGithubApi(['acme-widgets.json']) : undefined;
  let data: ReturnType<typeof tempDir> | undefined;
  let server: HttpServerProcess;
  beforeAll(async () => {
    data = tempDir('conformance');
    // Servers that never need GitHub point at a closed port, to be sure nothing reaches out.
    const githubEnv = github ? { GITHUB_API_URL: await github.start(), GITHUB_REPOSITORY: 'acme/widgets' } : { GITHUB_API_URL: 'http://127.0.0.1:9' };
    server = await startHttpServer(entry, { MANIFOLD_DATA_DIR: data.path, ...githubEnv });
  });
  afterAll(async () => {
    await server?.stop();
    await github?.stop();
    data?.remove();
  });

  describe.runIf(suite016).sequential('0.1.16 (protocol revision 2025-11-25)', () => {
    it.each(GENERIC_SCENARIOS)(
      'passes %s',
      async (scenario) => {
        const outcome = await runScenario(server.url, scenario, SCENARIO_016_MS);
        expect(outcome.failed, outcome.output).toBe(0);
        expect(outcome.passed, outcome.output).toBeGreaterThan(0);
      },
      SCENARIO_016_MS + 5_000,
    );
  });

  for (const { specVersion, title, scenarios, scenarioMs, processMs } of LINES) {
    describe.runIf(suiteNext).sequential(`0.2.0-alpha.12 on protocol revision ${specVersion} (${title})`, () => {
      let line: LineRun;
      beforeAll(async () => {
        line = await runSuiteLine(server.url, specVersion, scenarioMs, processMs);
      }, processMs + 5_000);

      for (const { name, notTestable } of scenarios) {
        it(`passes ${name}`, () => {
          expect(unmetChecks(line.scenarios.get(name), notTestable), line.output).toEqual([]);
        });
      }
    });
  }
});

/** server/discover on the 2026-07-28 wire with a Host header of our choice (fetch always sends the URL's). */
function discoverWithHost(url: string, host: string, headers: Record<string, string> = {}): Promise<number> {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'server/discover', params: { _meta: envelope() } });
  const wire = {
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    'MCP-Protocol-Version': '2026-07-28',
    'Mcp-Method': 'server/discover',
  };
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { ...wire, ...headers, Host: host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('error', reject);
    req.end(body);
  });
}

// The suite's dns-rebinding probe sends a foreign Origin with its foreign Host, which the Origin
// check alone refuses; a rebound page's own requests can come without Origin. One server is
// enough: all three serve HTTP through shared/serving/httpEntry.ts.
describe('DNS-rebinding defence on the Host header', () => {
  const token = 'host-header-test-token-0123456789';
  const dataDirs: Array<ReturnType<typeof tempDir>> = [];
  let loopback: HttpServerProcess;
  let remote: HttpServerProcess;
  beforeAll(async () => {
    const dataDir = (): string => {
      const dir = tempDir('host-header');
      dataDirs.push(dir);
      return dir.path;
    };
    [loopback, remote] = await Promise.all([
      startHttpServer('servers/project-management/main.js', { MANIFOLD_DATA_DIR: dataDir() }),
      startHttpServer('servers/project-management/main.js', { MANIFOLD_DATA_DIR: dataDir(), MANIFOLD_HTTP_BEARER_TOKEN: token }, ['--host', '0.0.0.0']),
    ]);
  });
  afterAll(async () => {
    await Promise.all([loopback?.stop(), remote?.stop()]);
    for (const dir of dataDirs) dir.remove();
  });

  it('a loopback server refuses a foreign Host without Origin, and takes loopback names on any port', async () => {
    const { port } = new URL(loopback.url);
    expect(await discoverWithHost(loopback.url, 'evil.example.com')).toBe(403);
    expect(await discoverWithHost(loopback.url, `evil.example.com:${port}`)).toBe(403);
    expect(await discoverWithHost(loopback.url, `127.0.0.1@evil.example.com:${port}`)).toBe(403);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'localhost:9999']) {
      expect(await discoverWithHost(loopback.url, host), host).toBe(200);
    }
  });

  it('a server on a non-loopback address (bearer token required) takes any Host', async () => {
    const url = `http://127.0.0.1:${new URL(remote.url).port}/mcp`;
    expect(await discoverWithHost(url, 'mcp.example.net', { Authorization: `Bearer ${token}` })).toBe(200);
    expect(await discoverWithHost(url, 'mcp.example.net')).toBe(401);
  });
});
