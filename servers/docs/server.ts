import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { resolveCaller, type CallerContext } from '../../shared/callerContext.js';
import type { Logger } from '../../shared/logger.js';
import type { DocsIndex } from './docsIndex.js';
import { registerDocsPrompts } from './prompts.js';
import { registerDocsResources } from './resources.js';
import { registerDocsTools } from './tools.js';

export const SERVER_INFO = { name: 'manifold-docs', version: '0.1.0' } as const;

const INSTRUCTIONS =
  'Searches and reads a tree of Markdown documentation. Documents are split into sections by heading; each section has a GitHub-style anchor. ' +
  'Start with search_docs (ranked full-text search over sections, with snippets), then read what you need with get_section (path + anchor) or get_document. ' +
  'list_documents pages through every document with its title. Paths are relative to the docs root, e.g. "guides/running.md". ' +
  'Each document is also a resource docs://{path}; docs://index lists them all. Subscribe to a document to hear when it changes.';

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
}

/** What the tool and resource modules of this server receive. */
export interface DocsServerContext extends DocsServerDeps {
  server: McpServer;
  callerOf(meta: Record<string, unknown> | undefined): CallerContext;
}

/** Build one MCP server (one per session over HTTP) on the shared docs index. */
export function createDocsServer(deps: DocsServerDeps): McpServer {
  const server = new McpServer(SERVER_INFO, { capabilities: { logging: {} }, instructions: INSTRUCTIONS });
  const ctx: DocsServerContext = {
    ...deps,
    server,
    callerOf: (meta) => resolveCaller(meta, { trustMeta: deps.trustCallerMeta, localUser: deps.localUser }),
  };
  registerDocsTools(ctx);
  registerDocsResources(ctx);
  registerDocsPrompts(ctx);
  return server;
}
