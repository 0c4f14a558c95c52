import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { FAILURE_META_KEY } from '../../shared/errors.js';
import { RpcError } from '../calls/rpcError.js';

/** Stable codes of the gateway's own refusals (programs branch on them). */
export type RefusalCode = 'rate_limited' | 'invalid_input' | 'too_large';

/**
 * A call the gateway refused before (or instead of) answering it: which limit or check, and
 * the details a client needs to act (`retryAfterSeconds`, the `field`, the sizes). Nothing
 * is retried on the client's behalf.
 */
export class PolicyRefusal extends Error {
  constructor(
    readonly code: RefusalCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'PolicyRefusal';
  }

  /** The failure record carried in `_meta["io.manifold/failure"]` and JSON-RPC error data. */
  get failure(): Record<string, unknown> {
    return { code: this.code, message: this.message, ...this.details };
  }

  /** As a tool result with `isError: true`, so the model sees the reason and can adapt. */
  toToolResult(): Record<string, unknown> {
    return {
      isError: true,
      content: [{ type: 'text', text: `Error (${this.code}): ${this.message}` }],
      _meta: { [FAILURE_META_KEY]: this.failure },
    };
  }

  /** For requests other than tools/call (resources/read). */
  toRpcError(): RpcError {
    return new RpcError(this.code === 'invalid_input' ? ErrorCode.InvalidParams : ErrorCode.InvalidRequest, this.message, this.failure);
  }
}

/** "42 s", "1.5 s": the wait a client is told. */
export function describeWait(ms: number): string {
  return ms >= 10_000 ? `${Math.ceil(ms / 1000)} s` : `${Math.ceil(ms / 100) / 10} s`;
}
