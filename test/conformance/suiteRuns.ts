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
    if (!ok)
      unmet.push(
        `${check.id}: ${check.status}${expected ? ` (expected ${expected.status} matching ${expected.message})` : ''} ${check.errorMessage ?? ''}`.trim(),
      );
  }
  for (const id of Object.keys(known)) {
    if (!checks.some((check) => check.id === id)) unmet.push(`${id}: not reported at all`);
  }
  return unmet;
}

/**
 * A check that passes against the server itself but not through an intermediary (the gateway),
 * what it reports there instead (`absent`: the suite no longer runs it), and why.
 */
export interface RelayException {
  status: 'INFO' | 'WARNING' | 'SKIPPED' | 'FAILURE' | 'absent';
  /** Matched against the check's errorMessage (absent: not checked). */
  message?: RegExp;
  why: string;
}

const NOT_PASSING: ReadonlySet<Check['status']> = new Set(['FAILURE', 'WARNING', 'SKIPPED']);

/**
 * What a scenario loses through an intermediary compared with the same line's run against the
 * server itself, one line each (empty when nothing is lost): every check that succeeded
 * directly succeeds through it as often, and every check that does not pass through it
 * (FAILURE, WARNING, SKIPPED) ended the same way directly. The exceptions must be reported
 * exactly as stated, and each must still be needed, so a change on either side shows.
 */
export function lostThrough(
  direct: readonly Check[] | undefined,
  relayed: readonly Check[] | undefined,
  exceptions: Readonly<Record<string, RelayException>> = {},
): string[] {
  if (!direct) return ['the suite did not run this scenario directly'];
  if (!relayed) return ['the suite did not run this scenario through the intermediary'];
  if (relayed.length === 0) return ['the scenario reported no checks through the intermediary'];
  const lost: string[] = [];
  const successes = (checks: readonly Check[], id: string): number => checks.filter((check) => check.id === id && check.status === 'SUCCESS').length;
  const reportedAs = (id: string): string =>
    relayed
      .filter((check) => check.id === id)
      .map((check) => `${check.status}${check.errorMessage ? ` ${check.errorMessage}` : ''}`)
      .join('; ') || 'not reported';
  const used = new Set<string>();
  const reported = new Set<string>();
  for (const id of new Set(direct.map((check) => check.id))) {
    if (successes(relayed, id) >= successes(direct, id)) continue;
    const exception = exceptions[id];
    if (!exception) {
      lost.push(`${id}: SUCCESS directly, through the intermediary ${reportedAs(id)}`);
      reported.add(id);
      continue;
    }
    used.add(id);
    const seen = relayed.filter((check) => check.id === id);
    const matches =
      exception.status === 'absent'
        ? seen.length === 0
        : seen.length > 0 && seen.every((check) => check.status === exception.status && (exception.message?.test(check.errorMessage ?? '') ?? true));
    if (!matches) {
      lost.push(
        `${id}: expected ${exception.status}${exception.message ? ` matching ${exception.message}` : ''} through the intermediary, got ${reportedAs(id)}`,
      );
      reported.add(id);
    }
  }
  for (const check of relayed) {
    if (!NOT_PASSING.has(check.status)) continue;
    const exception = exceptions[check.id];
    if (exception?.status === check.status && (exception.message?.test(check.errorMessage ?? '') ?? true)) {
      used.add(check.id);
      continue;
    }
    if (reported.has(check.id) || direct.some((other) => other.id === check.id && other.status === check.status)) continue;
    reported.add(check.id);
    lost.push(`${check.id}: ${check.status} through the intermediary${check.errorMessage ? ` (${check.errorMessage})` : ''}, not so directly`);
  }
  for (const id of Object.keys(exceptions)) if (!used.has(id)) lost.push(`${id}: listed as an exception but not needed (remove it)`);
  return lost;
}
