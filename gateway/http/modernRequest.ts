import type { IncomingHttpHeaders } from 'node:http';
import { classifyInboundRequest } from '@modelcontextprotocol/server';
import { RELAYED_EXTENSION_METHODS } from '../session/relayedExtensions.js';

/**
 * The 2026-07-28 request ladder (MCP basic/transports, SEP-2575 and SEP-2243), as the gateway
 * applies it to a POST before anything is routed: which era a message belongs to, then its
 * `_meta` envelope, protocol version, standard headers and method, each refusal with the spec's
 * HTTP status and JSON-RPC code.
 */
export const MODERN_REVISION = '2026-07-28';
export const SUPPORTED_MODERN_REVISIONS: readonly string[] = [MODERN_REVISION];

export const PROTOCOL_VERSION_KEY = 'io.modelcontextprotocol/protocolVersion';
export const CLIENT_CAPABILITIES_KEY = 'io.modelcontextprotocol/clientCapabilities';
export const CLIENT_INFO_KEY = 'io.modelcontextprotocol/clientInfo';
export const LOG_LEVEL_KEY = 'io.modelcontextprotocol/logLevel';
export const SERVER_INFO_KEY = 'io.modelcontextprotocol/serverInfo';
export const SUBSCRIPTION_ID_KEY = 'io.modelcontextprotocol/subscriptionId';

/** JSON-RPC codes of the 2026-07-28 revision. */
export const HEADER_MISMATCH = -32020;
export const MISSING_CLIENT_CAPABILITY = -32021;
export const UNSUPPORTED_PROTOCOL_VERSION = -32022;

/** The methods a 2026-07-28 client may call on the gateway; everything else is 404 -32601. */
export const MODERN_METHODS = new Set([
  'server/discover',
  'tools/list',
  'tools/call',
  'prompts/list',
  'prompts/get',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'completion/complete',
  'subscriptions/listen',
]);

/** Methods whose target travels in the `Mcp-Name` header, and the param it mirrors (SEP-2243; SEP-2663 for tasks/*). */
const NAME_PARAMS: Readonly<Record<string, string>> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
  'tasks/get': 'taskId',
  'tasks/update': 'taskId',
  'tasks/cancel': 'taskId',
};

const LOG_LEVELS = new Set(['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency']);

export interface ModernRequest {
  id: string | number;
  method: string;
  /** Params with the reserved envelope keys still in `_meta`. */
  params: Record<string, unknown>;
  clientCapabilities: Record<string, unknown>;
  clientInfo: { name: string; version: string } | undefined;
  /** The level of log messages this request asks for (absent: none). */
  logLevel: string | undefined;
}

export interface Refusal {
  status: number;
  code: number;
  message: string;
  data?: unknown;
  /** The request id when the body had one: errors answer it (SEP-2575). */
  id: string | number | null;
}

export type Classified =
  | { kind: 'legacy' }
  /** A 2026 notification: acknowledged with 202 and dropped (this revision defines none the gateway acts on). */
  | { kind: 'notification' }
  | { kind: 'request'; request: ModernRequest }
  | { kind: 'refused'; refusal: Refusal };

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first?.trim();
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isId(value: unknown): value is string | number {
  return typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value));
}

/**
 * A well-formed 2026 request as nearly every one arrives: decided with plain checks. Anything
 * else goes through the SDK's classifier, so that the era decision and envelope errors are the
 * SDK's own (they then never disagree with a server built on it).
 */
function fastPath(headers: IncomingHttpHeaders, body: unknown): ModernRequest | undefined {
  if (!isObject(body) || body.jsonrpc !== '2.0' || typeof body.method !== 'string' || !isId(body.id) || !isObject(body.params)) return undefined;
  const meta = body.params._meta;
  if (!isObject(meta) || meta[PROTOCOL_VERSION_KEY] !== MODERN_REVISION || header(headers, 'mcp-protocol-version') !== MODERN_REVISION) return undefined;
  const capabilities = meta[CLIENT_CAPABILITIES_KEY];
  const clientInfo = meta[CLIENT_INFO_KEY];
  const logLevel = meta[LOG_LEVEL_KEY];
  if (!isObject(capabilities)) return undefined;
  if (clientInfo !== undefined && !(isObject(clientInfo) && typeof clientInfo.name === 'string' && typeof clientInfo.version === 'string')) return undefined;
  if (logLevel !== undefined && !(typeof logLevel === 'string' && LOG_LEVELS.has(logLevel))) return undefined;
  for (const key in body) if (key !== 'jsonrpc' && key !== 'id' && key !== 'method' && key !== 'params') return undefined;
  return {
    id: body.id,
    method: body.method,
    params: body.params,
    clientCapabilities: capabilities,
    clientInfo: clientInfo as ModernRequest['clientInfo'],
    logLevel: logLevel as string | undefined,
  };
}

/**
 * 2025-era traffic as nearly all of it arrives: one message without the envelope claim
 * (`_meta["io.modelcontextprotocol/protocolVersion"]`), and no MCP-Protocol-Version header of a
 * later revision. Batches and anything unusual take the SDK's classifier.
 */
function isPlainLegacy(headers: IncomingHttpHeaders, body: unknown): boolean {
  if (!isObject(body)) return false;
  const version = header(headers, 'mcp-protocol-version');
  if (version !== undefined && !(/^\d{4}-\d{2}-\d{2}$/.test(version) && version < MODERN_REVISION)) return false;
  const params = body.params;
  if (params === undefined) return true;
  if (!isObject(params)) return false;
  const meta = params._meta;
  return meta === undefined || (isObject(meta) && !(PROTOCOL_VERSION_KEY in meta));
}

