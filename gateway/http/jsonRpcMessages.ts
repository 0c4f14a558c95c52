import type { ServerResponse } from 'node:http';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

export type ParsedMessages = { ok: true; messages: JSONRPCMessage[]; batch: boolean } | { ok: false; message: string };

/**
 * Check the JSON-RPC 2.0 envelope of a POST body (one message, or a batch for 2025-03-26
 * clients). Only the envelope: the SDK `Server` validates each method's params, so the
 * shape of params is not checked twice.
 */
export function parseMessages(body: unknown): ParsedMessages {
  const batch = Array.isArray(body);
  const list: unknown[] = batch ? (body as unknown[]) : [body];
  if (list.length === 0) return { ok: false, message: 'Empty JSON-RPC batch.' };
  for (const item of list) {
    const problem = envelopeProblem(item);
    if (problem) return { ok: false, message: `Invalid JSON-RPC message: ${problem}.` };
  }
  return { ok: true, messages: list as JSONRPCMessage[], batch };
}

function envelopeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object';
  const message = value as Record<string, unknown>;
  if (message.jsonrpc !== '2.0') return '"jsonrpc" must be "2.0"';
  const hasId = 'id' in message;
  if (hasId && typeof message.id !== 'string' && !(typeof message.id === 'number' && Number.isInteger(message.id))) {
    return '"id" must be a string or an integer';
  }
  if ('method' in message) {
    if (typeof message.method !== 'string' || message.method.length === 0) return '"method" must be a non-empty string';
    if (message.params !== undefined && (typeof message.params !== 'object' || message.params === null || Array.isArray(message.params))) {
      return '"params" must be an object';
    }
    return undefined;
  }
  if (!hasId) return 'neither a request, a notification nor a response';
  if ('result' in message) return typeof message.result === 'object' && message.result !== null ? undefined : '"result" must be an object';
  const error = message.error as { code?: unknown; message?: unknown } | undefined;
  if (typeof error === 'object' && error !== null && typeof error.code === 'number' && typeof error.message === 'string') return undefined;
  return 'a response needs "result" or "error" with a numeric code and a message';
}

/** The JSON-RPC error each refused response carried, for the refusal log (observability/refusalLog.ts). */
const sentErrors = new WeakMap<ServerResponse, { code: number; message: string; data?: unknown }>();

export function noteSentError(res: ServerResponse, error: { code: number; message: string; data?: unknown }): void {
  sentErrors.set(res, error);
}

export function sentErrorOf(res: ServerResponse): { code: number; message: string; data?: unknown } | undefined {
  return sentErrors.get(res);
}

/** Why a request was refused, as a stable label the sender names (the refusal log reads it; never the message text). */
const refusalReasons = new WeakMap<ServerResponse, string>();

export function noteRefusalReason(res: ServerResponse, reason: string): void {
  refusalReasons.set(res, reason);
}

export function refusalReasonOf(res: ServerResponse): string | undefined {
  return refusalReasons.get(res);
}

/** A JSON-RPC error as an HTTP response (transport-level failures carry no request id). */
export function sendRpcError(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
  id: string | number | null = null,
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id });
  if (status >= 400) sentErrors.set(res, { code, message });
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(body);
}

/**
 * The id an error answer to `body` echoes (JSON-RPC 2.0 §5): the request's, when the body is a
 * single request with a usable id; null otherwise (a batch, a notification, or no id to read).
 */
export function requestIdOf(body: unknown): string | number | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  const id = (body as { id?: unknown }).id;
  return typeof id === 'string' || (typeof id === 'number' && Number.isSafeInteger(id)) ? id : null;
}
