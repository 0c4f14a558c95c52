import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Middleware } from 'koa';
import { isLoopbackHost } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import type { Authenticator, CallerIdentity } from '../auth/authenticate.js';
import { noteRefusalReason, requestIdOf, sendJson, sendRpcError } from './jsonRpcMessages.js';
import { isJsonContentType } from './mediaTypes.js';

/** What the middlewares leave for the route handlers. */
export interface GatewayState {
  identity?: CallerIdentity;
  /** The parsed JSON body of a POST. */
  body?: unknown;
  /** The operator page's session token, when the request authenticated with its cookie (http/operatorCookies.ts). */
  operatorSession?: string;
}

export type GatewayMiddleware = Middleware<GatewayState>;

/** Paths served without authentication (probes). */
export const PUBLIC_PATHS = new Set(['/healthz', '/readyz']);

/** Anything thrown below becomes a JSON-RPC error without internals; it is logged in full. */
export function catchErrors(logger: Logger): GatewayMiddleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      logger.error({ err: error, method: ctx.method, path: ctx.path }, 'HTTP request failed');
      ctx.respond = false;
      sendRpcError(ctx.res, 500, -32603, 'Internal error in the gateway. It has been logged; retry, and report it if it persists.');
    }
  };
}

/**
 * What Koa and the router answer on their own (404 for a path nothing serves, 405 with `Allow`
 * for a method a path does not take, 501 for an HTTP method nobody knows) as a JSON-RPC error
 * like every other refusal, instead of a bare status text.
 */
export function statusOnlyAsRpcError(): GatewayMiddleware {
  return async (ctx, next) => {
    await next();
    if (ctx.respond === false || ctx.body != null || ctx.status < 400) return;
    const status = ctx.status;
    const allow = ctx.response.get('Allow');
    const message =
      status === 404
        ? `Not found: nothing is served at ${ctx.path}. The MCP endpoints are /mcp, /servers/{namespace}/mcp and /views/{name}/mcp.`
        : status === 405
          ? `Method not allowed: ${ctx.method} ${ctx.path}; use ${allow || 'another method'}.`
          : `${ctx.method} ${ctx.path} failed with HTTP ${status}: ${ctx.message}.`;
    ctx.body = { jsonrpc: '2.0', error: { code: -32000, message }, id: requestIdOf(ctx.state.body) };
    // Setting a body resets a status Koa chose itself (its default 404): keep the one decided.
    ctx.status = status;
  };
}

/**
 * DNS-rebinding defence (MCP spec, transports: security warning). A browser page on another
 * origin must not reach a local gateway: `Origin`, when sent, must be a loopback origin or a
 * configured one; and on a loopback listener `Host` must name this machine, since a rebound
 * hostname resolves to 127.0.0.1 but keeps its own name in `Host`.
 */
export function checkOrigin(options: { allowedOrigins: readonly string[]; allowedHosts: readonly string[]; loopbackListener: boolean }): GatewayMiddleware {
  const origins = new Set(options.allowedOrigins.map((origin) => origin.toLowerCase()));
  const hosts = new Set(options.allowedHosts.map((host) => host.toLowerCase()));
  return async (ctx, next) => {
    const origin = ctx.req.headers.origin;
    if (origin !== undefined && !isAllowedOrigin(origin, origins)) {
      ctx.respond = false;
      noteRefusalReason(ctx.res, 'origin_not_allowed');
      return sendRpcError(ctx.res, 403, -32000, `Origin "${origin}" is not allowed. Call from a loopback origin or add it to http.allowedOrigins.`);
    }
    if (options.loopbackListener) {
      const host = hostName(ctx.req.headers.host);
      if (host !== undefined && !isLoopbackHost(host) && !hosts.has(host)) {
        ctx.respond = false;
        noteRefusalReason(ctx.res, 'host_not_allowed');
        return sendRpcError(
          ctx.res,
          403,
          -32000,
          `Host "${host}" is not allowed on a loopback listener. Use localhost or 127.0.0.1, or add it to http.allowedHosts.`,
        );
      }
    }
    await next();
  };
}

function isAllowedOrigin(origin: string, allowed: ReadonlySet<string>): boolean {
  if (allowed.has(origin.toLowerCase())) return true;
  try {
    return isLoopbackHost(new URL(origin).hostname);
  } catch {
    return false;
  }
}

function hostName(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^(\[[^\]]+\]|[^:]+)(?::\d+)?$/.exec(header.trim());
  return match?.[1]?.toLowerCase();
}

