import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import { ROOT } from '../support/processes.js';

const run = promisify(execFile);

/**
 * The official MCP conformance suite needs Node 22; `.ci/run` installs it with its own
 * Node into `.tools/conformance` (`npm install --prefix .tools/conformance node@22
 * @modelcontextprotocol/conformance`). The product itself runs on Node 20.
 */
export const CONFORMANCE_DIR = process.env.MANIFOLD_CONFORMANCE_DIR ?? join(ROOT, '.tools', 'conformance');
const NODE = join(CONFORMANCE_DIR, 'node_modules', '.bin', 'node');
const SUITE = join(CONFORMANCE_DIR, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');

/**
 * 0.2.0-alpha.12, the line that tests protocol revision 2026-07-28, in a folder of its own
 * (`.ci/run`): one node_modules holds one version of a package, and 0.1.16 stays.
 */
export const CONFORMANCE_NEXT_DIR = process.env.MANIFOLD_CONFORMANCE_NEXT_DIR ?? join(ROOT, '.tools', 'conformance-next');
const NEXT_NODE = join(CONFORMANCE_NEXT_DIR, 'node_modules', '.bin', 'node');
const NEXT_SUITE = join(CONFORMANCE_NEXT_DIR, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');

const INSPECTOR = join(CONFORMANCE_DIR, 'node_modules', '@modelcontextprotocol', 'inspector', 'clients', 'launcher', 'build', 'index.js');

/** Installed, or (outside CI) a visible notice that the tests using it are skipped. */
function installed(what: string, dir: string, files: readonly string[]): boolean {
  if (files.every((file) => existsSync(file))) return true;
  if (process.env.CI) throw new Error(`${what} must be installed under CI (${dir}); .ci/run installs it.`);
  console.warn(`[manifold tests] ${what} not installed in ${dir}: skipping its tests.`);
  return false;
}

export function inspectorAvailable(): boolean {
  return installed('The MCP Inspector', CONFORMANCE_DIR, [NODE, INSPECTOR]);
}

/** Run the MCP Inspector's CLI mode (JSON on stdout) against a URL. */
export async function inspectorCli(url: string, args: string[], headers: Record<string, string> = {}): Promise<unknown> {
  const headerArgs = Object.entries(headers).flatMap(([k, v]) => ['--header', `${k}: ${v}`]);
  const { stdout } = await run(NODE, [INSPECTOR, '--cli', url, '--transport', 'http', ...headerArgs, ...args], {
    timeout: 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout) as unknown;
}

export function conformanceAvailable(): boolean {
  return installed('The MCP conformance suite 0.1.16', CONFORMANCE_DIR, [NODE, SUITE]);
}

export function conformanceNextAvailable(): boolean {
  return installed('The MCP conformance suite 0.2.0-alpha.12', CONFORMANCE_NEXT_DIR, [NEXT_NODE, NEXT_SUITE]);
}

/**
 * Scenarios that apply to any server. The rest of the suite's server scenarios call the
 * suite's own fixture tools, prompts and resources by name (test_simple_text,
 * test_prompt_with_arguments, test://watched-resource, test_reconnection…), which a domain
 * server does not have; the README lists them with this reason.
 */
export const GENERIC_SCENARIOS = [
  'server-initialize',
  'ping',
  'logging-set-level',
  'tools-list',
  'resources-list',
  'prompts-list',
  'server-sse-multiple-streams',
  'dns-rebinding-protection',
] as const;

/** A check the suite cannot exercise on a domain server, and how it reports that. */
export interface NotTestable {
  status: 'FAILURE' | 'WARNING';
  message: RegExp;
}

export interface GenericScenario {
  name: string;
  /** By check id. Every other check of the scenario must pass. */
  notTestable?: Readonly<Record<string, NotTestable>>;
}

/**
 * The same on 0.2.0's 2025-11-25 line (a 2025 session opened with initialize, the revision
 * the suite picks for them without --spec-version), plus the session lifecycle scenario 0.1.16
 * does not have.
 */
export const GENERIC_SCENARIOS_2025: readonly GenericScenario[] = [...GENERIC_SCENARIOS, 'server-session-lifecycle'].map((name) => ({ name }));

/**
 * Scenarios of the 2026-07-28 line that check protocol behaviour without the suite's fixture
 * names. `http-header-validation` is pending in the suite (not scored) but generic: its one tool
 * call sends the first listed tool `{}` arguments and only needs an answer that is not a
 * JSON-RPC error (a tool result with isError is one).
 */
export const GENERIC_SCENARIOS_2026: readonly GenericScenario[] = [
  {
    name: 'server-stateless',
    // These call the suite's diagnostic fixture tools by name; a domain server has none (and
    // must not grow fake ones). The two list-changed checks are SHOULDs the suite reports as
    // warnings when its trigger tool call changes nothing. (sep-2575-server-honors-notification-filter
    // uses the same trigger and so passes without proving anything; the other checks are real.)
    notTestable: {
      'sep-2575-server-rejects-undeclared-capability': { status: 'FAILURE', message: /^Not testable: .*'test_missing_capability'/ },
      'sep-2575-missing-capability-http-400': { status: 'FAILURE', message: /^Not testable: .*'test_missing_capability'/ },
      'sep-2575-http-server-no-independent-requests-on-stream': { status: 'FAILURE', message: /^Not testable: .*'test_streaming_elicitation'/ },
      'sep-2575-server-no-log-without-loglevel': { status: 'FAILURE', message: /^Not testable: .*'test_logging_tool'/ },
      'sep-2575-server-sends-prompts-list-changed-on-subscription': {
        status: 'WARNING',
        message: /^Mutated the prompt list but no notifications\/prompts\/list_changed arrived/,
      },
      'sep-2575-server-sends-tools-list-changed-on-subscription': {
        status: 'WARNING',
        message: /^Mutated the tool list but no notifications\/tools\/list_changed arrived/,
      },
    },
  },
  { name: 'sep-2164-resource-not-found' },
  { name: 'caching' },
  { name: 'dns-rebinding-protection' },
  { name: 'tools-list' },
  { name: 'prompts-list' },
  { name: 'resources-list' },
  { name: 'server-sse-multiple-streams' },
  { name: 'input-required-result-unsupported-methods' },
  { name: 'http-header-validation' },
];

export interface ScenarioOutcome {
  passed: number;
  failed: number;
  output: string;
}

/** One scenario of 0.1.16 (2025-11-25 only); it has no --timeout of its own, so the process is bounded here. */
export async function runScenario(url: string, scenario: string, timeoutMs = 60_000): Promise<ScenarioOutcome> {
  let output: string;
  try {
    const result = await run(NODE, [SUITE, 'server', '--url', url, '--scenario', scenario], { timeout: timeoutMs, maxBuffer: 8 * 1024 * 1024 });
    output = `${result.stdout}\n${result.stderr}`;
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message: string };
    output = `${failure.stdout ?? ''}\n${failure.stderr ?? ''}\n${failure.message}`;
  }
  const summary = /Passed: (\d+)\/(\d+), (\d+) failed/.exec(output);
  return { passed: Number(summary?.[1] ?? 0), failed: summary ? Number(summary[3]) : 1, output };
}

const CheckSchema = z.object({
  id: z.string(),
  status: z.enum(['SUCCESS', 'FAILURE', 'WARNING', 'SKIPPED', 'INFO']),
  errorMessage: z.string().optional(),
});
export type Check = z.infer<typeof CheckSchema>;

export type SpecVersion = '2025-11-25' | '2026-07-28';

export interface LineRun {
  /** Each scenario's checks (its checks.json under -o), by scenario name. */
  scenarios: ReadonlyMap<string, Check[]>;
  /** The suite's stdout and stderr, for failure messages. */
  output: string;
}

/**
 * Every 0.2.0-alpha.12 server scenario of one protocol revision against `url`, in one suite
 * process (`--suite all --spec-version`): loading the suite costs Node 22 about 0.5 s of CPU,
 * and a process per scenario (81 for three servers and three lines) cost 45 s of CPU. The fixture-specific scenarios run too (each fails fast on a missing fixture name)
 * and are not asserted. `--timeout` bounds each scenario, and a scenario that hits it reports
 * a `scenario-timeout` failure of its own; `processTimeoutMs` bounds the whole run.
 */
export async function runSuiteLine(url: string, specVersion: SpecVersion, scenarioTimeoutMs: number, processTimeoutMs: number): Promise<LineRun> {
  const outDir = mkdtempSync(join(tmpdir(), 'manifold-conformance-'));
  const args = [NEXT_SUITE, 'server', '--url', url, '--suite', 'all', '--spec-version', specVersion, '--timeout', String(scenarioTimeoutMs), '-o', outDir];
  let output: string;
  try {
    // Exit status 1 means some check failed, which the fixture-specific scenarios always do.
    const result = await run(NEXT_NODE, args, { timeout: processTimeoutMs, maxBuffer: 8 * 1024 * 1024 });
    output = `${result.stdout}\n${result.stderr}`;
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message: string };
    output = `${failure.stdout ?? ''}\n${failure.stderr ?? ''}\n${failure.message}`;
  }
  try {
    const scenarios = new Map<string, Check[]>();
    // One folder per scenario: server-<scenario>-<ISO timestamp with - for : and .>.
    for (const folder of readdirSync(outDir)) {
      const name = /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(folder)?.[1];
      if (name) scenarios.set(name, z.array(CheckSchema).parse(JSON.parse(readFileSync(join(outDir, folder, 'checks.json'), 'utf8'))));
    }
    return { scenarios, output };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

/**
 * What in a scenario's checks does not meet the expectation, one line each (empty when all do):
 * every check passes (INFO notes count as passing) except the listed not-testable ones, which
 * must be reported exactly as the suite reports a missing fixture, so a change on either side shows.
 */
export function unmetChecks(checks: readonly Check[] | undefined, notTestable: Readonly<Record<string, NotTestable>> = {}): string[] {
  if (!checks) return ['the scenario did not run (no checks.json)'];
  const unmet: string[] = [];
  if (!checks.some((check) => check.status === 'SUCCESS')) unmet.push('no check passed');
  for (const check of checks) {
    const expected = notTestable[check.id];
    const ok = expected
      ? check.status === expected.status && expected.message.test(check.errorMessage ?? '')
      : check.status === 'SUCCESS' || check.status === 'INFO';
    if (!ok)
      unmet.push(
        `${check.id}: ${check.status}${expected ? ` (expected ${expected.status} matching ${expected.message})` : ''} ${check.errorMessage ?? ''}`.trim(),
      );
  }
  for (const id of Object.keys(notTestable)) {
    if (!checks.some((check) => check.id === id)) unmet.push(`${id}: not reported at all`);
  }
  return unmet;
}
