import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, envSchemas, parseServeFlags, readEnvironment } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import { packageRoot } from '../../shared/packageRoot.js';
import { privateDataDir } from '../../shared/privateData.js';
import { commonServerEnv, runMain } from '../../shared/runtimeEnv.js';
import { serve } from '../../shared/serve.js';
import { DocsIndex } from './docsIndex.js';
import { DocsRoot } from './docsRoot.js';
import { watchDocs, type DocsWatcher } from './docsWatcher.js';
import { publishDocsChanges } from './resources.js';
import { createDocsServer } from './server.js';

const environment = {
  ...commonServerEnv,
  /** Folder of Markdown documents; default: this checkout's docs/ (resolved from the package, not the cwd). */
  DOCS_ROOT: z.string().optional(),
  /** Base for web links, e.g. https://github.com/acme/manifold/blob/main/docs/ */
  DOCS_BASE_URL: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL such as https://github.com/acme/manifold/blob/main/docs/' }).optional(),
  /** Stop indexing after this many documents. */
  DOCS_MAX_FILES: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').max(1_000_000, 'must be at most 1000000').default(20_000),
  /** Skip documents larger than this. */
  DOCS_MAX_FILE_BYTES: z.coerce
    .number()
    .int('must be a whole number')
    .min(1024, 'must be at least 1024')
    .max(64 * 1024 * 1024, 'must be at most 67108864')
    .default(1024 * 1024),
  /** Watch the tree and re-index changed files. */
  DOCS_WATCH: envSchemas.boolean.default(true),
  /** Quiet period before a batch of file changes is re-indexed. */
  DOCS_WATCH_DEBOUNCE_MS: z.coerce.number().int('must be a whole number').min(0, 'must be 0-10000').max(10_000, 'must be 0-10000').default(150),
  /** Poll the tree instead of listening to file events (network filesystems); the watcher also falls back to polling when the system's file watches run out. */
  DOCS_WATCH_POLL: envSchemas.boolean.default(false),
  /** How often a polled file is checked. */
  DOCS_WATCH_POLL_INTERVAL_MS: z.coerce.number().int('must be a whole number').min(50, 'must be 50-60000').max(60_000, 'must be 50-60000').default(1000),
  DOCS_HTTP_PORT: envSchemas.port.default(3103),
  /** Where the persistent index lives (a SQLite file per docs root, under docs-index/). */
  MANIFOLD_DATA_DIR: z.string().optional(),
};

/**
 * The index file for a docs root: one per root (named by a hash of its real path), under the
 * data directory's docs-index/ folder, private to the service user. When the folder cannot be
 * written the index is kept in memory and rebuilt at every start (a warning says so).
 */
function indexFileFor(dataDir: string, rootRealPath: string, logger: Logger): string {
  const name = createHash('sha256').update(rootRealPath).digest('hex').slice(0, 16);
  try {
    return resolve(privateDataDir(resolve(privateDataDir(dataDir), 'docs-index')), `${name}.sqlite`);
  } catch (error) {
    logger.warn(
      { err: error, dataDir },
      'cannot write the data directory: the docs index is kept in memory and rebuilt at every start. Set MANIFOLD_DATA_DIR to a writable folder.',
    );
    return ':memory:';
  }
}

runMain('docs', async (logger) => {
  const env = readEnvironment(environment);
  const flags = parseServeFlags(process.argv.slice(2), { port: env.DOCS_HTTP_PORT });
  const rootPath = resolve(env.DOCS_ROOT ?? resolve(packageRoot(), 'docs'));
  const root = await DocsRoot.open(rootPath).catch((error: unknown) => {
    throw new ConfigError([`DOCS_ROOT: ${(error as Error).message} Set DOCS_ROOT to a folder of Markdown files.`]);
  });
  const dataDir = resolve(env.MANIFOLD_DATA_DIR ?? resolve(packageRoot(), 'data'));
  const indexFile = indexFileFor(dataDir, root.realPath, logger);
  const docsIndex = openIndex({ root, logger, maxFiles: env.DOCS_MAX_FILES, maxFileBytes: env.DOCS_MAX_FILE_BYTES, indexFile });
  logger.info({ root: root.realPath, index: docsIndex.location, maxFiles: env.DOCS_MAX_FILES, maxFileBytes: env.DOCS_MAX_FILE_BYTES }, 'docs root');

  // The (re)build runs in the background: the server answers at once, on what is indexed so
  // far, and says how far indexing is. Refreshes from the watcher queue behind it.
  // The watcher's own first scan of a large tree takes a while too: it is not waited for.
  const watcher: Promise<DocsWatcher | undefined> = env.DOCS_WATCH
    ? watchDocs({
        docsIndex,
        logger,
        debounceMs: env.DOCS_WATCH_DEBOUNCE_MS,
        poll: env.DOCS_WATCH_POLL,
        pollIntervalMs: env.DOCS_WATCH_POLL_INTERVAL_MS,
      }).catch((error: unknown) => {
        logger.warn({ err: error }, 'cannot watch the docs tree; changes show up after a restart');
        return undefined;
      })
    : Promise.resolve(undefined);
  void docsIndex
    .load({ alsoAwait: watcher })
    .catch((error: unknown) => logger.error({ err: error }, 'indexing the docs tree failed; searches cover only what was indexed'));

  const baseUrl = env.DOCS_BASE_URL === undefined ? undefined : new URL(env.DOCS_BASE_URL);
  const changes = publishDocsChanges(docsIndex);
  const deps = { docsIndex, logger, baseUrl, trustCallerMeta: env.MANIFOLD_TRUST_CALLER_META, localUser: env.MANIFOLD_USER, changes };
  await serve({
    createServer: (instance) => createDocsServer(deps, instance),
    changes,
    flags,
    logger,
    bearerToken: env.MANIFOLD_HTTP_BEARER_TOKEN,
    onShutdown: async () => {
      await (await watcher)?.close();
      docsIndex.close();
    },
  });
});

/** The index on its file; a file that cannot be opened (locked, unreadable) falls back to memory. */
function openIndex(options: ConstructorParameters<typeof DocsIndex>[0] & { indexFile: string }): DocsIndex {
  try {
    return new DocsIndex(options);
  } catch (error) {
    options.logger.warn({ err: error, index: options.indexFile }, 'cannot open the docs index file: the index is kept in memory and rebuilt at every start');
    return new DocsIndex({ ...options, indexFile: ':memory:' });
  }
}