/**
 * A well-known URL (RFC 8615) the public routes did not answer: metadata documents are public,
 * so what is not published there is a 404 (405 for a method other than GET) in the OAuth error
 * shape metadata clients read (RFC 6749 §5.2), never an authentication challenge.
 */
export const unpublishedMetadata: GatewayMiddleware = async (ctx, next) => {
  if (!ctx.path.startsWith('/.well-known/')) return next();
  ctx.respond = false;
  if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
    return sendJson(
      ctx.res,
      405,
      { error: 'invalid_request', error_description: `${ctx.path} is a metadata document: read it with GET.` },
      { Allow: 'GET, HEAD' },
    );
  }
  sendJson(ctx.res, 404, {
    error: 'not_found',
    error_description: `Nothing is published at ${ctx.path}. Protected resource metadata is at /.well-known/oauth-protected-resource/mcp, and under /servers/{namespace}/mcp and /views/{name}/mcp.`,
  });
};

/** Establish who is calling (the pluggable authenticator) and refuse anonymous requests. */
export function authenticate(authenticator: Authenticator): GatewayMiddleware {
  return async (ctx, next) => {
    if (PUBLIC_PATHS.has(ctx.path)) {
      // Probes answer anyone, with details only for a caller who authenticates.
      const outcome = await authenticator.authenticate(ctx.req, ctx.path);
      if (outcome.ok) ctx.state.identity = outcome.identity;
      return next();
    }
    const outcome = await authenticator.authenticate(ctx.req, ctx.path);
    if (!outcome.ok) {
      ctx.respond = false;
      return sendRpcError(ctx.res, outcome.status, -32001, outcome.message, outcome.headers);
    }
    ctx.state.identity = outcome.identity;
    await next();
  };
}

/** Read a POST body as JSON, refusing more than `maxBytes` (413) before buffering it all. */
export function limitedJsonBody(maxBytes: number): GatewayMiddleware {
  return async (ctx, next) => {
    if (ctx.method !== 'POST') return next();
    const declared = Number(ctx.req.headers['content-length']);
    if (declared > maxBytes) {
      ctx.respond = false;
      return refuseOversized(ctx.req, ctx.res, `Request body of ${declared} bytes exceeds the limit of ${maxBytes} bytes.`);
    }
    const text = await readBody(ctx.req, maxBytes);
    if (text === undefined) {
      ctx.respond = false;
      return refuseOversized(ctx.req, ctx.res, `Request body exceeds the limit of ${maxBytes} bytes.`);
    }
    try {
      ctx.state.body = JSON.parse(text);
    } catch {
      ctx.respond = false;
      // A body that was never meant as JSON is a media type problem, not a JSON syntax error.
      if (!isJsonContentType(ctx.req.headers['content-type']))
        return sendRpcError(ctx.res, 415, -32000, 'Unsupported Media Type: send a JSON-RPC message as Content-Type: application/json.');
      return sendRpcError(ctx.res, 400, -32700, 'Parse error: the request body is not valid JSON.');
    }
    await next();
  };
}

/** Up to this much of an oversized body is read and discarded so that the client, still sending, can read the 413. */
const DISCARD_BYTES = 64 * 1024 * 1024;
const DISCARD_MS = 10_000;

/**
 * Answer 413 once the rest of the body has been discarded: closing the connection while the
 * client is still sending would make it fail with EPIPE instead of reading the reason. A body
 * beyond DISCARD_BYTES, or one that takes longer than DISCARD_MS, gets the 413 at once and the
 * connection is closed.
 */
function refuseOversized(req: IncomingMessage, res: ServerResponse, message: string): Promise<void> {
  return new Promise((resolve) => {
    let discarded = 0;
    let settled = false;
    const finish = (close: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.removeListener('data', onData);
      sendRpcError(res, 413, -32600, message, close ? { Connection: 'close' } : {});
      resolve();
    };
    const onData = (chunk: Buffer): void => {
      discarded += chunk.length;
      if (discarded > DISCARD_BYTES) finish(true);
    };
    const timer = setTimeout(() => finish(true), DISCARD_MS);
    timer.unref();
    if (req.readableEnded) return finish(false);
    req.on('data', onData);
    req.once('end', () => finish(false));
    req.once('error', () => finish(true));
    req.resume();
  });
}

function readBody(req: IncomingMessage, maxBytes: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > maxBytes) {
        done = true;
        req.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => {
      if (done) return;
      done = true;
      resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'));
    });
    req.once('error', (error) => {
      if (!done) {
        done = true;
        reject(error);
      }
    });
  });
}
