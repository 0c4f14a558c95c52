import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createMcpHandler, type CallToolResult } from '@modelcontextprotocol/server';
import { createLogger } from '../../shared/logger.js';
import { pendingInputCodec, type ProjectServerDeps } from '../../servers/project-management/context.js';
import { publishStoreChanges } from '../../servers/project-management/resources.js';
import { createProjectManagementServer } from '../../servers/project-management/server.js';
import { openDatabase, type OpenedDatabase } from '../../servers/project-management/store/database.js';
import { ProjectStore } from '../../servers/project-management/store/projectStore.js';
import { createTemporaryDatabase, postgresAvailable, type TemporaryDatabase } from '../support/databases.js';
import {
  CLIENT_KINDS,
  connectClient,
  LEGACY_V1,
  type ClientHandlers,
  type ClientKind,
  type ConnectOptions,
  type EraClient,
  type ServerTarget,
} from '../support/eraClients.js';
import type { FetchLike } from '../support/modernWire.js';
import { startHttpServer, tempDir } from '../support/processes.js';

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
    return {
      database,
      serverEnv: { MANIFOLD_DATA_DIR: dir.path },
      cleanup: async () => {
        await database.close();
        dir.remove();
      },
    };
  },
};

const postgresBackend: StoreBackend = {
  name: 'postgres',
  open: async () => {
    const temporary: TemporaryDatabase = await createTemporaryDatabase();
    const database = await openDatabase({ kind: 'postgres', url: temporary.url });
    const dir = tempDir('pm-pg');
    return {
      database,
      serverEnv: { DATABASE_URL: temporary.url, MANIFOLD_DATA_DIR: dir.path },
      cleanup: async () => {
        await database.close();
        await temporary.drop();
        dir.remove();
      },
    };
  },
};

/** SQLite always; PostgreSQL when DATABASE_URL is set (required under CI). */
export const backends: StoreBackend[] = postgresAvailable() ? [sqliteBackend, postgresBackend] : [sqliteBackend];

/** Every backend with every given transport and both protocol eras, for describe.each. */
export function matrix(
  transports: readonly ClientTransportKind[],
  clients: readonly ClientKind[] = CLIENT_KINDS,
): Array<{ backend: StoreBackend; transport: ClientTransportKind; client: ClientKind; label: string }> {
  return backends.flatMap((backend) =>
    transports.flatMap((transport) => clients.map((client) => ({ backend, transport, client, label: `${backend.name} via ${transport}, client ${client}` }))),
  );
}

export interface Harness {
  /** A store on the same database as the server, for assertions on what was written. */
  store: ProjectStore;
  /** Connect a client of the harness's kind (or `kind`), with capabilities and answers to the server's requests. */
  connect: (options?: ConnectOptions, kind?: ClientKind) => Promise<EraClient>;
  /** The same server as an in-process 2026-07-28 HTTP endpoint, for raw wire requests (test/support/modernWire.ts). */
  modernEndpoint: FetchLike;
  close: () => Promise<void>;
}

export interface HarnessOptions {
  samplingTimeoutMs?: number;
  trustCallerMeta?: boolean;
  transport?: ClientTransportKind;
  /** The client `connect` makes by default. */
  client?: ClientKind;
  /** How long the state of a multi round-trip call stays valid (in-process servers only). */
  pendingInputTtlSeconds?: number;
}

const LOCAL_USER = 'ada@example.com';

/**
 * A project-management server on a real database, reached by SDK clients of either protocol
 * era either in-process or as a real process over stdio or Streamable HTTP. The harness also
 * opens the database itself, to check what the server wrote.
 */
export async function startHarness(backend: StoreBackend, options: HarnessOptions = {}): Promise<Harness> {
  const { database, serverEnv, cleanup } = await backend.open();
  const store = new ProjectStore(database.db);
  const clients: EraClient[] = [];
  const transport = options.transport ?? 'memory';
  const env = {
    ...serverEnv,
    MANIFOLD_USER: LOCAL_USER,
    MANIFOLD_TRUST_CALLER_META: options.trustCallerMeta ? '1' : '0',
    PM_SAMPLING_TIMEOUT_MS: String(options.samplingTimeoutMs ?? 5_000),
  };
  const httpServer = transport === 'http' ? await startHttpServer(ENTRY, env) : undefined;
  const caller = { trustCallerMeta: options.trustCallerMeta ?? false, localUser: LOCAL_USER };
  const deps: ProjectServerDeps = {
    store,
    logger: createLogger('pm-test', 'silent'),
    ...caller,
    defaultProject: 'general',
    samplingTimeoutMs: options.samplingTimeoutMs ?? 5_000,
    changes: publishStoreChanges(store),
    pendingInput: pendingInputCodec(randomBytes(32), caller, options.pendingInputTtlSeconds),
  };
  const modernHandler = createMcpHandler(() => createProjectManagementServer(deps, { era: 'modern', changes: 'none' }), {
    legacy: 'reject',
    bus: deps.changes,
  });
  const target: ServerTarget =
    transport === 'memory'
      ? { kind: 'memory', createServer: (instance) => createProjectManagementServer(deps, instance), changes: deps.changes }
      : transport === 'http'
        ? { kind: 'http', url: httpServer!.url }
        : { kind: 'stdio', entry: ENTRY, env };

  return {
    store,
    connect: async (connectOptions = {}, kind = options.client ?? LEGACY_V1) => {
      const client = await connectClient(kind, target, connectOptions);
      clients.push(client);
      return client;
    },
    modernEndpoint: (request) => modernHandler.fetch(request),
    close: async () => {
      await modernHandler.close();
      for (const client of clients) await client.close().catch(() => undefined);
      await httpServer?.stop();
      await cleanup();
    },
  };
}

/** A client handler that answers every sampling request with `text` (and notes each request). */
export function samplingAnswer(text: string, seen?: Array<Record<string, unknown>>): ClientHandlers {
  return {
    sampling: (params) => {
      seen?.push(params as unknown as Record<string, unknown>);
      return { role: 'assistant', model: 'test-model', content: { type: 'text', text } };
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
