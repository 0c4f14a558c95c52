import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { connectStdio, tempDir } from '../support/processes.js';
import { measure, type BenchRow } from './stats.js';

/** Tool calls per second to the project-management server over stdio (SQLite, WAL). */
export async function benchProjectManagementStdio(): Promise<BenchRow[]> {
  const data = tempDir('pm-bench');
  const connection = await connectStdio('servers/project-management/main.js', { MANIFOLD_DATA_DIR: data.path, LOG_LEVEL: 'warn' });
  const pid = connection.transport.pid ?? undefined;
  const rows: BenchRow[] = [];
  try {
    const { client } = connection;
    const ok = (r: unknown): void => {
      if ((r as CallToolResult).isError) throw new Error(JSON.stringify(r));
    };
    for (let i = 0; i < 200; i += 1) ok(await client.callTool({ name: 'create_task', arguments: { title: `Seed ${i}` } }));
    for (const concurrency of [1, 8, 32]) {
      rows.push(
        await measure(
          'pm stdio: list_tasks (read, 20 rows)',
          concurrency,
          2000,
          async () => ok(await client.callTool({ name: 'list_tasks', arguments: {} })),
          pid,
        ),
      );
      rows.push(
        await measure(
          'pm stdio: create_task (write, transaction)',
          concurrency,
          1000,
          async (i) => ok(await client.callTool({ name: 'create_task', arguments: { title: `Bench ${concurrency}-${i}`, priority: 'high' } })),
          pid,
        ),
      );
    }
  } finally {
    await connection.close();
    data.remove();
  }
  return rows;
}
