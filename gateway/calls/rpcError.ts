import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { describeFailure, DomainError } from '../../shared/errors.js';

/**
 * A JSON-RPC error the SDK `Protocol` sends as `{ code, message, data }`. Unlike `McpError`
 * its message is not prefixed with "MCP error <code>:", so a client that adds its own
 * prefix does not show it twice.
 */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

export const RESOURCE_NOT_FOUND = -32002;

/**
 * An error's message as the client should get it: every "MCP error <code>: " in front removed.
 * The SDK v1 `McpError` puts one there (the gateway's upstream client makes one from each
 * error answer), and an upstream built on SDK v1 sends its own `McpError` message with one
 * already; the client's SDK adds its own, so the gateway passes on the bare message.
 */
export function withoutCodePrefix(message: string): string {
  return message.replace(/^(?:MCP error -?\d+: )+/, '');
}

/** Any failure as a JSON-RPC error safe to show the client (upstream errors pass through). */
export function toRpcError(error: unknown): RpcError {
  if (error instanceof RpcError) return error;
  if (error instanceof McpError) return new RpcError(error.code, withoutCodePrefix(error.message), error.data);
  const failure = describeFailure(error);
  const code =
    error instanceof DomainError && failure.code === 'invalid_input'
      ? ErrorCode.InvalidParams
      : failure.code === 'not_found'
        ? RESOURCE_NOT_FOUND
        : failure.code === 'unsupported'
          ? ErrorCode.MethodNotFound
          : failure.code === 'unavailable' || failure.code === 'internal'
            ? ErrorCode.InternalError
            : ErrorCode.InvalidRequest;
  return new RpcError(code, failure.message, { code: failure.code });
}
