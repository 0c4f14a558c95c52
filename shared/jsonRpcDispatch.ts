import { JSONRPCErrorResponseSchema, JSONRPCNotificationSchema, JSONRPCRequestSchema, JSONRPCResultResponseSchema } from '@modelcontextprotocol/core/internal';
import { z } from 'zod';

/**
 * The one place that reaches past the MCP SDK's public API, for speed (both SDK lines: v1's
 * `Protocol` in the gateway's 2025 sessions, v2's in the servers). Everything else uses the
 * public API only. MANIFOLD_SDK_FAST_PATHS=0 turns it off, and the test suite passes either way.
 *
 * The SDK's `Protocol` tells requests, notifications and responses apart by running each
 * incoming message through up to four zod schemas, and keeps only the yes/no answer. The
 * first two tried for a request (result response, error response) fail, and a failing zod
 * parse builds its error objects: on a gateway that was about a fifth of its CPU per call.
 *
 * `dispatchWithoutSchemaPass` answers the same question with plain checks and hands the
 * message to the same `Protocol` entry points. It decides only for messages whose envelope
 * every schema would judge the same way (exact key sets, safe-integer or string ids, object
 * params and results, a well-typed progress token); anything else, and any message if the
 * SDK's entry points are not where they are expected, takes the SDK's own path.
 *
 * SDK v2 also asks the same question outside `Protocol`: its stdio entry (`serveStdio`) runs
 * each message of a 2026-07-28 connection through the request and notification schemas up
 * to five times (listen routing, the channel to the instance), and each answer to the
 * response and notification schemas. `installMessageGuards` gives those four schemas the
 * same plain checks: a message `classifyMessage` decides is judged without a zod pass, any
 * other goes to the schema itself.
 */

/** Whether the fast paths are on (MANIFOLD_SDK_FAST_PATHS, default on). */
export const SDK_FAST_PATHS = !['0', 'false', 'no'].includes((process.env.MANIFOLD_SDK_FAST_PATHS ?? '').trim().toLowerCase());

const RELATED_TASK_META_KEY = 'io.modelcontextprotocol/related-task';

/** A JSON-RPC message and what a transport may say about it, as both SDK lines shape them. */
type JSONRPCMessage = Record<string, unknown>;
type MessageExtraInfo = unknown;

/** The part of a transport the adapter touches. */
interface MessageSource {
  onmessage?: ((message: never, extra?: never) => void) | undefined;
}
type MessageKind = 'request' | 'notification' | 'response';

const REQUEST_KEYS = new Set(['jsonrpc', 'id', 'method', 'params']);
const NOTIFICATION_KEYS = new Set(['jsonrpc', 'method', 'params']);
const RESULT_KEYS = new Set(['jsonrpc', 'id', 'result']);
const ERROR_KEYS = new Set(['jsonrpc', 'id', 'error']);

interface ProtocolEntryPoints {
  _onrequest(message: JSONRPCMessage, extra?: MessageExtraInfo): void;
  _onresponse(message: JSONRPCMessage): void;
  _onnotification(message: JSONRPCMessage, extra?: MessageExtraInfo): void;
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

/** A JSON-RPC id or progress token as the schemas accept it: a string, or a safe integer (zod's `int()`). */
function isIdOrToken(value: unknown): boolean {
  return typeof value === 'string' || (typeof value === 'number' && Number.isSafeInteger(value));
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
    const validError = isPlainObject(error) && typeof error.code === 'number' && Number.isSafeInteger(error.code) && typeof error.message === 'string';
    return validId && validError && onlyKeys(value, ERROR_KEYS) ? 'response' : undefined;
  }
  return undefined;
}

/**
 * Route the messages `transport` receives for `protocol` (already connected) past the SDK's
 * schema classification. Returns false, changing nothing, when the fast paths are off or the
 * SDK does not have the expected entry points.
 */
