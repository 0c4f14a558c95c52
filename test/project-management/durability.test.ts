import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseTarget } from '../../servers/project-management/store/database.js';
import { ProjectStore } from '../../servers/project-management/store/projectStore.js';
import { createTemporaryDatabase, postgresAvailable, type TemporaryDatabase } from '../support/databases.js';
import { connectStdio, tempDir } from '../support/processes.js';
import { waitFor } from '../support/waitFor.js';
import { structured, type TaskOut } from './harness.js';

const ENTRY = 'servers/project-management/main.js';
const BURST = 400;
const KILL_AFTER_ACKS = 120;

interface Target {
  name: string;
  env: () => Promise<{ env: Record<string, string>; target: DatabaseTarget; cleanup: () => Promise<void> }>;
}

const targets: Target[] = [
  {
    name: 'sqlite',
    env: async () => {
      const dir = tempDir('pm-durable');
      return {
        env: { MANIFOLD_DATA_DIR: dir.path },
        target: { kind: 'sqlite', file: join(dir.path, 'project-management.sqlite') },
        cleanup: async () => dir.remove(),
      };
    },
  },
];
if (postgresAvailable()) {
  targets.push({
    name: 'postgres',
    env: async () => {
      const db: TemporaryDatabase = await createTemporaryDatabase();
      return { env: { DATABASE_URL: db.url }, target: { kind: 'postgres', url: db.url }, cleanup: () => db.drop() };
    },
  });
}

describe.each(targets)('durability on $name', (target) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  it('keeps every acknowledged write, and nothing torn, when the server is killed mid-burst', async () => {
    const { env, target: dbTarget, cleanup } = await target.env();
    cleanups.push(cleanup);
    const connection = await connectStdio(ENTRY, env);
    const acknowledged = new Map<string, string>();
    const calls = Array.from({ length: BURST }, (_, i) => {
      const title = `Burst write ${i}`;
      return connection.client
        .callTool({ name: 'create_task', arguments: { title, description: `payload ${i} ${'x'.repeat(200)}`, priority: 'high' } })
        .then((result) => {
          const task = structured<{ task: TaskOut }>(result as CallToolResult).task;
          acknowledged.set(task.id, title);
        })
        .catch(() => undefined); // calls in flight at the kill fail; that is expected
    });
    await waitFor('enough acknowledged writes before the kill', () => acknowledged.size >= KILL_AFTER_ACKS, 20_000);
    process.kill(connection.transport.pid!, 'SIGKILL');
    await Promise.all(calls);
    await connection.close().catch(() => undefined);
    expect(acknowledged.size).toBeGreaterThanOrEqual(KILL_AFTER_ACKS);
    expect(acknowledged.size).toBeLessThan(BURST); // the kill really interrupted the burst

    // Restart the server: it must open the same data (migrations idempotent, WAL recovered).
    const restarted = await connectStdio(ENTRY, env);
    const listed = (await restarted.client.callTool({ name: 'list_tasks', arguments: { limit: 1 } })) as CallToolResult;
    expect(listed.isError).toBeFalsy();
    await restarted.close();

    const database = await openDatabase(dbTarget);
    try {
      const store = new ProjectStore(database.db);
      const stored = new Map<string, TaskOut>();
      let cursor: string | undefined;
      do {
        const page = await store.listTasks({}, 100, cursor);
        for (const t of page.tasks) stored.set(t.id, { ...t, parent_id: t.parentId, external_ref: t.externalRef, created_by: t.createdBy } as TaskOut);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      for (const [id, title] of acknowledged) {
        expect(stored.get(id)?.title, `acknowledged ${id}`).toBe(title);
      }
      // Nothing torn: every stored task is whole and has exactly one creation record.
      const created = await database.db.selectFrom('activity').select(['task_id']).where('action', '=', 'task.created').execute();
      expect(created.length).toBe(stored.size);
      expect(new Set(created.map((r) => `T-${r.task_id}`))).toEqual(new Set(stored.keys()));
      for (const task of stored.values()) {
        expect(task.title).toMatch(/^Burst write \d+$/);
        expect(task.description).toMatch(/^payload \d+ x{200}$/);
      }
    } finally {
      await database.close();
    }
  });
});
