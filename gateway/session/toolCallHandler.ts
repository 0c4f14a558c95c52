import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { Protocol, type RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  ErrorCode,
  type CallToolRequest,
  type JSONRPCMessage,
  type RequestId,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { classifyMessage, isPlainObject, SDK_FAST_PATHS } from '../../shared/jsonRpcDispatch.js';
import { CallCancellation, cancellationOf, type Cancellation } from '../upstreams/cancellation.js';
import { RpcError, toRpcError } from '../calls/rpcError.js';

export type ToolCallParams = CallToolRequest['params'];
/** What a tools/call handler gets from either path below. */
export type ToolCallExtra = Pick<RequestHandlerExtra<ServerRequest, ServerNotification>, 'requestId' | 'sendNotification'> & { cancellation: Cancellation };
export type SessionToolCallHandler = (params: ToolCallParams, extra: ToolCallExtra) => Promise<Record<string, unknown>>;

/** Only the method literal, which the SDK needs to route; the params are checked once, below. */
const TOOL_CALL_ENVELOPE = z.object({ method: z.literal('tools/call') }).loose();

/** What is wrong with tools/call params, in words a client can act on; undefined when they are well-formed. */
export function toolCallParamsProblem(params: unknown): string | undefined {
  if (!isPlainObject(params)) return 'params must be an object with the tool "name" and its "arguments"';
  if (typeof params.name !== 'string' || params.name.length === 0)
    return 'params.name must be the name of a tool (a non-empty string, as listed by tools/list)';
  if (params.arguments !== undefined && !isPlainObject(params.arguments)) return 'params.arguments must be an object of named arguments';
  const meta = params._meta;
  if (meta !== undefined) {
    if (!isPlainObject(meta)) return 'params._meta must be an object';
    const token = meta.progressToken;
    if (token !== undefined && typeof token !== 'string' && !(typeof token === 'number' && Number.isInteger(token))) {
      return 'params._meta.progressToken must be a string or an integer';
    }
  }
  return undefined;
}

/**
 * What keeps a tools/call result from being one a client can read (MCP schema
 * CallToolResult: a `content` array of typed blocks, which the SDK's schema lets default to
 * empty, an optional `structuredContent` object and `isError` flag); undefined when it is
 * well-formed.
 */
export function toolResultProblem(result: unknown): string | undefined {
  if (!isPlainObject(result)) return 'the result is not an object';
  const { content, structuredContent, isError } = result;
  if (content !== undefined) {
    if (!Array.isArray(content)) return '"content" is not an array';
    for (let i = 0; i < content.length; i++) {
      const block: unknown = content[i];
      if (!isPlainObject(block) || typeof block.type !== 'string') return `content[${i}] has no "type"`;
    }
  }
  if (structuredContent !== undefined && !isPlainObject(structuredContent)) return '"structuredContent" is not an object';
  if (isError !== undefined && typeof isError !== 'boolean') return '"isError" is not a boolean';
  return undefined;
}

/** Run `handler` on well-formed params; malformed ones get InvalidParams saying what to fix. */
function callChecked(handler: SessionToolCallHandler, params: unknown, extra: ToolCallExtra): Promise<Record<string, unknown>> {
  const problem = toolCallParamsProblem(params);
  if (problem) return Promise.reject(new RpcError(ErrorCode.InvalidParams, `Invalid tools/call request: ${problem}.`));
  return handler(params as ToolCallParams, extra);
}

/**
 * Install the tools/call handler of a session's `Server`. The SDK's `Server` wraps a tools/call
 * handler in two more schema passes over the request and one over the result, each a full
 * zod parse per call; here the request is checked once by hand (malformed params get
 * `InvalidParams` saying what to fix), and the handler answers for the shape of its results.
 */
export function setToolCallHandler(server: Server, handler: SessionToolCallHandler): void {
  const register = Protocol.prototype.setRequestHandler as (
    this: Server,
    schema: typeof TOOL_CALL_ENVELOPE,
    handler: (request: z.infer<typeof TOOL_CALL_ENVELOPE>, extra: RequestHandlerExtra<ServerRequest, ServerNotification>) => Promise<Record<string, unknown>>,
  ) => void;
  register.call(server, TOOL_CALL_ENVELOPE, (request, extra) =>
    callChecked(handler, (request as { params?: unknown }).params, {
      requestId: extra.requestId,
      sendNotification: extra.sendNotification,
      cancellation: cancellationOf(extra.signal),
    }),
  );
}

/**
 * Answer a session's tools/call requests straight from its transport, without the SDK
 * `Server`'s per-request machinery (task lookups, an extra object of a dozen closures, a
 * promise chain per request): `handler` runs with the request id, its cancellation and a way
 * to send progress on the request's own stream, and its result or error is sent back just as
 * the SDK would send it. A notifications/cancelled naming one of these requests aborts it,
 * and nothing is answered. Only requests whose envelope is unambiguous (shared/jsonRpcDispatch.ts)
 * and that ask for no task are taken; everything else goes on to the SDK `Server`, where
 * `setToolCallHandler` installed the same handler.
 *
 * Install after the SDK `Server` is connected to `transport`. Off with the SDK fast paths
 * (shared/jsonRpcDispatch.ts, MANIFOLD_SDK_FAST_PATHS=0).
 */
export function answerToolCallsDirectly(transport: Transport, handler: SessionToolCallHandler): void {
  if (!SDK_FAST_PATHS) return;
  const sdkOnMessage = transport.onmessage;
  const running = new Map<RequestId, CallCancellation>();

  const answer = (id: RequestId, params: Record<string, unknown>): void => {
    const cancellation = new CallCancellation();
    running.set(id, cancellation);
    const extra: ToolCallExtra = {
      requestId: id,
      cancellation,
      sendNotification: async (notification) => {
        if (cancellation.aborted) return;
        await transport.send({ jsonrpc: '2.0', ...notification } as JSONRPCMessage, { relatedRequestId: id });
      },
    };
    callChecked(handler, params, extra)
      .then(
        (result) => (cancellation.aborted ? undefined : transport.send({ jsonrpc: '2.0', id, result } as JSONRPCMessage)),
        (error: unknown) => {
          if (cancellation.aborted) return undefined;
          const { code, message, data } = toRpcError(error);
          const rpcError = { code: Number.isSafeInteger(code) ? code : ErrorCode.InternalError, message, ...(data === undefined ? {} : { data }) };
          return transport.send({ jsonrpc: '2.0', id, error: rpcError } as JSONRPCMessage);
        },
      )
      .catch((error: unknown) => transport.onerror?.(error instanceof Error ? error : new Error(String(error))))
      .finally(() => {
        if (running.get(id) === cancellation) running.delete(id);
      });
  };

  transport.onmessage = (message, extra) => {
    const fields = message as { id?: RequestId; method?: unknown; params?: Record<string, unknown> };
    if (fields.method === 'tools/call' && fields.id !== undefined && fields.params?.task === undefined && classifyMessage(message) === 'request') {
      answer(fields.id, fields.params ?? {});
      return;
    }
    if (fields.method === 'notifications/cancelled') {
      const requestId = (fields.params as { requestId?: RequestId } | undefined)?.requestId;
      const cancellation = requestId === undefined ? undefined : running.get(requestId);
      if (cancellation) {
        running.delete(requestId!);
        cancellation.abort((fields.params as { reason?: unknown }).reason);
      }
    }
    sdkOnMessage?.call(transport, message, extra);
  };
}
