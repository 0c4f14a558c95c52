import { describe, expect, it } from 'vitest';
import { parseMessages, requestIdOf } from '../../../../gateway/http/jsonRpcMessages.js';

describe('the JSON-RPC envelope of a POST body', () => {
  it('accepts one message or a batch, and says which', () => {
    const request = { jsonrpc: '2.0', id: 1, method: 'tools/list' };
    expect(parseMessages(request)).toEqual({ ok: true, messages: [request], batch: false });
    const response = { jsonrpc: '2.0', id: 'a', result: {} };
    const notification = { jsonrpc: '2.0', method: 'notifications/initialized' };
    expect(parseMessages([response, notification])).toEqual({ ok: true, messages: [response, notification], batch: true });
    expect(parseMessages({ jsonrpc: '2.0', id: 2, error: { code: -1, message: 'declined' } }).ok).toBe(true);
  });

  it.each([
    [[], 'Empty JSON-RPC batch.'],
    ['text', 'Invalid JSON-RPC message: not an object.'],
    [{ id: 1, method: 'x' }, 'Invalid JSON-RPC message: "jsonrpc" must be "2.0".'],
    [{ jsonrpc: '2.0', id: 1.5, method: 'x' }, 'Invalid JSON-RPC message: "id" must be a string or an integer.'],
    [{ jsonrpc: '2.0', id: 1, method: '' }, 'Invalid JSON-RPC message: "method" must be a non-empty string.'],
    [{ jsonrpc: '2.0', id: 1, method: 'x', params: [1] }, 'Invalid JSON-RPC message: "params" must be an object.'],
    [{ jsonrpc: '2.0' }, 'Invalid JSON-RPC message: neither a request, a notification nor a response.'],
    [{ jsonrpc: '2.0', id: 1, result: 'ok' }, 'Invalid JSON-RPC message: "result" must be an object.'],
    [{ jsonrpc: '2.0', id: 1, error: { code: 'x' } }, 'Invalid JSON-RPC message: a response needs "result" or "error" with a numeric code and a message.'],
    [[{ jsonrpc: '2.0', id: 1, method: 'ok' }, { jsonrpc: '1.0' }], 'Invalid JSON-RPC message: "jsonrpc" must be "2.0".'],
  ])('refuses %j: %s', (body, message) => {
    expect(parseMessages(body)).toEqual({ ok: false, message });
  });

  it('finds the id an error answer echoes, or null', () => {
    expect(requestIdOf({ jsonrpc: '2.0', id: 9, method: 'x' })).toBe(9);
    expect(requestIdOf({ id: 'abc' })).toBe('abc');
    expect(requestIdOf({ id: 1.5 })).toBeNull();
    expect(requestIdOf([{ id: 1 }])).toBeNull();
    expect(requestIdOf({ method: 'notifications/x' })).toBeNull();
    expect(requestIdOf(null)).toBeNull();
  });
});
