import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Logger } from '../../shared/logger.js';
import { isHiddenName, isMarkdownFile } from './docsRoot.js';
import type { DocsIndex } from './docsIndex.js';

/**
 * Keeps a DocsIndex in step with the disk: file events are collected for a short
 * quiet period (editors write a file in several steps) and then only the touched
 * paths are re-indexed.
 */

export interface DocsWatcherOptions {
  docsIndex: DocsIndex;
  logger: Logger;
  /** Quiet period before a batch of changes is applied. Default 150 ms. */
  debounceMs?: number;
}

export interface DocsWatcher {
  /** Resolves when pending changes have been applied (tests and shutdown use it). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Start watching the index's root; resolves once the initial scan of the watcher is done. */
export async function watchDocs(options: DocsWatcherOptions): Promise<DocsWatcher> {
  const { docsIndex, logger } = options;
  const debounceMs = options.debounceMs ?? 150;
  const rootPath = docsIndex.root.realPath;
  const pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let applying: Promise<void> = Promise.resolve();

  const apply = (): Promise<void> => {
    timer = undefined;
    if (pending.size === 0) return applying;
    const batch = [...pending];
    pending.clear();
    applying = applying
      .then(() => docsIndex.refresh(batch))
      .then(
        () => undefined,
        (error: unknown) => logger.error({ err: error, paths: batch.slice(0, 20) }, 'failed to re-index changed docs'),
      );
    return applying;
  };

  const note = (absolutePath: string): void => {
    const relative = docsIndex.root.relativeOf(absolutePath);
    if (relative === '' || relative.startsWith('..')) return;
    pending.add(relative);
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void apply(), debounceMs);
  };

  const watcher: FSWatcher = watch(rootPath, {
    ignoreInitial: true,
    followSymlinks: false,
    // Skip hidden folders and node_modules entirely, and every non-Markdown file.
    ignored: (candidate, stats) => {
      const relative = path.relative(rootPath, candidate);
      if (relative === '') return false;
      if (relative.split(path.sep).some(isHiddenName)) return true;
      return stats?.isFile() === true && !isMarkdownFile(candidate);
    },
  });
  for (const event of ['add', 'change', 'unlink', 'addDir', 'unlinkDir'] as const) {
    watcher.on(event, (changed: string) => note(changed));
  }
  watcher.on('error', (error: unknown) => logger.warn({ err: error }, 'docs watcher error'));

  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  logger.info({ debounceMs }, 'watching docs for changes');

  return {
    flush: () => {
      if (timer) clearTimeout(timer);
      return apply();
    },
    close: async () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      pending.clear();
      await watcher.close();
      await applying;
    },
  };
}
