import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import { CONFORMANCE_DIR, CONFORMANCE_NEXT_DIR, type Check } from './conformanceSuite.js';

const run = promisify(execFile);

/** The two installed lines of the conformance suite (see conformanceSuite.ts for where they live). */
export type SuiteLine = '0.1.16' | '0.2.0-alpha.12';

function suiteFiles(line: SuiteLine): { node: string; suite: string } {
  const dir = line === '0.1.16' ? CONFORMANCE_DIR : CONFORMANCE_NEXT_DIR;
  return {
    node: join(dir, 'node_modules', '.bin', 'node'),
    suite: join(dir, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js'),
  };
}

const ChecksSchema = z.array(
  z.object({
    id: z.string(),
    status: z.enum(['SUCCESS', 'FAILURE', 'WARNING', 'SKIPPED', 'INFO']),
    errorMessage: z.string().optional(),
  }),
);

export interface SuiteRun {
  /** Every scenario the suite ran, with its checks (its checks.json under -o). */
  scenarios: Map<string, Check[]>;
  /** The suite's stdout and stderr, for failure messages. */
  output: string;
  /** Wall time of the run. */
  elapsedMs: number;
}

/**
 * Run a whole suite (`server --url … --suite all`, plus `extraArgs`) in one process and read the
 * checks of every scenario from its -o folder (`server-<scenario>-<timestamp>/checks.json`): one
 * Node 22 start-up per line instead of one per scenario. Exit status 1 only means some check
 * failed; the checks say which. 0.1.16 has no --timeout of its own, so the process is bounded here.
 */
export async function runSuite(line: SuiteLine, url: string, extraArgs: readonly string[], timeoutMs: number): Promise<SuiteRun> {
  const { node, suite } = suiteFiles(line);
  const outDir = mkdtempSync(join(tmpdir(), 'manifold-conformance-fixture-'));
  const args = [suite, 'server', '--url', url, '--suite', 'all', '-o', outDir, ...extraArgs];
  const started = Date.now();
  let output: string;
  try {
    const result = await run(node, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
    output = `${result.stdout}\n${result.stderr}`;
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message: string };
    output = `${failure.stdout ?? ''}\n${failure.stderr ?? ''}\n${failure.message}`;
  }
  try {
    const scenarios = new Map<string, Check[]>();
    for (const folder of readdirSync(outDir)) {
      const name = /^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/.exec(folder)?.[1];
      if (!name) continue;
      scenarios.set(name, ChecksSchema.parse(JSON.parse(readFileSync(join(outDir, folder, 'checks.json'), 'utf8'))));
    }
    return { scenarios, output, elapsedMs: Date.now() - started };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

/** A check that may end other than SUCCESS or INFO, exactly as stated, and why. */
export interface KnownOutcome {
  status: 'WARNING' | 'SKIPPED' | 'FAILURE';
  message: RegExp;
  why: string;
}

/**
 * What in a scenario's checks does not meet the expectation, one line each (empty when all do):
 * at least one check ran, and every check passes (INFO notes count as passing) except the known
 * ones, which must be reported exactly as stated, so a change on either side shows.
 */
export function unexpectedChecks(checks: readonly Check[] | undefined, known: Readonly<Record<string, KnownOutcome>> = {}): string[] {
  if (!checks) return ['the suite did not run this scenario'];
  const unmet: string[] = [];
  if (checks.length === 0) unmet.push('the scenario reported no checks');
  for (const check of checks) {
    const expected = known[check.id];
    const ok = expected
      ? check.status === expected.status && expected.message.test(check.errorMessage ?? '')
      : check.status === 'SUCCESS' || check.status === 'INFO';
    if (!ok) unmet.push(`${check.id}: ${check.status}${expected ? ` (expected ${expected.status} matching ${expected.message})` : ''} ${check.errorMessage ?? ''}`.trim());
  }
  for (const id of Object.keys(known)) {
    if (!checks.some((check) => check.id === id)) unmet.push(`${id}: not reported at all`);
  }
  return unmet;
}
