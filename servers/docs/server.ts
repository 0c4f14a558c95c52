import { McpServer, type CacheHint } from '@modelcontextprotocol/server';
import { resolveCaller } from '../../shared/callerContext.js';
import { deliverResourceChanges } from '../../shared/serving/resourceChanges.js';
import { ServerSurface } from '../../shared/serving/serverSurface.js';
import { LEGACY_CONNECTION, type ServingInstance } from '../../shared/serving/servingInstance.js';
import { registerDocsPrompts } from './prompts.js';
import { registerDocsResources, subscribableDocuments } from './resources.js';
import { registerDocsTools } from './tools.js';

export const SERVER_INFO = { name: 'manifold-docs', version: '0.1.0' } as const;

const INSTRUCTIONS =
  'Searches and reads a tree of Markdown documentation. Documents are split into sections by heading; each section has a GitHub-style anchor. ' +
  'Start with search_docs (ranked full-text search over sections, with snippets), then read what you need with get_section (path + anchor) or get_document. ' +
  'list_documents pages through every document with its title. Paths are relative to the docs root, e.g. "guides/running.md". ' +
  'Each document is also a resource docs://{path}; docs://index lists them all. Subscribe to a document to hear when it changes.';

export type { DocsServerContext, DocsServerDeps } from './serverContext.js';
import type { DocsServerContext, DocsServerDeps } from './serverContext.js';

/** The server's surface does not change while it runs. */
const STATIC_SURFACE: CacheHint = { ttlMs: 600_000, cacheScope: 'public' };
/** Documents are the same for every reader; a change is announced to subscribers at once. */
const DOCUMENTS: CacheHint = { ttlMs: 60_000, cacheScope: 'public' };

/** Each process's surface, built on first use from its dependencies. */
const surfaces = new WeakMap<DocsServerDeps, ServerSurface>();

function surfaceOf(deps: DocsServerDeps): ServerSurface {
  let surface = surfaces.get(deps);
  if (!surface) {
    surface = new ServerSurface();
    const ctx: DocsServerContext = {
      ...deps,
      server: surface.registrar,
      callerOf: (meta) => resolveCaller(meta, { trustMeta: deps.trustCallerMeta, localUser: deps.localUser }),
    };
    registerDocsTools(ctx);
    registerDocsResources(ctx);
    registerDocsPrompts(ctx);
    surfaces.set(deps, surface);
  }
  return surface;
}

/**
 * Build one MCP server on the shared docs index: one per stdio connection, per 2025-era HTTP
 * session or per 2026-07-28 HTTP request (see ServingInstance). The tools, resources and
 * prompts are built once per `deps` and installed on each instance.
 */
export function createDocsServer(deps: DocsServerDeps, instance: ServingInstance = LEGACY_CONNECTION): McpServer {
  const server = new McpServer(SERVER_INFO, {
    capabilities: { logging: {} },
    instructions: INSTRUCTIONS,
    // MCP 2026-07-28 cacheable results (SEP-2549); 2025-era answers never carry these fields.
    cacheHints: {
      'server/discover': STATIC_SURFACE,
      'tools/list': STATIC_SURFACE,
      'prompts/list': STATIC_SURFACE,
      'resources/templates/list': STATIC_SURFACE,
      'resources/list': DOCUMENTS,
      'resources/read': DOCUMENTS,
    },
  });
  surfaceOf(deps).install(server);
  deliverResourceChanges(server, instance, deps.changes, subscribableDocuments(deps.docsIndex), deps.logger);
  return server;
}
