/**
 * Files the services write are the service user's alone, whatever the mode of the data
 * directory they were given (an image may pre-create it 0755, and a umask of 022 is usual).
 */
import { chmodSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connectClient, LEGACY_V1, type EraClient } from '../support/eraClients.js';
import { fixtureUpstream, startGateway, waitReady, type RunningGateway } from '../gateway/harness.js';

const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8);

/** A data directory made as a Dockerfile's `mkdir` would, open to everyone to read. */
function openDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'manifold-private-'));
  chmodSync(dir, 0o755);
  return dir;
}

describe('data files are private to the service user', () => {
  let client: EraClient | undefined;
  let gateway: RunningGateway | undefined;

  afterAll(async () => {
    await client?.close();
    await gateway?.stop();
  });

  it('makes the project-management data directory 0700 and its SQLite database and WAL 0600', async () => {
    const dataDir = openDataDir();
    client = await connectClient(LEGACY_V1, {
      kind: 'stdio',
      entry: 'servers/project-management/main.js',
      env: { MANIFOLD_DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    });
    const created = await client.callTool({ name: 'create_task', arguments: { title: 'Private by default' } });
    expect(created.isError).toBeFalsy();
    expect(mode(dataDir)).toBe('700');
    const files = readdirSync(dataDir);
    expect(files).toEqual(expect.arrayContaining(['project-management.sqlite', 'project-management.sqlite-wal']));
    for (const file of files) expect(`${file} ${mode(join(dataDir, file))}`).toBe(`${file} 600`);
  });

  it("makes the gateway's data directory 0700 and what it writes there (keys, pins, audit log) 0600", async () => {
    const dataDir = openDataDir();
    gateway = await startGateway(
      { auth: { mode: 'none-loopback-dev' }, upstreams: [fixtureUpstream('fx')] },
      { env: { MANIFOLD_DATA_DIR: dataDir, LOG_LEVEL: 'info' } },
    );
    await waitReady(gateway);
    expect(mode(dataDir)).toBe('700');
    const walk = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
        entry.isDirectory() ? [join(dir, entry.name), ...walk(join(dir, entry.name))] : [join(dir, entry.name)],
      );
    const written = walk(dataDir);
    expect(written.length).toBeGreaterThan(0);
    for (const path of written) expect(`${path} ${mode(path)}`).toBe(`${path} ${statSync(path).isDirectory() ? '700' : '600'}`);
  });
});
