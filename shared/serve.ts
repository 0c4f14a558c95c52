import { InMemoryServerEventBus, type McpServer, type ServerEventBus } from '@modelcontextprotocol/server';
import type { ServeFlags } from './config.js';
import type { Logger } from './logger.js';
import { serveOverHttp } from './serving/httpEntry.js';
import type { ServingInstance } from './serving/servingInstance.js';
import { serveOverStdio } from './serving/stdioEntry.js';
import { logToolCallsTo } from './serving/toolCallLog.js';
import { startTracingFromEnv, stopTracing } from './tracing.js';

export type { ServingInstance } from './serving/servingInstance.js';

export interface ServeOptions {
  /**
   * Builds a server instance: one per stdio connection, one per 2025-era HTTP session, one per
   * 2026-07-28 HTTP request (so keep it cheap: no I/O, nothing per process).
   */
  createServer: (instance: ServingInstance) => McpServer;
  /** Where the server publishes resource and list changes (a fresh in-process bus by default). */
  changes?: ServerEventBus;
  flags: ServeFlags;
  logger: Logger;
  /** Required for HTTP on a non-loopback address; when set, every HTTP request must carry it. */
  bearerToken?: string | undefined;
  /** Origins allowed to call the HTTP endpoint in addition to loopback ones (DNS-rebinding defence). */
  allowedOrigins?: readonly string[];
  /** Largest JSON-RPC request body accepted over HTTP. */
  maxBodyBytes?: number;
  /** Released after the transports are closed (database handles, watchers). */
  onShutdown?: () => Promise<void> | void;
}

export interface RunningServer {
  /** Set for HTTP: the address actually bound (useful with --port 0). */
  url?: string;
  close(): Promise<void>;
}

/**
 * Run an MCP server over stdio (default) or Streamable HTTP, for clients of both protocol eras
 * (2025-11-25 and 2026-07-28), and stop it cleanly on SIGTERM/SIGINT or when the stdio peer
 * goes away.
 */
export async function serve(options: ServeOptions): Promise<RunningServer> {
  // Each tool call to stderr at debug: name, duration, outcome (serving/toolCallLog.ts).
  logToolCallsTo(options.logger);
  // MANIFOLD_TRACING=1 (set by a gateway that traces): spans named after the logger (`manifold-<server>`).
  if (await startTracingFromEnv(String(options.logger.bindings().name ?? 'server'))) options.logger.info('exporting OpenTelemetry traces');
  const running: RunningServer =
    options.flags.transport === 'http'
      ? await serveOverHttp({ ...options, changes: options.changes ?? new InMemoryServerEventBus() })
      : serveOverStdio(options.createServer, options.logger);
  let stopping = false;
  const stop = async (reason: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    options.logger.info({ reason }, 'shutting down');
    try {
      await running.close();
      await options.onShutdown?.();
      await stopTracing();
    } catch (error) {
      options.logger.error({ err: error }, 'error during shutdown');
    }
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  if (options.flags.transport === 'stdio') process.stdin.once('end', () => void stop('stdin closed'));
  return running;
}
