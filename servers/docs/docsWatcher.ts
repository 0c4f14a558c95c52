import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Logger } from '../../shared/logger.js';
import { isHiddenName, isMarkdownFile } from './docsRoot.js';
import type { DocsIndex } from './docsIndex.js';

/**
 * Keeps a DocsIndex in step with the disk: file events are collected for a short
 * quiet period (editors write a file in several steps) and then only the touched
 * paths are re-indexed.
 *
 * File events come from the kernel (inotify) unless polling is asked for. When the system has
 * no watches left to give (EMFILE: fs.inotify.max_user_instances; ENOSPC:
 * fs.inotify.max_user_watches), the watcher says so once and polls the tree instead, then
 * catches up on whatever changed in between: changes are never silently missed.
 */

export interface DocsWatcherOptions {
  docsIndex: DocsIndex;
  logger: Logger;
  /** Quiet period before a batch of changes is applied. Default 150 ms. */
  debounceMs?: number;
  /** Poll the tree instead of listening to file events (network filesystems). Default false. */
  poll?: boolean;
  /** How often a polled file is checked. Default 1000 ms. */
  pollIntervalMs?: number;
}

export interface DocsWatcher {
  /** `events` (the kernel tells), or `polling` (asked for, or fallen back to when watches ran out). */
  readonly mode: 'events' | 'polling';
  /** Resolves when pending changes have been applied (tests and shutdown use it). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** The errors that mean the kernel has no file watches left for this user. */
export function isWatchLimitError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === 'EMFILE' || code === 'ENOSPC';
}

/** Start watching the index's root; resolves once the initial scan of the watcher is done. */
export async function watchDocs(options: DocsWatcherOptions): Promise<DocsWatcher> {
  const { docsIndex, logger } = options;
  const debounceMs = options.debounceMs ?? 150;
  const pollIntervalMs = options.pollIntervalMs ?? 1000;
  const rootPath = docsIndex.root.realPath;
  const pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let applying: Promise<void> = Promise.resolve();
  let polling = options.poll === true;
  let current: FSWatcher | undefined;
  let fallingBack: Promise<void> | undefined;
  let started = false;
  let abandonStart: (() => void) | undefined;
  let closed = false;

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

  const start = (): Promise<void> => {
    const watcher: FSWatcher = watch(rootPath, {
      ignoreInitial: true,
      followSymlinks: false,
      usePolling: polling,
      interval: pollIntervalMs,
      binaryInterval: pollIntervalMs,
      // Skip hidden folders and node_modules entirely, and every non-Markdown file.
      ignored: (candidate, stats) => {
        const relative = path.relative(rootPath, candidate);
        if (relative === '') return false;
        if (relative.split(path.sep).some(isHiddenName)) return true;
        return stats?.isFile() === true && !isMarkdownFile(candidate);
      },
    });
    current = watcher;
    for (const event of ['add', 'change', 'unlink', 'addDir', 'unlinkDir'] as const) {
      watcher.on(event, (changed: string) => note(changed));
    }
    watcher.on('error', (error: unknown) => {
      if (watcher !== current) return;
      if (!polling && isWatchLimitError(error)) fallingBack ??= fallBackToPolling(error);
      else logger.warn({ err: error }, 'docs watcher error');
    });
    // A watcher closed before its first scan ends never gets ready: closing it ends the wait too.
    return new Promise<void>((resolve) => {
      abandonStart = resolve;
      watcher.once('ready', () => resolve());
    });
  };

  const fallBackToPolling = async (error: unknown): Promise<void> => {
    polling = true;
    logger.warn(
      { code: (error as { code?: unknown }).code, pollIntervalMs },
      'the system has no file watches left (raise fs.inotify.max_user_instances and max_user_watches): polling the docs tree instead',
    );
    const exhausted = current;
    current = undefined;
    abandonStart?.();
    await exhausted?.close();
    if (closed) return;
    await start();
    // Once watching, catch up on what changed while nothing was (the initial build does that itself).
    if (started) await docsIndex.load().catch((failure: unknown) => logger.error({ err: failure }, 're-indexing after the watcher change failed'));
  };

  await start();
  // Watches that ran out during the first scan: ready once polling is.
  await fallingBack;
  started = true;
  logger.info({ debounceMs, mode: polling ? 'polling' : 'events', ...(polling ? { pollIntervalMs } : {}) }, 'watching docs for changes');

  return {
    get mode() {
      return polling ? 'polling' : 'events';
    },
    flush: () => {
      if (timer) clearTimeout(timer);
      return apply();
    },
    close: async () => {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      pending.clear();
      await fallingBack;
      await current?.close();
      await applying;
    },
  };
}
