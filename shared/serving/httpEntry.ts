import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { classifyInboundRequest, createMcpHandler, type McpServer, type ServerEventBus } from '@modelcontextprotocol/server';
import { ConfigError, isLoopbackHost, type ServeFlags } from '../config.js';
import { connectWithoutSchemaPass } from '../jsonRpcDispatch.js';
import type { Logger } from '../logger.js';
import { LegacyHttpSessions, type LegacyRefusal } from './legacyHttpSessions.js';
import type { ServingInstance } from './servingInstance.js';

export interface HttpServingOptions {
  createServer: (instance: ServingInstance) => McpServer;
  /** Where the server publishes resource and list changes; 2026-07-28 listen streams read it. */
  changes: ServerEventBus;
  flags: ServeFlags;
  logger: Logger;
  /** Required on a non-loopback address; when set, every HTTP request must carry it. */
  bearerToken?: string | undefined;
  /** Origins allowed in addition to loopback ones (DNS-rebinding defence). */
  allowedOrigins?: readonly string[];
  /** Largest JSON-RPC request body accepted. */
  maxBodyBytes?: number;
}

export interface HttpServing {
  url: string;
  close(): Promise<void>;
}

const MCP_PATH = '/mcp';
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
const MODERN_REQUEST: ServingInstance = { era: 'modern', changes: 'none' };

/**
 * Streamable HTTP at /mcp for both protocol eras on one endpoint. A request that carries the
 * 2026-07-28 `_meta` envelope is served statelessly by the SDK's per-request handler (a fresh
 * server instance per request; `subscriptions/listen` streams fed from the change bus); anything
 * else is 2025-era session traffic (`initialize`, `Mcp-Session-Id`, the GET stream). The SDK's
 * own classifier decides, so the routing never disagrees with the handler.
 */
export async function serveOverHttp(options: HttpServingOptions): Promise<HttpServing> {
  const { flags, logger } = options;
  if (!isLoopbackHost(flags.host) && !options.bearerToken) {
    throw new ConfigError([
      `--host ${flags.host}: refusing to serve without authentication on a non-loopback address. ` +
        'Set MANIFOLD_HTTP_BEARER_TOKEN (clients then send "Authorization: Bearer <token>"), ' +
        'or put the server behind the Manifold gateway, or bind to 127.0.0.1.',
    ]);
  }
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const allowedOrigins = new Set(options.allowedOrigins ?? []);
  const allowedHosts = hostGuard(flags.host, options.allowedOrigins ?? []);
  const legacy = new LegacyHttpSessions(options.createServer);
  const onerror = (error: Error): void => logger.debug({ err: error }, 'MCP request refused or failed');
  const modernHandler = createMcpHandler(() => connectWithoutSchemaPass(options.createServer(MODERN_REQUEST)), {
    legacy: 'reject',
    bus: options.changes,
    maxRequestBodySize: maxBodyBytes,
    onerror,
  });
  const modern = toNodeHandler(modernHandler, { onerror, maxRequestBodySize: maxBodyBytes });

  const refuse = (res: ServerResponse, refusal: LegacyRefusal | undefined): void => {
    if (refusal) sendRpcError(res, refusal.status, refusal.message);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path === '/healthz' && req.method === 'GET') return sendJson(res, 200, { status: 'ok', sessions: legacy.size });
    if (path !== MCP_PATH) return sendJson(res, 404, { error: `Not found. The MCP endpoint is ${MCP_PATH}.` });

    const host = req.headers.host;
    if (allowedHosts && host !== undefined && !allowedHosts(host)) {
      return sendRpcError(
        res,
        403,
        `Host "${host}" is not allowed on a loopback listener (DNS-rebinding defence). Address the server as localhost, 127.0.0.1 or [::1] ` +
          "(a reverse proxy forwards with one of those as Host), add the name's origin to the allowed origins, " +
          'or serve on a non-loopback --host with MANIFOLD_HTTP_BEARER_TOKEN.',
      );
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !isAllowedOrigin(origin, allowedOrigins)) {
      return sendRpcError(res, 403, `Origin ${origin} is not allowed. Call from a loopback origin or configure the allowed origins.`);
    }
    if (options.bearerToken && !hasBearer(req, options.bearerToken)) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      return sendRpcError(res, 401, 'Missing or wrong bearer token. Send "Authorization: Bearer <MANIFOLD_HTTP_BEARER_TOKEN>".');
    }
    const sessionId = headerValue(req, 'mcp-session-id');

    if (req.method === 'POST') {
      const body = await readJsonBody(req, maxBodyBytes);
      if (!body.ok) return sendRpcError(res, body.status, body.message);
      const route = classifyInboundRequest({
        httpMethod: 'POST',
        protocolVersionHeader: headerValue(req, 'mcp-protocol-version'),
        mcpMethodHeader: headerValue(req, 'mcp-method'),
        mcpNameHeader: headerValue(req, 'mcp-name'),
        body: body.value,
      });
      if (route.kind === 'legacy') return refuse(res, await legacy.post(req, res, body.value, sessionId));
      // Modern requests, and the envelope or header errors the SDK answers with the spec's status codes.
      return modern(req, res, body.value);
    }
    if ((req.method === 'GET' || req.method === 'DELETE') && sessionId) return refuse(res, await legacy.sessionRequest(req, res, sessionId));
    if (req.method === 'GET' || req.method === 'DELETE') {
      return sendRpcError(
        res,
        400,
        'Missing Mcp-Session-Id: GET and DELETE name a 2025-era session. On protocol revision 2026-07-28, POST subscriptions/listen instead.',
      );
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
  logger.info(
    { url, auth: options.bearerToken ? 'bearer' : 'none (loopback only)' },
    'serving MCP over Streamable HTTP (protocol revisions 2025-11-25 and 2026-07-28)',
  );

  return {
    url,
    close: async () => {
      await modernHandler.close().catch(() => undefined);
      await legacy.closeAll();
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function isAllowedOrigin(origin: string, allowed: ReadonlySet<string>): boolean {
  if (allowed.has(origin)) return true;
  const name = originHostname(origin);
  return name !== undefined && isLoopbackHost(name);
}

/**
 * DNS-rebinding defence on the Host header. A page on a rebound name (evil.example resolving to
 * 127.0.0.1) reaches a loopback listener with its own name in Host, and the browser may send no
 * Origin at all (same-origin GETs), so Origin alone is not enough. The hostname is compared, not
 * the port: an SSH tunnel or port forward changes only the port. A request without Host
 * (HTTP/1.0; node:http already refuses HTTP/1.1 without one) cannot come from a browser, so it
 * passes.
 *
 * Returns undefined (no Host check) on a non-loopback address: there a bearer token is mandatory,
 * which a browser never attaches by itself, so the token is what defeats rebinding, and remote
 * clients legitimately use names and addresses this process cannot know (DNS names, load
 * balancers, container service names).
 */
function hostGuard(boundHost: string, allowedOrigins: readonly string[]): ((host: string) => boolean) | undefined {
  if (!isLoopbackHost(boundHost)) return undefined;
  // A configured origin names this server as it is legitimately reached (e.g. through a local reverse proxy).
  const names = new Set(allowedOrigins.map(originHostname).filter((name) => name !== undefined));
  return (host) => {
    const name = /^(\[[^\]]+\]|[^:[\]]+)(?::\d{1,5})?$/.exec(host.trim())?.[1]?.toLowerCase();
    return name !== undefined && (isLoopbackHost(name) || names.has(name));
  };
}

function originHostname(origin: string): string | undefined {
  try {
    return new URL(origin).hostname.toLowerCase();
  } catch {
    return undefined;
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
