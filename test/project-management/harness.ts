import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult, ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { join } from 'node:path';
import { createLogger } from '../../shared/logger.js';
import { createProjectManagementServer } from '../../servers/project-management/server.js';
import { openDatabase, type OpenedDatabase } from '../../servers/project-management/store/database.js';
import { ProjectStore } from '../../servers/project-management/store/projectStore.js';
import { createTemporaryDatabase, postgresAvailable, type TemporaryDatabase } from '../support/databases.js';
import { tempDir } from '../support/processes.js';

export interface StoreBackend {
  name: 'sqlite' | 'postgres';
  open: () => Promise<{ database: OpenedDatabase; cleanup: () => Promise<void> }>;
}

const sqliteBackend: StoreBackend = {
  name: 'sqlite',
  open: async () => {
    const dir = tempDir('pm');
    const database = await openDatabase({ kind: 'sqlite', file: join(dir.path, 'pm.sqlite') });
    return { database, cleanup: async () => { await database.close(); dir.remove(); } };
  },
};

const postgresBackend: StoreBackend = {
  name: 'postgres',
  open: async () => {
    const temporary: TemporaryDatabase = await createTemporaryDatabase();
    const database = await openDatabase({ kind: 'postgres', url: temporary.url });
    return { database, cleanup: async () => { await database.close(); await temporary.drop(); } };
  },
};

/** SQLite always; PostgreSQL when DATABASE_URL is set (required under CI). */
export const backends: StoreBackend[] = postgresAvailable() ? [sqliteBackend, postgresBackend] : [sqliteBackend];

export interface Harness {
  store: ProjectStore;
  connect: (capabilities?: ClientCapabilities, setup?: (client: Client) => void, meta?: { trust: boolean }) => Promise<Client>;
  close: () => Promise<void>;
}

/** An in-process server on a real database, with SDK clients over linked in-memory transports. */
export async function startHarness(backend: StoreBackend, options: { samplingTimeoutMs?: number; trustCallerMeta?: boolean } = {}): Promise<Harness> {
  const { database, cleanup } = await backend.open();
  const store = new ProjectStore(database.db);
  const clients: Client[] = [];
  const logger = createLogger('pm-test', 'silent');
  return {
    store,
    connect: async (capabilities = {}, setup) => {
      const server = createProjectManagementServer({
        store,
        logger,
        trustCallerMeta: options.trustCallerMeta ?? false,
        localUser: 'ada@example.com',
        defaultProject: 'general',
        samplingTimeoutMs: options.samplingTimeoutMs ?? 5_000,
      });
      const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
      await server.connect(serverTransport);
      const client = new Client({ name: 'pm-test', version: '1.0.0' }, { capabilities });
      setup?.(client);
      await client.connect(clientTransport);
      clients.push(client);
      return client;
    },
    close: async () => {
      for (const client of clients) await client.close();
      await cleanup();
    },
  };
}

export function textOf(result: CallToolResult | Record<string, unknown>): string {
  const content = (result as CallToolResult).content ?? [];
  return content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

export function structured<T = Record<string, unknown>>(result: Record<string, unknown>): T {
  return (result as CallToolResult).structuredContent as T;
}

export interface TaskOut {
  id: string;
  project: string;
  parent_id: string | null;
  title: string;
  description: string;
  status: string;
  priority: string;
  assignee: string | null;
  external_ref: string | null;
  created_by: string;
}

/** The text of the first content item of a resources/read result. */
export function resourceText(result: { contents: ReadonlyArray<{ uri: string } & ({ text: string } | { blob: string })> }): string {
  const first = result.contents[0];
  if (!first || !('text' in first)) throw new Error('expected a text resource');
  return first.text;
}
