import type { McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { connectWithoutSchemaPass } from '../jsonRpcDispatch.js';
import type { Logger } from '../logger.js';
import type { ServingInstance } from './servingInstance.js';
import { StdioLineTransport } from './stdioLineTransport.js';

export interface StdioServing {
  close(): Promise<void>;
}

/**
 * Serve one stdio connection in whichever era its client opens with: an `initialize` pins a
 * 2025-era instance (the handshake, sessions of one, server→client requests); a request carrying
 * the 2026-07-28 `_meta` envelope (`server/discover` first, usually) pins a modern one. The SDK's
 * `serveStdio` owns that decision, `subscriptions/listen` and the envelope checks.
 */
export function serveOverStdio(createServer: (instance: ServingInstance) => McpServer, logger: Logger): StdioServing {
  const transport = new StdioLineTransport();
  const handle = serveStdio(
    (context) => connectWithoutSchemaPass(createServer({ era: context.era, changes: context.era === 'modern' ? 'all' : 'subscribed' })),
    {
      transport,
      legacy: 'serve',
      onerror: (error) => logger.debug({ err: error }, 'stdio connection reported an error'),
    },
  );
  logger.info('serving MCP over stdio (protocol revisions 2025-11-25 and 2026-07-28)');
  return handle;
}
