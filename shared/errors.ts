import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';

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

export const notFound = (message: string, action?: string): DomainError => new DomainError('not_found', message, action ? { action } : {});

/**
 * A JSON-RPC error raised by an MCP SDK: the v2 `ProtocolError`, or the v1 `McpError` that the
 * gateway's upstream client still throws. Both carry a numeric `code`; their messages are
 * written for the client and safe to show.
 */
export function isProtocolError(error: unknown): error is Error & { code: number; data?: unknown } {
  return error instanceof ProtocolError || (error instanceof Error && error.name === 'McpError' && typeof (error as { code?: unknown }).code === 'number');
}

const INTERNAL_MESSAGE = 'The server failed while handling this request. It has been logged; retry, and report it if it persists.';

/** A failure as a client sees it: the stable code, the whole message, and the input at fault. */
export type FailureDescription = {
  code: FailureCode;
  message: string;
  field?: string;
};

/** Describe any thrown value for a client without leaking internals. */
export function describeFailure(error: unknown): FailureDescription {
  if (error instanceof DomainError) {
    return { code: error.code, message: error.clientMessage, ...(error.field ? { field: error.field } : {}) };
  }
  if (isProtocolError(error)) {
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
/** A tool result reporting a failure; assignable to the `CallToolResult` of either SDK line. */
export type ToolFailureResult = {
  isError: true;
  content: Array<{ type: 'text'; text: string }>;
  _meta: { [FAILURE_META_KEY]: FailureDescription };
};

export function toolFailure(error: unknown): ToolFailureResult {
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
  invalid_input: ProtocolErrorCode.InvalidParams,
  // Resource not found is -32602 since MCP 2026-07-28 (SEP-2164); 2025 clients treat it as
  // invalid params, which a missing resource is.
  not_found: ProtocolErrorCode.InvalidParams,
  conflict: ProtocolErrorCode.InvalidRequest,
  confirmation_required: ProtocolErrorCode.InvalidRequest,
  unauthorized: ProtocolErrorCode.InvalidRequest,
  forbidden: ProtocolErrorCode.InvalidRequest,
  rate_limited: ProtocolErrorCode.InvalidRequest,
  unavailable: ProtocolErrorCode.InternalError,
  unsupported: ProtocolErrorCode.MethodNotFound,
  internal: ProtocolErrorCode.InternalError,
};

/** Turn a failure outside a tool (resource read, prompt, completion) into a JSON-RPC error. */
export function toMcpError(error: unknown): ProtocolError {
  if (error instanceof ProtocolError) return error;
  if (isProtocolError(error)) return new ProtocolError(error.code, error.message, error.data);
  const failure = describeFailure(error);
  return new ProtocolError(JSON_RPC_CODE[failure.code], failure.message, { code: failure.code });
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
