import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, envSchemas, parseServeFlags, readEnvironment } from '../../shared/config.js';
import { packageRoot } from '../../shared/packageRoot.js';
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
  DOCS_MAX_FILE_BYTES: z.coerce.number().int('must be a whole number').min(1024, 'must be at least 1024').max(64 * 1024 * 1024, 'must be at most 67108864').default(1024 * 1024),
  /** Watch the tree and re-index changed files. */
  DOCS_WATCH: envSchemas.boolean.default(true),
  /** Quiet period before a batch of file changes is re-indexed. */
  DOCS_WATCH_DEBOUNCE_MS: z.coerce.number().int('must be a whole number').min(0, 'must be 0-10000').max(10_000, 'must be 0-10000').default(150),
  DOCS_HTTP_PORT: envSchemas.port.default(3103),
};

runMain('docs', async (logger) => {
  const env = readEnvironment(environment);
  const flags = parseServeFlags(process.argv.slice(2), { port: env.DOCS_HTTP_PORT });
  const rootPath = resolve(env.DOCS_ROOT ?? resolve(packageRoot(), 'docs'));
  const root = await DocsRoot.open(rootPath).catch((error: unknown) => {
    throw new ConfigError([`DOCS_ROOT: ${(error as Error).message} Set DOCS_ROOT to a folder of Markdown files.`]);
  });
  logger.info({ root: root.realPath, maxFiles: env.DOCS_MAX_FILES, maxFileBytes: env.DOCS_MAX_FILE_BYTES }, 'docs root');
  const docsIndex = new DocsIndex({ root, logger, maxFiles: env.DOCS_MAX_FILES, maxFileBytes: env.DOCS_MAX_FILE_BYTES });

  // Watch before the first scan, so nothing changed during indexing is missed
  // (refreshes queue behind the initial load).
  let watcher: DocsWatcher | undefined;
  if (env.DOCS_WATCH) watcher = await watchDocs({ docsIndex, logger, debounceMs: env.DOCS_WATCH_DEBOUNCE_MS });
  await docsIndex.load();

  const baseUrl = env.DOCS_BASE_URL === undefined ? undefined : new URL(env.DOCS_BASE_URL);
  const changes = publishDocsChanges(docsIndex);
  const deps = { docsIndex, logger, baseUrl, trustCallerMeta: env.MANIFOLD_TRUST_CALLER_META, localUser: env.MANIFOLD_USER, changes };
  await serve({
    createServer: (instance) => createDocsServer(deps, instance),
    changes,
    flags,
    logger,
    bearerToken: env.MANIFOLD_HTTP_BEARER_TOKEN,
    onShutdown: () => watcher?.close(),
  });
});
