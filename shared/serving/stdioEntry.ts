import type { JSONRPCMessage, McpServer } from '@modelcontextprotocol/server';
import { serveStdio, StdioServerTransport } from '@modelcontextprotocol/server/stdio';
import { lineSender } from '../lineSender.js';
import type { Logger } from '../logger.js';
import type { ServingInstance } from './servingInstance.js';

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
  const transport = new StdioServerTransport();
  // Answers go out through one shared wait for stdout to drain (shared/lineSender.ts) rather than
  // a listener per message.
  const send = lineSender(process.stdout);
  transport.send = (message: JSONRPCMessage) => send(message);
  const handle = serveStdio((context) => createServer({ era: context.era, changes: context.era === 'modern' ? 'all' : 'subscribed' }), {
    transport,
    legacy: 'serve',
    onerror: (error) => logger.debug({ err: error }, 'stdio connection reported an error'),
  });
  logger.info('serving MCP over stdio (protocol revisions 2025-11-25 and 2026-07-28)');
  return handle;
}
