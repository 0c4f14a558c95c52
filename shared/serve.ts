import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { lineSender } from './lineSender.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { ConfigError, isLoopbackHost, type ServeFlags } from './config.js';
import type { Logger } from './logger.js';
import { startTracingFromEnv, stopTracing } from './tracing.js';
import { dispatchWithoutSchemaPass } from './jsonRpcDispatch.js';

export interface ServeOptions {
  /** Builds one MCP server per session (HTTP) or one for the process (stdio). */
  createServer: () => McpServer;
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

const MCP_PATH = '/mcp';
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/**
 * Run an MCP server over stdio (default) or Streamable HTTP, and stop it cleanly on
 * SIGTERM/SIGINT or when the stdio peer goes away.
 */
export async function serve(options: ServeOptions): Promise<RunningServer> {
  // MANIFOLD_TRACING=1 (set by a gateway that traces): spans named after the logger (`manifold-<server>`).
  if (await startTracingFromEnv(String(options.logger.bindings().name ?? 'server'))) options.logger.info('exporting OpenTelemetry traces');
  const running = options.flags.transport === 'http' ? await serveHttp(options) : await serveStdio(options);
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

async function serveStdio(options: ServeOptions): Promise<RunningServer> {
  const server = options.createServer();
  const transport = new StdioServerTransport();
  // Answers go out through one shared wait for stdout to drain (shared/lineSender.ts).
  transport.send = lineSender(process.stdout);
  await server.connect(transport);
  dispatchWithoutSchemaPass(server.server, transport);
  options.logger.info('serving MCP over stdio');
  return { close: () => server.close() };
}

interface HttpSession {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
}

async function serveHttp(options: ServeOptions): Promise<RunningServer> {
  const { flags, logger } = options;
  if (!isLoopbackHost(flags.host) && !options.bearerToken) {
    throw new ConfigError([
      `--host ${flags.host}: refusing to serve without authentication on a non-loopback address. ` +
        'Set MANIFOLD_HTTP_BEARER_TOKEN (clients then send "Authorization: Bearer <token>"), ' +
        'or put the server behind the Manifold gateway, or bind to 127.0.0.1.',
    ]);
  }
  const sessions = new Map<string, HttpSession>();
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const allowedOrigins = new Set(options.allowedOrigins ?? []);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/healthz' && req.method === 'GET') {
      return sendJson(res, 200, { status: 'ok', sessions: sessions.size });
    }
    if (url.pathname !== MCP_PATH) return sendJson(res, 404, { error: `Not found. The MCP endpoint is ${MCP_PATH}.` });

    const origin = req.headers.origin;
    if (origin !== undefined && !isAllowedOrigin(origin, allowedOrigins)) {
      return sendRpcError(res, 403, `Origin ${origin} is not allowed. Call from a loopback origin or configure the allowed origins.`);
    }
    if (options.bearerToken && !hasBearer(req, options.bearerToken)) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      return sendRpcError(res, 401, 'Missing or wrong bearer token. Send "Authorization: Bearer <MANIFOLD_HTTP_BEARER_TOKEN>".');
    }

    const sessionHeader = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(sessionHeader) ? sessionHeader[0] : sessionHeader;

    if (req.method === 'POST') {
      const body = await readJsonBody(req, maxBodyBytes);
      if (!body.ok) return sendRpcError(res, body.status, body.message);
      if (sessionId) {
        const session = sessions.get(sessionId);
        if (!session) return sendRpcError(res, 404, `Session ${sessionId} not found or expired. Initialize a new session.`);
        return session.transport.handleRequest(req, res, body.value);
      }
      if (!isInitializeRequest(body.value)) {
        return sendRpcError(res, 400, 'No Mcp-Session-Id header: the first request of a session must be "initialize".');
      }
      const server = options.createServer();
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          sessions.set(id, { transport, server });
        },
        onsessionclosed: (id) => {
          sessions.delete(id);
        },
      });
      transport.onclose = () => {
        if (transport.sessionId) sessions.delete(transport.sessionId);
      };
      await server.connect(transport);
      dispatchWithoutSchemaPass(server.server, transport);
      return transport.handleRequest(req, res, body.value);
    }

    if (req.method === 'GET' || req.method === 'DELETE') {
      const session = sessionId ? sessions.get(sessionId) : undefined;
      if (!session) return sendRpcError(res, sessionId ? 404 : 400, 'Unknown or missing Mcp-Session-Id. Initialize a session first.');
      return session.transport.handleRequest(req, res);
    }
    res.setHeader('Allow', 'GET, POST, DELETE');
    return sendRpcError(res, 405, `Method ${req.method ?? ''} not allowed on ${MCP_PATH}.`);
  };

  const httpServer: HttpServer = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.error({ err: error }, 'HTTP request failed');
      if (!res.headersSent) sendRpcError(res, 500, 'Internal server error.');
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(flags.port, flags.host, () => resolve());
  });
  const address = httpServer.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}${MCP_PATH}`;
  logger.info({ url, auth: options.bearerToken ? 'bearer' : 'none (loopback only)' }, 'serving MCP over Streamable HTTP');

  return {
    url,
    close: async () => {
      for (const session of sessions.values()) {
        await session.transport.close().catch(() => undefined);
        await session.server.close().catch(() => undefined);
      }
      sessions.clear();
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}

function isAllowedOrigin(origin: string, allowed: ReadonlySet<string>): boolean {
  if (allowed.has(origin)) return true;
  try {
    return isLoopbackHost(new URL(origin).hostname);
  } catch {
    return false;
  }
}

function hasBearer(req: IncomingMessage, expected: string): boolean {
  const header = req.headers.authorization ?? '';
  const match = /^Bearer\s+(.+)$/i.exec(header);
  if (!match?.[1]) return false;
  const given = Buffer.from(match[1]);
  const wanted = Buffer.from(expected);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

type BodyResult = { ok: true; value: unknown } | { ok: false; status: number; message: string };

async function readJsonBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return { ok: false, status: 413, message: `Request body exceeds ${limit} bytes. Send smaller requests.` };
    chunks.push(chunk);
  }
  try {
    return { ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) };
  } catch {
    return { ok: false, status: 400, message: 'Request body is not valid JSON. Send a JSON-RPC 2.0 message.' };
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

function sendRpcError(res: ServerResponse, status: number, message: string): void {
  const code = status === 400 || status === 413 ? -32600 : status === 404 ? -32001 : -32000;
  sendJson(res, status, { jsonrpc: '2.0', error: { code, message }, id: null });
}
