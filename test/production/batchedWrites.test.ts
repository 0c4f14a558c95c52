import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, connect, startGateway, waitReady } from '../gateway/harness.js';
import { waitFor } from '../support/waitFor.js';
import { call, policyFixture, text } from './productionSupport.js';

const AUDIT_MODULE = join(ROOT, 'dist', 'gateway', 'observability', 'auditLog.js');
const LOGGER_MODULE = join(ROOT, 'dist', 'shared', 'logger.js');

/**
 * Start a script in a process of its own and wait until its stderr, or the file it writes,
 * holds `marker`; the process is still running then (it would flush everything on exit).
 */
async function seenWhileRunning(script: string, marker: string, file?: string): Promise<number> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const started = Date.now();
  try {
    await waitFor(`"${marker}" written`, () => (file ? existsSync(file) && readFileSync(file, 'utf8').includes(marker) : stderr.includes(marker)), 3000);
    expect(child.exitCode).toBeNull();
    return Date.now() - started;
  } finally {
    child.kill('SIGKILL');
  }
}

function auditLines(file: string): Array<Record<string, unknown>> {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Run a script that uses the audit log in a process of its own and wait for it to end. */
function runAuditScript(script: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolveRun) => child.once('exit', (code) => resolveRun({ code, stderr })));
}

describe('audit lines written in batches are never lost on a normal exit', () => {
  const dirs: string[] = [];
  const tempDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'manifold-batched-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('writes the lines of a process that exits before the flush interval, in order', async () => {
    const file = join(tempDir(), 'audit', 'writes.jsonl');
    const outcome = await runAuditScript(`
      import { AuditLog } from ${JSON.stringify(AUDIT_MODULE)};
      const audit = new AuditLog(${JSON.stringify(file)}, 60000);
      for (let i = 0; i < 500; i++) audit.append({ n: i, tool: 'fx__bump' });
      process.exit(3);
    `);
    expect(outcome.stderr).toBe('');
    expect(outcome.code).toBe(3);
    const lines = auditLines(file);
    expect(lines.map((line) => line.n)).toEqual(Array.from({ length: 500 }, (_, i) => i));
  });

  it('writes the lines of a process that ends on its own, and of a logger, before the interval', async () => {
    const file = join(tempDir(), 'audit', 'writes.jsonl');
    const outcome = await runAuditScript(`
      import { AuditLog } from ${JSON.stringify(AUDIT_MODULE)};
      import { createLogger } from ${JSON.stringify(LOGGER_MODULE)};
      const audit = new AuditLog(${JSON.stringify(file)}, 60000);
      const logger = createLogger('script', 'info', { flushIntervalMs: 60000 });
      for (let i = 0; i < 300; i++) audit.append({ n: i });
      logger.info('the last info line');
    `);
    expect(outcome.code).toBe(0);
    expect(auditLines(file).map((line) => line.n)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(outcome.stderr).toContain('the last info line');
  });

  it('writes an administrative event at once, without waiting for the interval', async () => {
    const file = join(tempDir(), 'audit', 'writes.jsonl');
    const outcome = await runAuditScript(`
      import { readFileSync } from 'node:fs';
      import { AuditLog } from ${JSON.stringify(AUDIT_MODULE)};
      const audit = new AuditLog(${JSON.stringify(file)}, 60000);
      audit.append({ event: 'ordinary' });
      audit.append({ event: 'tool_change_approved' }, { urgent: true });
      setTimeout(() => {
        process.stderr.write(readFileSync(${JSON.stringify(file)}, 'utf8'));
        process.exit(0);
      }, 500);
    `);
    expect(outcome.code).toBe(0);
    // Read inside the process, before its exit flush: both lines are already on disk, in order.
    expect(
      outcome.stderr
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { event: string }).event),
    ).toEqual(['ordinary', 'tool_change_approved']);
  });

  it('writes a warning at once even while a batch of info lines is being written', async () => {
    // 10 s interval: only the eager flush can bring the warning out within the wait.
    await seenWhileRunning(
      `
      import { createLogger } from ${JSON.stringify(LOGGER_MODULE)};
      const logger = createLogger('batched', 'info', { flushIntervalMs: 10000 });
      for (let i = 0; i < 400; i++) logger.info({ i, filler: 'x'.repeat(80) }, 'ordinary line');
      logger.warn('upstream down: the warning');
      setTimeout(() => undefined, 60000);
    `,
      'upstream down: the warning',
    );
  });

  it('writes an administrative audit event at once even while a batch is being written', async () => {
    const file = join(tempDir(), 'audit', 'writes.jsonl');
    await seenWhileRunning(
      `
      import { AuditLog } from ${JSON.stringify(AUDIT_MODULE)};
      const audit = new AuditLog(${JSON.stringify(file)}, 10000);
      // About 45 KB: written as 16 KB pieces, the last few KB stay below the batch size.
      for (let i = 0; i < 450; i++) audit.append({ n: i, filler: 'x'.repeat(80) });
      audit.append({ event: 'tool_change_approved' }, { urgent: true });
      setTimeout(() => undefined, 60000);
    `,
      'tool_change_approved',
      file,
    );
  });

  it('writes the audit lines of calls made just before a gateway is stopped', async () => {
    const dataDir = tempDir();
    const gateway = await startGateway(
      { upstreams: [policyFixture('fx')], observability: { audit: { flushIntervalMs: 10_000 } } },
      { env: { MANIFOLD_DATA_DIR: dataDir } },
    );
    try {
      await waitReady(gateway);
      const client = await connect(gateway.url);
      for (let i = 0; i < 3; i++) expect(text(await call(client, 'fx__echo', { text: `last words ${i}` }))).toBe(`last words ${i}`);
      await client.close();
    } finally {
      await gateway.stop();
    }
    const entries = auditLines(join(dataDir, 'audit', 'tool-writes.jsonl'));
    expect(entries.filter((entry) => entry.tool === 'fx__echo').map((entry) => (entry.arguments as { text: string }).text)).toEqual([
      'last words 0',
      'last words 1',
      'last words 2',
    ]);
    // The call log lines, batched the same way, reached stderr too.
    expect(gateway.logs.filter((line) => line.msg === 'tool call').length).toBeGreaterThanOrEqual(3);
  });

  it('writes audit lines within the flush interval while the gateway keeps running', async () => {
    const dataDir = tempDir();
    const gateway = await startGateway(
      { upstreams: [policyFixture('fx')], observability: { audit: { flushIntervalMs: 200 } } },
      { env: { MANIFOLD_DATA_DIR: dataDir } },
    );
    try {
      await waitReady(gateway);
      const client = await connect(gateway.url);
      await call(client, 'fx__echo', { text: 'while running' });
      const file = join(dataDir, 'audit', 'tool-writes.jsonl');
      const entry = await waitFor('the audit line', () => auditLines(file).find((line) => line.tool === 'fx__echo'), 5000);
      expect(entry).toMatchObject({ upstream: 'fx', upstreamTool: 'echo', outcome: 'ok' });
      await client.close();
    } finally {
      await gateway.stop();
    }
  });
});