/** Classify a POST body and, for a 2026 request, check what the SDK's classifier leaves to the server. */
export function classifyPost(headers: IncomingHttpHeaders, body: unknown): Classified {
  if (isPlainLegacy(headers, body)) return { kind: 'legacy' };
  const request = fastPath(headers, body) ?? slowPath(headers, body);
  if (!('id' in request)) return request;
  return checkRequest(headers, request);
}

function slowPath(headers: IncomingHttpHeaders, body: unknown): ModernRequest | Classified {
  const outcome = classifyInboundRequest({
    httpMethod: 'POST',
    protocolVersionHeader: header(headers, 'mcp-protocol-version'),
    mcpMethodHeader: header(headers, 'mcp-method'),
    mcpNameHeader: header(headers, 'mcp-name'),
    body,
  });
  const id = isObject(body) && isId(body.id) ? body.id : null;
  if (outcome.kind === 'legacy') return { kind: 'legacy' };
  if (outcome.kind === 'reject') {
    return {
      kind: 'refused',
      refusal: { status: outcome.httpStatus, code: outcome.code, message: outcome.message, ...(outcome.data === undefined ? {} : { data: outcome.data }), id },
    };
  }
  if (outcome.messageKind === 'notification') return { kind: 'notification' };
  const requested = outcome.classification.revision ?? 'unknown';
  if (!SUPPORTED_MODERN_REVISIONS.includes(requested)) {
    return {
      kind: 'refused',
      refusal: {
        status: 400,
        code: UNSUPPORTED_PROTOCOL_VERSION,
        message: `Unsupported protocol version: ${requested}. This gateway speaks ${SUPPORTED_MODERN_REVISIONS.join(', ')} and, with the initialize handshake, 2025-11-25 and earlier.`,
        data: { supported: [...SUPPORTED_MODERN_REVISIONS], requested },
        id,
      },
    };
  }
  const message = outcome.message;
  const meta = (message.params?._meta ?? {}) as Record<string, unknown>;
  return {
    id: message.id,
    method: message.method,
    params: (message.params ?? {}) as Record<string, unknown>,
    clientCapabilities: (meta[CLIENT_CAPABILITIES_KEY] ?? {}) as Record<string, unknown>,
    clientInfo: meta[CLIENT_INFO_KEY] as ModernRequest['clientInfo'],
    logLevel: meta[LOG_LEVEL_KEY] as string | undefined,
  };
}

/** The standard headers must agree with the body (SEP-2243), and the method must exist in this revision. */
function checkRequest(headers: IncomingHttpHeaders, request: ModernRequest): Classified {
  const refuse = (status: number, code: number, message: string, data?: unknown): Classified => ({
    kind: 'refused',
    refusal: { status, code, message, ...(data === undefined ? {} : { data }), id: request.id },
  });
  const versionHeader = header(headers, 'mcp-protocol-version');
  if (versionHeader !== MODERN_REVISION) {
    return refuse(
      400,
      HEADER_MISMATCH,
      `The MCP-Protocol-Version header must be sent and equal the _meta protocol version (${MODERN_REVISION}); got ${versionHeader === undefined ? 'none' : `"${versionHeader}"`}.`,
      {
        mismatch: { header: versionHeader ?? null, body: MODERN_REVISION },
      },
    );
  }
  const methodHeader = header(headers, 'mcp-method');
  if (methodHeader !== request.method) {
    return refuse(
      400,
      HEADER_MISMATCH,
      `The Mcp-Method header must be sent and equal the request method "${request.method}"; got ${methodHeader === undefined ? 'none' : `"${methodHeader}"`}.`,
      {
        mismatch: { header: methodHeader ?? null, body: request.method },
      },
    );
  }
  // Extension methods pass the ladder; the endpoint decides whether it relays them (modernRoutes.ts).
  if (!MODERN_METHODS.has(request.method) && !RELAYED_EXTENSION_METHODS.has(request.method)) {
    return refuse(
      404,
      -32601,
      `Method not found: "${request.method}" is not a method of protocol revision ${MODERN_REVISION}${REMOVED_HINT[request.method] ?? ''}.`,
    );
  }
  const nameParam = NAME_PARAMS[request.method];
  if (nameParam !== undefined) {
    const value = request.params[nameParam];
    const nameHeader = header(headers, 'mcp-name');
    if (typeof value === 'string' && nameHeader !== value) {
      return refuse(
        400,
        HEADER_MISMATCH,
        `The Mcp-Name header must be sent and equal params.${nameParam} ("${value}"); got ${nameHeader === undefined ? 'none' : `"${nameHeader}"`}.`,
        {
          mismatch: { header: nameHeader ?? null, body: value },
        },
      );
    }
  }
  return { kind: 'request', request };
}

const REMOVED_HINT: Readonly<Record<string, string>> = {
  initialize: ' (no handshake: send server/discover, and the _meta envelope on every request)',
  ping: ' (removed: any request shows the server is alive)',
  'logging/setLevel': " (removed: put io.modelcontextprotocol/logLevel in a request's _meta)",
  'resources/subscribe': ' (removed: use subscriptions/listen with resourceSubscriptions)',
  'resources/unsubscribe': ' (removed: close the subscriptions/listen stream)',
};
