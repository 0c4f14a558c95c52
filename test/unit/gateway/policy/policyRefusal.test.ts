import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { RESOURCE_NOT_FOUND, RpcError, toRpcError } from '../../../../gateway/calls/rpcError.js';
import { describeWait, PolicyRefusal } from '../../../../gateway/policy/policyRefusal.js';
import { DomainError, FAILURE_META_KEY } from '../../../../shared/errors.js';

describe("a refusal of the gateway's own", () => {
  const refusal = new PolicyRefusal('rate_limited', 'Rate limit "user" reached.', { limit: 'user', retryAfterSeconds: 12 });

  it('becomes a tool result a model can read, with the facts for programs in _meta', () => {
    expect(refusal.toToolResult()).toEqual({
      isError: true,
      content: [{ type: 'text', text: 'Error (rate_limited): Rate limit "user" reached.' }],
      _meta: { [FAILURE_META_KEY]: { code: 'rate_limited', message: 'Rate limit "user" reached.', limit: 'user', retryAfterSeconds: 12 } },
    });
  });

  it('becomes a JSON-RPC error for requests other than tools/call', () => {
    const error = refusal.toRpcError();
    expect(error).toBeInstanceOf(RpcError);
    expect(error.code).toBe(ErrorCode.InvalidRequest);
    expect(error.data).toEqual(refusal.failure);
    expect(new PolicyRefusal('invalid_input', 'bad').toRpcError().code).toBe(ErrorCode.InvalidParams);
  });

  it('states waits in seconds, to a tenth below ten seconds', () => {
    expect(describeWait(1)).toBe('0.1 s');
    expect(describeWait(1_500)).toBe('1.5 s');
    expect(describeWait(9_999)).toBe('10 s');
    expect(describeWait(10_000)).toBe('10 s');
    expect(describeWait(42_001)).toBe('43 s');
  });
});

describe('any failure as a JSON-RPC error a client may see', () => {
  it("passes an upstream's error on without the SDK's message prefix", () => {
    const error = toRpcError(new McpError(ErrorCode.InvalidParams, 'Unknown tool: x', { tool: 'x' }));
    expect(error).toMatchObject({ code: ErrorCode.InvalidParams, message: 'Unknown tool: x', data: { tool: 'x' } });
  });

  it('maps the stable codes of domain errors', () => {
    expect(toRpcError(new DomainError('invalid_input', 'title is required'))).toMatchObject({ code: ErrorCode.InvalidParams, data: { code: 'invalid_input' } });
    expect(toRpcError(new DomainError('not_found', 'no such task'))).toMatchObject({ code: RESOURCE_NOT_FOUND, data: { code: 'not_found' } });
    expect(toRpcError(new DomainError('unavailable', 'upstream down'))).toMatchObject({ code: ErrorCode.InternalError, data: { code: 'unavailable' } });
  });

  it('never shows the text of an unexpected error', () => {
    const error = toRpcError(new Error('ECONNRESET at /srv/secret/path.js:12'));
    expect(error.code).toBe(ErrorCode.InternalError);
    expect(error.message).not.toContain('/srv/secret');
    expect(error.data).toEqual({ code: 'internal' });
  });
});
