import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { domainUpstreams, rawSession, ROOT, startGateway, waitReady, type RunningGateway } from './harness.js';

/** The lines of `lines` that are not a JSON object, to show in a failure. */
function notJson(lines: readonly string[]): string[] {
  return lines.filter((line) => {
    try {
      const value: unknown = JSON.parse(line);
      return typeof value !== 'object' || value === null || Array.isArray(value);
    } catch {
      return true;
    }
  });
}

describe(`the gateway's log on Node ${process.version}`, () => {
  let gateway: RunningGateway;
  const dataDir = mkdtempSync(join(tmpdir(), 'manifold-log-lines-'));

  beforeAll(async () => {
    // The embedded authorization server loads oidc-provider, which prints "Unsupported runtime" on Node 20.
    gateway = await startGateway({ auth: { mode: 'oauth' }, upstreams: domainUpstreams(dataDir) }, { env: { MANIFOLD_DATA_DIR: dataDir } });
    await waitReady(gateway);
  });

  afterAll(async () => {
    await gateway?.stop();
  });

  it('is one JSON object per line from start to stop, through sign-in, calls and refusals', async () => {
    const token = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        [
          join(ROOT, 'dist', 'gateway', 'tokenCommand.js'),
          '--config',
          gateway.configFile,
          '--user',
          'admin',
          '--scope',
          'pm:read docs:read',
          '--public-url',
          gateway.base,
        ],
        { env: { ...process.env, MANIFOLD_DATA_DIR: dataDir } },
        (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(stdout.trim())),
      ),
    );
    const session = await rawSession(gateway.url, token);
    expect(session.initStatus).toBe(200);
    expect((await session.call('tools/call', { name: 'pm__list_tasks', arguments: {} })).status).toBe(200);
    expect((await session.call('tools/call', { name: 'docs__search_docs', arguments: { query: 'gateway' } })).status).toBe(200);
    expect((await session.call('tools/call', { name: 'pm__create_task', arguments: { title: 'refused' } })).status).toBe(403);
    expect((await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(401);
    expect((await fetch(`${gateway.base}/.well-known/oauth-authorization-server/oauth`)).status).toBe(200);

    const closed = once(gateway.process, 'close');
    await gateway.stop();
    await closed;
    expect(gateway.stderrLines.length).toBeGreaterThan(10);
    expect(notJson(gateway.stderrLines)).toEqual([]);
    expect(await gateway.exited).toEqual({ code: 0, signal: null });
    expect(gateway.logs.at(-1)).toMatchObject({ name: 'gateway', msg: 'stopped' });
    if (Number(process.versions.node.split('.')[0]) < 22) {
      expect(gateway.logs.find((line) => String(line.msg).includes('Unsupported runtime'))).toMatchObject({ level: 40, source: 'console', name: 'gateway' });
    }
  });
});

describe('a server process', () => {
  it("writes Node's warnings and libraries' console output as JSON lines on stderr, and nothing on stdout", async () => {
    const runtimeEnv = pathToFileURL(join(ROOT, 'dist', 'shared', 'runtimeEnv.js')).href;
    const script = `
      import { runMain } from ${JSON.stringify(runtimeEnv)};
      runMain('probe', async () => {
        console.log('a library logs', { count: 2 });
        console.info('\\u001b[33;1mcoloured notice\\u001b[0m');
        console.warn('a library warns');
        console.error(new Error('a library error'));
        process.emitWarning('an old API was used', 'DeprecationWarning', 'DEP0999');
        await new Promise((resolve) => setTimeout(resolve, 50));
      });`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'close')) as [number | null];
    expect(code, stderr).toBe(0);
    expect(stdout).toBe('');
    const lines = stderr.split('\n').filter((line) => line !== '');
    expect(notJson(lines)).toEqual([]);
    const entries = lines.map(
      (line) => JSON.parse(line) as { level: number; name: string; msg: string; source?: string; warning?: { name: string; code?: string } },
    );
    expect(entries.every((entry) => entry.name === 'probe')).toBe(true);
    expect(entries).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ level: 30, source: 'console', msg: 'a library logs { count: 2 }' }),
        expect.objectContaining({ level: 30, source: 'console', msg: 'coloured notice' }),
        expect.objectContaining({ level: 40, source: 'console', msg: 'a library warns' }),
        expect.objectContaining({ level: 50, source: 'console', msg: expect.stringMatching(/^Error: a library error\n {4}at /) }),
        expect.objectContaining({ level: 40, msg: 'an old API was used', warning: { name: 'DeprecationWarning', code: 'DEP0999' } }),
      ]),
    );
  });
});
