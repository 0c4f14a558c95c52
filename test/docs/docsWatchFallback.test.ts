import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { appendFile, chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { LEGACY_V1 } from '../support/eraClients.js';
import { waitFor } from '../support/waitFor.js';
import type { HttpServerProcess } from '../support/processes.js';
import { connectHttp, copyFixtureTree, startHttpProcess, subscribe } from './helpers.js';

/** A user of its own, so that using up its file watches touches no other test. */
const NOBODY = { uid: 65534, gid: 65534 };
const runsAsRoot = process.getuid?.() === 0;

/**
 * Takes every inotify instance the kernel allows one user (fs.inotify.max_user_instances) and
 * holds them until stopped; prints how many it took.
 */
const HOLD_WATCHES = `
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
held = []
while True:
    fd = libc.inotify_init()
    if fd < 0: break
    held.append(fd)
print(len(held), ctypes.get_errno(), flush=True)
sys.stdin.read()
`;

async function holdAllWatches(user: { uid: number; gid: number }): Promise<{ held: number; release: () => Promise<void> }> {
  const holder: ChildProcess = spawn('/usr/bin/python3', ['-c', HOLD_WATCHES], { ...user, stdio: ['pipe', 'pipe', 'inherit'] });
  const [line] = (await once(createInterface({ input: holder.stdout! }), 'line')) as [string];
  return {
    held: Number(line.split(' ')[0]),
    release: async () => {
      holder.stdin!.end();
      if (holder.exitCode === null) await once(holder, 'exit');
    },
  };
}

/** A copy of the fixture tree another user can read, and a data directory it can write. */
async function treeFor(): Promise<{ root: string; dataDir: string; remove: () => Promise<void> }> {
  const tree = await copyFixtureTree();
  await chmod(path.dirname(tree.root), 0o755);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'manifold-docs-data-'));
  await chown(dataDir, NOBODY.uid, NOBODY.gid);
  return {
    ...tree,
    dataDir,
    remove: async () => {
      await tree.remove();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

describe('the docs watcher when file events are not available', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** Edit `file` under a running server and wait until a client subscribed to it hears so. */
  const editAndHear = async (server: HttpServerProcess, root: string, file: string, addition: string): Promise<void> => {
    cleanups.push(() => server.stop());
    const { client, notifications } = await connectHttp(server.url, LEGACY_V1);
    cleanups.push(() => client.close());
    cleanups.push(await subscribe(client, `docs://${file}`));
    await appendFile(path.join(root, file), addition);
    await waitFor(`resources/updated for ${file}`, () => notifications.updated.includes(`docs://${file}`));
  };

  it('polls the tree when DOCS_WATCH_POLL is set, and a subscriber hears about an edit', async () => {
    const tree = await copyFixtureTree();
    cleanups.push(tree.remove);
    const server = await startHttpProcess({ DOCS_ROOT: tree.root, DOCS_WATCH_POLL: 'true', DOCS_WATCH_POLL_INTERVAL_MS: '100' });
    await editAndHear(server, tree.root, 'README.md', '\nPolled line.\n');
    expect(server.stderr()).toMatch(/"mode":"polling"[^\n]*watching docs for changes/);
  });

  it.runIf(runsAsRoot)("falls back to polling, saying why, when the user's file watches are used up, and misses no change", async () => {
    const tree = await treeFor();
    cleanups.push(tree.remove);
    const watches = await holdAllWatches(NOBODY);
    cleanups.push(watches.release);
    expect(watches.held).toBeGreaterThan(0);

    const server = await startHttpProcess(
      { DOCS_ROOT: tree.root, MANIFOLD_DATA_DIR: tree.dataDir, DOCS_WATCH_POLL_INTERVAL_MS: '100', HOME: tree.dataDir },
      NOBODY,
    );
    await editAndHear(server, tree.root, 'guides/installing.md', '\n## Uninstalling\n\nRun `npm uninstall --global acme-widgets`.\n');
    const warning = server
      .stderr()
      .split('\n')
      .find((line) => line.includes('no file watches left'));
    expect(warning).toContain('fs.inotify.max_user_instances');
    expect(JSON.parse(warning!)).toMatchObject({ level: 40, code: expect.stringMatching(/^(EMFILE|ENOSPC)$/), pollIntervalMs: 100 });
    expect(server.stderr()).toMatch(/"mode":"polling"[^\n]*watching docs for changes/);
  });
});
