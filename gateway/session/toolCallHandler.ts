import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { Protocol, type RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { ErrorCode, type CallToolRequest, type ServerNotification, type ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { RpcError } from './rpcError.js';

export type ToolCallParams = CallToolRequest['params'];
export type ToolCallExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** Only the method literal, which the SDK needs to route; the params are checked once, below. */
const TOOL_CALL_ENVELOPE = z.object({ method: z.literal('tools/call') }).loose();

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What is wrong with tools/call params, in words a client can act on; undefined when they are well-formed. */
export function toolCallParamsProblem(params: unknown): string | undefined {
  if (!isPlainObject(params)) return 'params must be an object with the tool "name" and its "arguments"';
  if (typeof params.name !== 'string' || params.name.length === 0) return 'params.name must be the name of a tool (a non-empty string, as listed by tools/list)';
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

/**
 * Install the tools/call handler of a session's `Server`. The SDK's `Server` wraps a tools/call
 * handler in two more schema passes over the request and one over the result, each a full
 * zod parse per call; here the request is checked once by hand (malformed params get
 * `InvalidParams` saying what to fix), and the handler answers for the shape of its results.
 */
export function setToolCallHandler(server: Server, handler: (params: ToolCallParams, extra: ToolCallExtra) => Promise<Record<string, unknown>>): void {
  const register = Protocol.prototype.setRequestHandler as (
    this: Server,
    schema: typeof TOOL_CALL_ENVELOPE,
    handler: (request: z.infer<typeof TOOL_CALL_ENVELOPE>, extra: ToolCallExtra) => Promise<Record<string, unknown>>,
  ) => void;
  register.call(server, TOOL_CALL_ENVELOPE, (request, extra) => {
    const params = (request as { params?: unknown }).params;
    const problem = toolCallParamsProblem(params);
    if (problem) return Promise.reject(new RpcError(ErrorCode.InvalidParams, `Invalid tools/call request: ${problem}.`));
    return handler(params as ToolCallParams, extra);
  });
}
