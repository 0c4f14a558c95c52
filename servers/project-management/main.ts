import { resolve } from 'node:path';
import { z } from 'zod';
import { parseServeFlags, readEnvironment, envSchemas } from '../../shared/config.js';
import { packageRoot } from '../../shared/packageRoot.js';
import { privateDataDir } from '../../shared/privateData.js';
import { loadRequestStateKey } from '../../shared/requestStateKey.js';
import { commonServerEnv, runMain } from '../../shared/runtimeEnv.js';
import { serve } from '../../shared/serve.js';
import { schemas } from './domain.js';
import { pendingInputCodec } from './context.js';
import { publishStoreChanges } from './resources.js';
import { createProjectManagementServer } from './server.js';
import { openDatabase, type DatabaseTarget } from './store/database.js';
import { ProjectStore } from './store/projectStore.js';

const environment = {
  ...commonServerEnv,
  /** PostgreSQL connection URL; when unset, a SQLite file is used. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a PostgreSQL URL such as postgres://user:password@host:5432/database')
    .optional(),
  /** Where the SQLite file lives when DATABASE_URL is unset. */
  MANIFOLD_DATA_DIR: z.string().optional(),
  PM_DEFAULT_PROJECT: schemas.projectKey.default('general'),
  PM_SAMPLING_TIMEOUT_MS: z.coerce.number().int().min(1000, 'must be at least 1000').max(600_000, 'must be at most 600000').default(60_000),
  PM_HTTP_PORT: envSchemas.port.default(3101),
  /** HMAC key for multi round-trip state (at least 32 bytes); every replica serving one database needs the same. Default: a key file in the data directory. */
  MANIFOLD_REQUEST_STATE_KEY: z.string().optional(),
};

runMain('project-management', async (logger) => {
  const env = readEnvironment(environment);
  const flags = parseServeFlags(process.argv.slice(2), { port: env.PM_HTTP_PORT });
  const dataDir = privateDataDir(resolve(env.MANIFOLD_DATA_DIR ?? resolve(packageRoot(), 'data')));
  const target: DatabaseTarget = env.DATABASE_URL
    ? { kind: 'postgres', url: env.DATABASE_URL }
    : { kind: 'sqlite', file: resolve(dataDir, 'project-management.sqlite') };
  const database = await openDatabase(target, { logger });
  logger.info({ database: database.dialect, location: database.location }, 'database ready');
  const store = new ProjectStore(database.db);
  const changes = publishStoreChanges(store);
  const caller = { trustCallerMeta: env.MANIFOLD_TRUST_CALLER_META, localUser: env.MANIFOLD_USER };
  const deps = {
    store,
    logger,
    ...caller,
    defaultProject: env.PM_DEFAULT_PROJECT,
    samplingTimeoutMs: env.PM_SAMPLING_TIMEOUT_MS,
    changes,
    pendingInput: pendingInputCodec(loadRequestStateKey({ configured: env.MANIFOLD_REQUEST_STATE_KEY, dataDir }), caller),
  };

  await serve({
    createServer: (instance) => createProjectManagementServer(deps, instance),
    changes,
    flags,
    logger,
    bearerToken: env.MANIFOLD_HTTP_BEARER_TOKEN,
    onShutdown: () => database.close(),
  });
});
