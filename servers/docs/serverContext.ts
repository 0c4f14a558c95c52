import type { ServerEventBus } from '@modelcontextprotocol/server';
import type { CallerContext } from '../../shared/callerContext.js';
import type { Logger } from '../../shared/logger.js';
import type { SurfaceRegistrar } from '../../shared/serving/serverSurface.js';
import type { DocsIndex } from './docsIndex.js';

export interface DocsServerDeps {
  /** The index shared by every session of the process. */
  docsIndex: DocsIndex;
  logger: Logger;
  /** Turns document paths into web links (DOCS_BASE_URL). */
  baseUrl?: URL | undefined;
  /** Trust caller identity in request _meta (set when launched by the gateway). */
  trustCallerMeta: boolean;
  /** The acting user when no trusted caller is given. */
  localUser: string;
  /** Where document changes are published (see `publishDocsChanges`). */
  changes: ServerEventBus;
}

/** What the tool and resource modules of this server receive (once per process). */
export interface DocsServerContext extends DocsServerDeps {
  /** Where the modules register their tools, resources and prompts (shared/serving/serverSurface.ts). */
  server: SurfaceRegistrar;
  callerOf(meta: Record<string, unknown> | undefined): CallerContext;
}
