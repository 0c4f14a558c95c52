import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult, ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { join } from 'node:path';
import { createLogger } from '../../shared/logger.js';
import { createProjectManagementServer } from '../../servers/project-management/server.js';
import { openDatabase, type OpenedDatabase } from '../../servers/project-management/store/database.js';
import { ProjectStore } from '../../servers/project-management/store/projectStore.js';
import { createTemporaryDatabase, postgresAvailable, type TemporaryDatabase } from '../support/databases.js';
import { connectHttp, connectStdio, startHttpServer, tempDir, type StdioConnection } from '../support/processes.js';

const ENTRY = 'servers/project-management/main.js';

export interface StoreBackend {
  name: 'sqlite' | 'postgres';
  open: () => Promise<{ database: OpenedDatabase; serverEnv: Record<string, string>; cleanup: () => Promise<void> }>;
}

/** How the test client reaches the server: in-process, or a real process over stdio or HTTP. */
export type ClientTransportKind = 'memory' | 'stdio' | 'http';

const sqliteBackend: StoreBackend = {
  name: 'sqlite',
  open: async () => {
    const dir = tempDir('pm');
    const database = await openDatabase({ kind: 'sqlite', file: join(dir.path, 'project-management.sqlite') });
    return { database, serverEnv: { MANIFOLD_DATA_DIR: dir.path }, cleanup: async () => { await database.close(); dir.remove(); } };
  },
};

const postgresBackend: StoreBackend = {
  name: 'postgres',
  open: async () => {
    const temporary: TemporaryDatabase = await createTemporaryDatabase();
    const database = await openDatabase({ kind: 'postgres', url: temporary.url });
    return { database, serverEnv: { DATABASE_URL: temporary.url }, cleanup: async () => { await database.close(); await temporary.drop(); } };
  },
};

/** SQLite always; PostgreSQL when DATABASE_URL is set (required under CI). */
export const backends: StoreBackend[] = postgresAvailable() ? [sqliteBackend, postgresBackend] : [sqliteBackend];

/** Every backend with every given transport, for describe.each. */
export function matrix(transports: readonly ClientTransportKind[]): Array<{ backend: StoreBackend; transport: ClientTransportKind; label: string }> {
  return backends.flatMap((backend) => transports.map((transport) => ({ backend, transport, label: `${backend.name} via ${transport}` })));
}

export interface Harness {
  /** A store on the same database as the server, for assertions on what was written. */
  store: ProjectStore;
  connect: (capabilities?: ClientCapabilities, setup?: (client: Client) => void) => Promise<Client>;
  close: () => Promise<void>;
}

export interface HarnessOptions {
  samplingTimeoutMs?: number;
  trustCallerMeta?: boolean;
  transport?: ClientTransportKind;
}

const LOCAL_USER = 'ada@example.com';

/**
 * A project-management server on a real database, reached by SDK clients either
 * in-process (linked in-memory transports) or as a real process over stdio or
 * Streamable HTTP. The harness also opens the database itself, to check what the
 * server wrote.
 */
export async function startHarness(backend: StoreBackend, options: HarnessOptions = {}): Promise<Harness> {
  const { database, serverEnv, cleanup } = await backend.open();
  const store = new ProjectStore(database.db);
  const clients: Client[] = [];
  const transport = options.transport ?? 'memory';
  const env = {
    ...serverEnv,
    MANIFOLD_USER: LOCAL_USER,
    MANIFOLD_TRUST_CALLER_META: options.trustCallerMeta ? '1' : '0',
    PM_SAMPLING_TIMEOUT_MS: String(options.samplingTimeoutMs ?? 5_000),
  };
  const httpServer = transport === 'http' ? await startHttpServer(ENTRY, env) : undefined;
  const stdioConnections: StdioConnection[] = [];
  const logger = createLogger('pm-test', 'silent');

  const connectInMemory = async (capabilities: ClientCapabilities, setup?: (client: Client) => void): Promise<Client> => {
    const server = createProjectManagementServer({
      store,
      logger,
      trustCallerMeta: options.trustCallerMeta ?? false,
      localUser: LOCAL_USER,
      defaultProject: 'general',
      samplingTimeoutMs: options.samplingTimeoutMs ?? 5_000,
    });
    const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
    await server.connect(serverTransport);
    const client = new Client({ name: 'pm-test', version: '1.0.0' }, { capabilities });
    setup?.(client);
    await client.connect(clientTransport);
    return client;
  };

  return {
    store,
    connect: async (capabilities = {}, setup) => {
      let client: Client;
      if (transport === 'memory') client = await connectInMemory(capabilities, setup);
      else if (transport === 'http') client = await connectHttp(httpServer!.url, capabilities, {}, setup);
      else {
        const connection = await connectStdio(ENTRY, env, capabilities, setup);
        stdioConnections.push(connection);
        client = connection.client;
      }
      clients.push(client);
      return client;
    },
    close: async () => {
      for (const client of clients) await client.close().catch(() => undefined);
      await httpServer?.stop();
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