export function dispatchWithoutSchemaPass(protocol: object, transport: MessageSource): boolean {
  const entry = protocol as Partial<ProtocolEntryPoints>;
  const sdkOnMessage = transport.onmessage as ((message: JSONRPCMessage, extra?: MessageExtraInfo) => void) | undefined;
  if (
    !SDK_FAST_PATHS ||
    !sdkOnMessage ||
    typeof entry._onrequest !== 'function' ||
    typeof entry._onresponse !== 'function' ||
    typeof entry._onnotification !== 'function'
  ) {
    return false;
  }
  const { _onrequest: onRequest, _onresponse: onResponse, _onnotification: onNotification } = entry as ProtocolEntryPoints;
  const onmessage = (message: JSONRPCMessage, extra?: MessageExtraInfo): void => {
    switch (classifyMessage(message)) {
      case 'request':
        onRequest.call(protocol, message, extra);
        return;
      case 'response':
        onResponse.call(protocol, message);
        return;
      case 'notification':
        onNotification.call(protocol, message, extra);
        return;
      default:
        sdkOnMessage.call(transport, message, extra);
    }
  };
  transport.onmessage = onmessage as MessageSource['onmessage'];
  return true;
}

/** The part of an SDK server the adapter wraps: it connects to a transport. */
interface Connectable {
  connect(transport: never): Promise<void>;
}

/**
 * Route what `server` receives past the SDK's schema classification, from whenever it is
 * connected (the serving entries connect the instances they ask a factory for).
 */
export function connectWithoutSchemaPass<S extends Connectable & { server: object }>(server: S): S {
  if (!SDK_FAST_PATHS) return server;
  const connect = server.connect.bind(server) as (transport: MessageSource) => Promise<void>;
  (server as unknown as { connect: (transport: MessageSource) => Promise<void> }).connect = async (transport) => {
    await connect(transport);
    dispatchWithoutSchemaPass(server.server, transport);
  };
  return server;
}

/** The part of a zod schema the SDK's message guards (`isJSONRPCRequest`, …) call. */
interface GuardedSchema {
  safeParse(value: unknown, params?: unknown): { success: boolean; data?: unknown; error?: unknown };
}

/**
 * Answer `schema.safeParse` from `decide` where it is certain (true or false), and from the
 * schema itself otherwise. The parsed data, or the error, is made only if someone reads it.
 */
function guardSchema(schema: GuardedSchema, decide: (value: unknown) => boolean | undefined): void {
  const parse = schema.safeParse.bind(schema);
  Object.defineProperty(schema, 'safeParse', {
    configurable: true,
    writable: true,
    value: (value: unknown, params?: unknown) => {
      const decided = decide(value);
      if (decided === undefined) return parse(value, params);
      return decided
        ? {
            success: true,
            get data(): unknown {
              return parse(value, params).data;
            },
          }
        : {
            success: false,
            get error(): unknown {
              return parse(value, params).error;
            },
          };
    },
  });
}

let guardsInstalled = false;

/**
 * Give SDK v2's four JSON-RPC message schemas the plain checks of `classifyMessage` (see the
 * module comment). Once per process, and only with the fast paths on.
 */
export function installMessageGuards(): boolean {
  if (!SDK_FAST_PATHS) return false;
  if (guardsInstalled) return true;
  const kindOf = (value: unknown): { kind: MessageKind; message: Record<string, unknown> } | undefined => {
    const kind = classifyMessage(value);
    return kind === undefined ? undefined : { kind, message: value as Record<string, unknown> };
  };
  guardSchema(JSONRPCRequestSchema as unknown as GuardedSchema, (value) => {
    const known = kindOf(value);
    return known === undefined ? undefined : known.kind === 'request';
  });
  guardSchema(JSONRPCNotificationSchema as unknown as GuardedSchema, (value) => {
    const known = kindOf(value);
    return known === undefined ? undefined : known.kind === 'notification';
  });
  guardSchema(JSONRPCResultResponseSchema as unknown as GuardedSchema, (value) => {
    const known = kindOf(value);
    return known === undefined ? undefined : known.kind === 'response' && 'result' in known.message;
  });
  guardSchema(JSONRPCErrorResponseSchema as unknown as GuardedSchema, (value) => {
    const known = kindOf(value);
    return known === undefined ? undefined : known.kind === 'response' && 'error' in known.message;
  });
  guardsInstalled = true;
  return true;
}

installMessageGuards();
