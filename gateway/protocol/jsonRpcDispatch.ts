import type { Protocol } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { RELATED_TASK_META_KEY, type JSONRPCMessage, type MessageExtraInfo } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

/**
 * The SDK's `Protocol` tells requests, notifications and responses apart by running each
 * incoming message through up to four zod schemas, and keeps only the yes/no answer. The
 * first two tried for a request (result response, error response) fail, and a failing zod
 * parse builds its error objects: on a gateway that was about a fifth of its CPU per call.
 *
 * `dispatchWithoutSchemaPass` answers the same question with plain checks and hands the
 * message to the same `Protocol` entry points. It decides only for messages whose envelope
 * every schema would judge the same way (exact key sets, integer or string ids, object
 * params and results, a well-typed progress token); anything else, and any message if the
 * SDK's entry points are not where they are expected, takes the SDK's own path.
 */
type MessageKind = 'request' | 'notification' | 'response';

const REQUEST_KEYS = new Set(['jsonrpc', 'id', 'method', 'params']);
const NOTIFICATION_KEYS = new Set(['jsonrpc', 'method', 'params']);
const RESULT_KEYS = new Set(['jsonrpc', 'id', 'result']);
const ERROR_KEYS = new Set(['jsonrpc', 'id', 'error']);

interface ProtocolEntryPoints {
  _onrequest(message: JSONRPCMessage, extra?: MessageExtraInfo): void;
  _onresponse(message: JSONRPCMessage): void;
  _onnotification(message: JSONRPCMessage): void;
}

/**
 * The result schema for a request whose answer is passed on as it came (to a client, which
 * validates it against the schemas it knows): any object, so the SDK makes no full schema
 * pass over it.
 */
export const PassThroughResult = z.custom<Record<string, unknown>>((value) => typeof value === 'object' && value !== null);

/** A JSON object (not null, not an array). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isIdOrToken(value: unknown): boolean {
  return typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value));
}

function onlyKeys(message: Record<string, unknown>, allowed: ReadonlySet<string>): boolean {
  for (const key in message) if (!allowed.has(key)) return false;
  return true;
}

/** `_meta` as every schema accepts it: absent, or an object with a valid progress token and no task relation. */
function isSimpleMeta(container: Record<string, unknown>): boolean {
  const meta = container._meta;
  if (meta === undefined) return true;
  if (!isPlainObject(meta)) return false;
  if (meta.progressToken !== undefined && !isIdOrToken(meta.progressToken)) return false;
  return !(RELATED_TASK_META_KEY in meta);
}

/** The kind of a message whose envelope is unambiguous; undefined leaves it to the SDK's schemas. */
export function classifyMessage(value: unknown): MessageKind | undefined {
  if (!isPlainObject(value) || value.jsonrpc !== '2.0') return undefined;
  if (typeof value.method === 'string') {
    const params = value.params;
    if (params !== undefined && !(isPlainObject(params) && isSimpleMeta(params))) return undefined;
    if ('id' in value) return isIdOrToken(value.id) && onlyKeys(value, REQUEST_KEYS) ? 'request' : undefined;
    return onlyKeys(value, NOTIFICATION_KEYS) ? 'notification' : undefined;
  }
  if ('result' in value) {
    return isIdOrToken(value.id) && isPlainObject(value.result) && isSimpleMeta(value.result) && onlyKeys(value, RESULT_KEYS) ? 'response' : undefined;
  }
  if ('error' in value) {
    const error = value.error;
    const validId = value.id === undefined || isIdOrToken(value.id);
    const validError = isPlainObject(error) && typeof error.code === 'number' && Number.isInteger(error.code) && typeof error.message === 'string';
    return validId && validError && onlyKeys(value, ERROR_KEYS) ? 'response' : undefined;
  }
  return undefined;
}

/**
 * Route the messages `transport` receives for `protocol` (already connected) past the SDK's
 * schema classification. Returns false, changing nothing, when the SDK does not have the
 * expected entry points.
 */
export function dispatchWithoutSchemaPass(protocol: Protocol<never, never, never> | object, transport: Transport): boolean {
  const entry = protocol as Partial<ProtocolEntryPoints>;
  const sdkOnMessage = transport.onmessage;
  if (!sdkOnMessage || typeof entry._onrequest !== 'function' || typeof entry._onresponse !== 'function' || typeof entry._onnotification !== 'function') {
    return false;
  }
  const { _onrequest: onRequest, _onresponse: onResponse, _onnotification: onNotification } = entry as ProtocolEntryPoints;
  transport.onmessage = (message: JSONRPCMessage, extra?: MessageExtraInfo): void => {
    switch (classifyMessage(message)) {
      case 'request':
        onRequest.call(protocol, message, extra);
        return;
      case 'response':
        onResponse.call(protocol, message);
        return;
      case 'notification':
        onNotification.call(protocol, message);
        return;
      default:
        sdkOnMessage.call(transport, message, extra);
    }
  };
  return true;
}
