import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, connect, startGateway, waitReady, type RunningGateway } from '../gateway/harness.js';
import { canRun, startPrivatePostgres, type PrivateService } from '../support/privateServices.js';
import { connectHttp, startHttpServer, tempDir, type HttpServerProcess } from '../support/processes.js';
import { waitFor } from '../support/waitFor.js';
import { join } from 'node:path';

/**
 * The project-management server on a PostgreSQL cluster of the test's own, which the test stops
 * (immediate shutdown, as a crash) and starts again while the server runs.
 */

type Failure = { code?: string; message?: string };

const failureOf = (result: CallToolResult): Failure => ((result._meta ?? {}) as Record<string, Failure>)['io.manifold/failure'] ?? {};

async function titles(client: Client, tool: string): Promise<string[]> {
  const listed = (await client.callTool({ name: tool, arguments: { limit: 100 } })) as CallToolResult;
  if (listed.isError) throw new Error(JSON.stringify(listed.content));
  return (listed.structuredContent as { tasks: Array<{ title: string }> }).tasks.map((task) => task.title).sort();
}

describe.runIf(canRun('postgres', 'the PostgreSQL outage test'))('the project-management server while its PostgreSQL is down', () => {
  let postgres: PrivateService;
  let server: HttpServerProcess;
  let client: Client;
  const data = tempDir('pm-outage');

  beforeAll(async () => {
    postgres = await startPrivatePostgres();
    server = await startHttpServer('servers/project-management/main.js', { DATABASE_URL: postgres.url, MANIFOLD_DATA_DIR: data.path });
    client = await connectHttp(server.url);
  }, 60_000);
  afterAll(async () => {
    await client?.close();
    await server?.stop();
    await postgres?.remove();
    data.remove();
  });

  it('answers "database unavailable, retry in a moment", keeps every acknowledged write, refuses writes whole, and resumes by itself', async () => {
    for (const title of ['Before the outage 1', 'Before the outage 2']) {
      const created = (await client.callTool({ name: 'create_task', arguments: { title } })) as CallToolResult;
      expect(created.isError, JSON.stringify(created.content)).toBeFalsy();
    }

    await postgres.stop();
    const refused = (await client.callTool({ name: 'create_task', arguments: { title: 'During the outage' } })) as CallToolResult;
    expect(refused.isError).toBe(true);
    expect(failureOf(refused).code).toBe('unavailable');
    expect(JSON.stringify(refused.content)).toContain('The project database is unavailable. Retry in a moment; nothing was changed.');
    const listed = (await client.callTool({ name: 'list_tasks', arguments: {} })) as CallToolResult;
    expect(failureOf(listed).code).toBe('unavailable');
    // Outside tools: a JSON-RPC error with the same words, not an internal error.
    await expect(client.readResource({ uri: 'project://status' })).rejects.toThrow(/The project database is unavailable/);
    expect(server.child.exitCode).toBeNull();
    expect(server.stderr()).toContain('database unavailable');

    await postgres.start();
    // No restart: the pool opens new connections once the server answers.
    const after = await waitFor(
      'the server to answer again',
      async () => {
        const result = (await client.callTool({ name: 'list_tasks', arguments: { limit: 100 } })) as CallToolResult;
        return result.isError ? undefined : result;
      },
      20_000,
    );
    expect(after.isError).toBeFalsy();
    expect(await titles(client, 'list_tasks')).toEqual(['Before the outage 1', 'Before the outage 2']);
    const created = (await client.callTool({ name: 'create_task', arguments: { title: 'After the outage' } })) as CallToolResult;
    expect(created.isError, JSON.stringify(created.content)).toBeFalsy();
    expect(await titles(client, 'list_tasks')).toEqual(['After the outage', 'Before the outage 1', 'Before the outage 2']);
    expect(server.child.exitCode).toBeNull();
    await waitFor('the recovery in the log', () => server.stderr().includes('database available again'), 5_000);
  }, 60_000);

  it('says the same through the gateway, whose pm child stays up', async () => {
    const gateway: RunningGateway = await startGateway({
      upstreams: [
        {
          namespace: 'pm',
          stdio: {
            command: process.execPath,
            args: [join(ROOT, 'dist', 'servers', 'project-management', 'main.js')],
            cwd: ROOT,
            env: { DATABASE_URL: postgres.url, MANIFOLD_DATA_DIR: data.path, LOG_LEVEL: 'warn' },
          },
        },
      ],
    });
    try {
      const ready = await waitReady(gateway);
      const childPid = ready.upstreams[0]?.pid;
      const viaGateway = await connect(gateway.url);
      await postgres.stop();
      const refused = (await viaGateway.callTool({
        name: 'pm__create_task',
        arguments: { title: 'Through the gateway, during the outage' },
      })) as CallToolResult;
      expect(refused.isError).toBe(true);
      expect(JSON.stringify(refused.content)).toContain('The project database is unavailable. Retry in a moment');
      await postgres.start();
      await waitFor(
        'the gateway path to answer again',
        async () => !((await viaGateway.callTool({ name: 'pm__list_tasks', arguments: {} })) as CallToolResult).isError,
        20_000,
      );
      expect(await titles(viaGateway, 'pm__list_tasks')).not.toContain('Through the gateway, during the outage');
      const after = await waitReady(gateway);
      expect(after.upstreams[0]?.pid).toBe(childPid);
      expect(after.upstreams[0]?.restarts).toBe(0);
      await viaGateway.close();
    } finally {
      await gateway.stop();
    }
  }, 60_000);
});
