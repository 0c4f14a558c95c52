import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
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

const INSPECTOR = join(CONFORMANCE_DIR, 'node_modules', '@modelcontextprotocol', 'inspector', 'clients', 'launcher', 'build', 'index.js');

export function inspectorAvailable(): boolean {
  if (existsSync(NODE) && existsSync(INSPECTOR)) return true;
  if (process.env.CI) throw new Error(`The MCP Inspector must be installed under CI (${CONFORMANCE_DIR}); .ci/run installs it.`);
  console.warn(`[manifold tests] MCP Inspector not installed in ${CONFORMANCE_DIR}: skipping the Inspector CLI test.`);
  return false;
}

/** Run the MCP Inspector's CLI mode (JSON on stdout) against a URL. */
export async function inspectorCli(url: string, args: string[], headers: Record<string, string> = {}): Promise<unknown> {
  const headerArgs = Object.entries(headers).flatMap(([k, v]) => ['--header', `${k}: ${v}`]);
  const { stdout } = await run(NODE, [INSPECTOR, '--cli', url, '--transport', 'http', ...headerArgs, ...args], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(stdout) as unknown;
}

export function conformanceAvailable(): boolean {
  if (existsSync(NODE) && existsSync(SUITE)) return true;
  if (process.env.CI) throw new Error(`The MCP conformance suite must be installed under CI (${CONFORMANCE_DIR}); .ci/run installs it.`);
  console.warn(`[manifold tests] MCP conformance suite not installed in ${CONFORMANCE_DIR}: skipping conformance scenarios.`);
  return false;
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

export interface ScenarioOutcome {
  passed: number;
  failed: number;
  output: string;
}

export async function runScenario(url: string, scenario: string): Promise<ScenarioOutcome> {
  let output: string;
  try {
    const result = await run(NODE, [SUITE, 'server', '--url', url, '--scenario', scenario], { timeout: 60_000, maxBuffer: 8 * 1024 * 1024 });
    output = `${result.stdout}\n${result.stderr}`;
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message: string };
    output = `${failure.stdout ?? ''}\n${failure.stderr ?? ''}\n${failure.message}`;
  }
  const summary = /Passed: (\d+)\/(\d+), (\d+) failed/.exec(output);
  return { passed: Number(summary?.[1] ?? 0), failed: summary ? Number(summary[3]) : 1, output };
}
