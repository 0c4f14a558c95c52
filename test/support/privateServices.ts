import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { waitFor } from './waitFor.js';

/**
 * Servers of a test's own, to stop and start again while the code under test runs (the shared
 * ones on 5432 and 6379 serve every other test and are never stopped). Each listens on a free
 * loopback port and keeps its data in a temporary folder.
 */

/**
 * Can this machine run `what` (redis-server, or PostgreSQL's initdb and pg_ctl)? A local run
 * without it skips with a notice; under CI that is an error.
 */
export function canRun(what: 'redis-server' | 'postgres', purpose: string): boolean {
  const found =
    what === 'redis-server'
      ? spawnSync('redis-server', ['--version']).status === 0
      : existsSync('/usr/lib/postgresql') && readdirSync('/usr/lib/postgresql').length > 0;
  if (found) return true;
  const message = `${what === 'postgres' ? 'PostgreSQL binaries (/usr/lib/postgresql/*/bin)' : 'redis-server'} not found: ${purpose} needs a server of its own to stop and start.`;
  if (process.env.CI) throw new Error(message);
  console.warn(`[manifold tests] ${message} Skipping.`);
  return false;
}

/** A free TCP port on loopback (free when asked; the server that takes it follows at once). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface PrivateService {
  url: string;
  /** Stop it the way a crash does (no goodbye to clients). */
  stop(): Promise<void>;
  /** Start it again on the same port, with the data it had. */
  start(): Promise<void>;
  /** Stop it and remove its data. */
  remove(): Promise<void>;
}

/** `redis-server` on a free port, without persistence; `{ started: false }` leaves it to `start()`. */
export async function startPrivateRedis(options: { started?: boolean } = {}): Promise<PrivateService> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await waitFor(`redis-server on ${port}`, async () => {
      const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG';
      } finally {
        probe.disconnect();
      }
    });
  };
  const stop = async (): Promise<void> => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    running.kill('SIGKILL');
    await once(running, 'exit');
  };
  if (options.started !== false) await start();
  return { url, start, stop, remove: stop };
}

function postgresBin(name: string): string {
  const root = '/usr/lib/postgresql';
  const version = readdirSync(root).sort((a, b) => Number(b) - Number(a))[0];
  if (!version) throw new Error(`No PostgreSQL under ${root}`);
  return join(root, version, 'bin', name);
}

/**
 * A PostgreSQL cluster made with initdb in a temporary folder, trust authentication for
 * `root` on loopback. PostgreSQL refuses to run as root, so as root (CI here) it runs as the
 * `postgres` system user.
 */
export async function startPrivatePostgres(): Promise<PrivateService> {
  const port = await freePort();
  const home = mkdtempSync(join(tmpdir(), 'manifold-pg-'));
  const data = join(home, 'data');
  const asRoot = process.getuid?.() === 0;
  const run = (bin: string, args: string[]): void => {
    const [command, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', postgresBin(bin), ...args]] : [postgresBin(bin), args];
    execFileSync(command as string, argv as string[], { stdio: 'pipe' });
  };
  if (asRoot) {
    chmodSync(home, 0o755);
    const { uid, gid } = userIds('postgres');
    chownSync(home, uid, gid);
  }
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'root', '--no-sync', '-E', 'UTF8']);
  const url = `postgres://root@127.0.0.1:${port}/postgres`;
  const start = async (): Promise<void> => {
    run('pg_ctl', ['-D', data, '-l', join(home, 'log'), '-o', `-p ${port} -k ${home} -c listen_addresses=127.0.0.1 -c fsync=off`, '-w', 'start']);
    await waitFor(`PostgreSQL on ${port}`, async () => {
      const client = new pg.Client({ connectionString: url });
      try {
        await client.connect();
        await client.query('select 1');
        return true;
      } finally {
        await client.end().catch(() => undefined);
      }
    });
  };
  const stop = async (): Promise<void> => {
    if (existsSync(join(data, 'postmaster.pid'))) run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
  };
  await start();
  return {
    url,
    start,
    stop,
    remove: async () => {
      await stop();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

function userIds(name: string): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', name]).toString().trim());
  const gid = Number(execFileSync('id', ['-g', name]).toString().trim());
  return { uid, gid };
}
