import { ErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** Stable codes a client (or a model) can branch on. */
export type FailureCode =
  | 'invalid_input'
  | 'not_found'
  | 'conflict'
  | 'confirmation_required'
  | 'unauthorized'
  | 'forbidden'
  | 'rate_limited'
  | 'unavailable'
  | 'unsupported'
  | 'internal';

/**
 * A failure whose message is safe to show a client: it says what was wrong and
 * `action` says what to do next. Anything that is not a DomainError is reported
 * as an internal error without its message or stack.
 */
export class DomainError extends Error {
  readonly code: FailureCode;
  readonly action: string | undefined;
  readonly field: string | undefined;

  constructor(code: FailureCode, message: string, options: { action?: string; field?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DomainError';
    this.code = code;
    this.action = options.action;
    this.field = options.field;
  }

  /** The whole sentence a client sees: problem first, then the next step. */
  get clientMessage(): string {
    return this.action ? `${this.message} ${this.action}` : this.message;
  }
}

export const invalidInput = (field: string, message: string, action?: string): DomainError =>
  new DomainError('invalid_input', `Invalid "${field}": ${message}`, { field, ...(action ? { action } : {}) });

export const notFound = (message: string, action?: string): DomainError =>
  new DomainError('not_found', message, action ? { action } : {});

const INTERNAL_MESSAGE = 'The server failed while handling this request. It has been logged; retry, and report it if it persists.';

/** Describe any thrown value for a client without leaking internals. */
export function describeFailure(error: unknown): { code: FailureCode; message: string; field?: string } {
  if (error instanceof DomainError) {
    return { code: error.code, message: error.clientMessage, ...(error.field ? { field: error.field } : {}) };
  }
  if (error instanceof McpError) {
    return { code: 'invalid_input', message: error.message };
  }
  return { code: 'internal', message: INTERNAL_MESSAGE };
}

/** Where a failed tool result carries its stable failure code for programs. */
export const FAILURE_META_KEY = 'io.manifold/failure';

/**
 * Turn a failure inside a tool into a tool result with `isError: true`, so the
 * model sees the message and can correct its call (MCP: tool execution errors
 * are reported in the result, protocol errors as JSON-RPC errors).
 */
export function toolFailure(error: unknown): CallToolResult {
  const failure = describeFailure(error);
  return {
    isError: true,
    content: [{ type: 'text', text: `Error (${failure.code}): ${failure.message}` }],
    // Not structuredContent: clients validate that against the tool's output schema
    // even on errors. Programs read the stable code from _meta instead.
    _meta: { [FAILURE_META_KEY]: failure },
  };
}

const JSON_RPC_CODE: Record<FailureCode, number> = {
  invalid_input: ErrorCode.InvalidParams,
  not_found: -32002, // MCP "resource not found"
  conflict: ErrorCode.InvalidRequest,
  confirmation_required: ErrorCode.InvalidRequest,
  unauthorized: ErrorCode.InvalidRequest,
  forbidden: ErrorCode.InvalidRequest,
  rate_limited: ErrorCode.InvalidRequest,
  unavailable: ErrorCode.InternalError,
  unsupported: ErrorCode.MethodNotFound,
  internal: ErrorCode.InternalError,
};

/** Turn a failure outside a tool (resource read, prompt, completion) into a JSON-RPC error. */
export function toMcpError(error: unknown): McpError {
  if (error instanceof McpError) return error;
  const failure = describeFailure(error);
  return new McpError(JSON_RPC_CODE[failure.code], failure.message, { code: failure.code });
}

/** Wrap a handler so that any failure becomes a JSON-RPC error safe for the client. */
export function asMcpErrors<A extends unknown[], R>(handler: (...args: A) => Promise<R> | R): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await handler(...args);
    } catch (error) {
      throw toMcpError(error);
    }
  };
}
