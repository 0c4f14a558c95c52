import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  isJSONRPCErrorResponse,
  isJSONRPCNotification,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type JSONRPCMessage,
} from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { JSONRPCErrorResponseSchema, JSONRPCNotificationSchema, JSONRPCRequestSchema, JSONRPCResultResponseSchema } from '@modelcontextprotocol/core/internal';
import {
  isJSONRPCErrorResponse as isV2ErrorResponse,
  isJSONRPCNotification as isV2Notification,
  isJSONRPCRequest as isV2Request,
  isJSONRPCResultResponse as isV2ResultResponse,
} from '@modelcontextprotocol/server';
import { classifyMessage, dispatchWithoutSchemaPass, installMessageGuards, SDK_FAST_PATHS } from '../../shared/jsonRpcDispatch.js';

/** What the SDK's own schemas say a message is. */
function sdkKind(message: unknown): string | undefined {
  if (isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) return 'response';
  if (isJSONRPCRequest(message)) return 'request';
  if (isJSONRPCNotification(message)) return 'notification';
  return undefined;
}

const MESSAGES: Array<[string, unknown]> = [
  ['a request', { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hi' } } }],
  ['a request with a string id and no params', { jsonrpc: '2.0', id: 'a-1', method: 'ping' }],
  ['a request with a progress token', { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'x', _meta: { progressToken: 'p' } } }],
  ['a request with a numeric progress token', { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { _meta: { progressToken: 7 } } }],
  ['a request with other _meta keys', { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { _meta: { 'io.manifold/caller': { user: 'u' } } } }],
  ['a notification', { jsonrpc: '2.0', method: 'notifications/initialized' }],
  ['a notification with params', { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } }],
  ['a result', { jsonrpc: '2.0', id: 3, result: { content: [] } }],
  ['a result with _meta', { jsonrpc: '2.0', id: 3, result: { _meta: { progressToken: 'x' }, content: [] } }],
  ['an error', { jsonrpc: '2.0', id: 4, error: { code: -32602, message: 'bad', data: { why: 1 } } }],
  ['an error without an id', { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' } }],
  // Malformed or unusual envelopes: the fast path must never call these anything the SDK would not.
  ['a fractional id', { jsonrpc: '2.0', id: 1.5, method: 'ping' }],
  ['an object id', { jsonrpc: '2.0', id: {}, method: 'ping' }],
  ['a null id', { jsonrpc: '2.0', id: null, method: 'ping' }],
  ['an extra top-level key', { jsonrpc: '2.0', id: 1, method: 'ping', extra: true }],
  ['array params', { jsonrpc: '2.0', id: 1, method: 'ping', params: [] }],
  ['a non-object _meta', { jsonrpc: '2.0', id: 1, method: 'ping', params: { _meta: 'x' } }],
  ['a boolean progress token', { jsonrpc: '2.0', id: 1, method: 'ping', params: { _meta: { progressToken: true } } }],
  ['a task relation', { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { _meta: { 'io.modelcontextprotocol/related-task': { taskId: 't' } } } }],
  ['a wrong version', { jsonrpc: '1.0', id: 1, method: 'ping' }],
  ['a non-object result', { jsonrpc: '2.0', id: 1, result: 'x' }],
  ['a result without an id', { jsonrpc: '2.0', result: {} }],
  ['an error with a string code', { jsonrpc: '2.0', id: 1, error: { code: '1', message: 'x' } }],
  ['an error without a message', { jsonrpc: '2.0', id: 1, error: { code: 1 } }],
  ['both result and error', { jsonrpc: '2.0', id: 1, result: {}, error: { code: 1, message: 'x' } }],
  ['a numeric method', { jsonrpc: '2.0', id: 1, method: 5 }],
  ['an id beyond the safe integers', { jsonrpc: '2.0', id: 2 ** 53, method: 'ping' }],
  ['a progress token beyond the safe integers', { jsonrpc: '2.0', id: 1, method: 'ping', params: { _meta: { progressToken: 1e20 } } }],
  ['an error code beyond the safe integers', { jsonrpc: '2.0', id: 1, error: { code: 1e20, message: 'x' } }],
  ['a notification with an undefined id', { jsonrpc: '2.0', id: undefined, method: 'notifications/initialized' }],
  ['nothing', null],
  ['an array', [{ jsonrpc: '2.0', id: 1, method: 'ping' }]],
];

describe('telling JSON-RPC messages apart without the schema pass', () => {
  it.each(MESSAGES)('agrees with the SDK schemas on %s, or leaves it to them', (_what, message) => {
    const kind = classifyMessage(message);
    if (kind !== undefined) expect(kind).toBe(sdkKind(message));
  });

  it('decides every well-formed message itself (the point of the fast path)', () => {
    const decided = MESSAGES.slice(0, 11).map(([what, message]) => [what, classifyMessage(message)]);
    expect(decided.filter(([, kind]) => kind === undefined)).toEqual([]);
  });

  it('serves calls, progress, errors and notifications through a connected pair, and leaves malformed messages to the SDK', async () => {
    const server = new McpServer({ name: 'dispatch-test', version: '1.0.0' });
    server.registerTool('slow_echo', { inputSchema: { text: z.string() } }, async ({ text }, extra) => {
      const token = extra._meta?.progressToken;
      if (token !== undefined) await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: 1, total: 2 } });
      return { content: [{ type: 'text', text }] };
    });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const serverErrors: Error[] = [];
    server.server.onerror = (error) => serverErrors.push(error);
    // On unless MANIFOLD_SDK_FAST_PATHS=0: the suite passes either way.
    expect(dispatchWithoutSchemaPass(server.server, serverSide)).toBe(SDK_FAST_PATHS);

    const client = new Client({ name: 'dispatch-client', version: '1.0.0' });
    await client.connect(clientSide);
    expect(dispatchWithoutSchemaPass(client, clientSide)).toBe(SDK_FAST_PATHS);

    const progress: number[] = [];
    const result = await client.callTool({ name: 'slow_echo', arguments: { text: 'through the fast path' } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    expect(result.content).toEqual([{ type: 'text', text: 'through the fast path' }]);
    expect(progress).toEqual([1]);

    const invalid = await client.callTool({ name: 'slow_echo', arguments: { text: 42 } });
    expect(invalid.isError).toBe(true);
    await expect(client.request({ method: 'no/such/method' }, z.object({}))).rejects.toThrow(/Method not found/);

    // A message no schema accepts still reaches the SDK, which reports it.
    await clientSide.send({ jsonrpc: '2.0', id: {}, method: 'ping' } as unknown as JSONRPCMessage);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(serverErrors.map((error) => error.message).join('\n')).toMatch(/Unknown message type/);
    await client.close();
  });

  it('changes nothing when the protocol object lacks the entry points', () => {
    const [transport] = InMemoryTransport.createLinkedPair();
    const handler = (): void => undefined;
    transport.onmessage = handler;
    expect(dispatchWithoutSchemaPass({}, transport)).toBe(false);
    expect(transport.onmessage).toBe(handler);
  });
});

/** What a schema itself says, past any guard on its `safeParse` (the Standard Schema entry runs zod directly). */
function schemaAccepts(schema: unknown, value: unknown): boolean {
  const result = (schema as { '~standard': { validate(value: unknown): { issues?: unknown } } })['~standard'].validate(value);
  return result.issues === undefined;
}

describe("SDK v2's message guards with the plain checks", () => {
  const guards: Array<[string, unknown, (value: unknown) => boolean]> = [
    ['request', JSONRPCRequestSchema, isV2Request],
    ['notification', JSONRPCNotificationSchema, isV2Notification],
    ['result response', JSONRPCResultResponseSchema, isV2ResultResponse],
    ['error response', JSONRPCErrorResponseSchema, isV2ErrorResponse],
  ];

  it('are installed once the adapter is loaded, unless the fast paths are off', () => {
    expect(installMessageGuards()).toBe(SDK_FAST_PATHS);
    expect(Object.prototype.hasOwnProperty.call(JSONRPCRequestSchema, 'safeParse')).toBe(SDK_FAST_PATHS);
  });

  it.each(MESSAGES)('judge %s exactly as the schemas do', (_what, message) => {
    for (const [kind, schema, guard] of guards) {
      expect(guard(message), `${kind} guard`).toBe(schemaAccepts(schema, message));
    }
  });

  it('still hand out the parsed data and the schema error', () => {
    const request = { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'x' } };
    expect(JSONRPCRequestSchema.safeParse(request).data).toEqual(request);
    const refused = JSONRPCNotificationSchema.safeParse(request);
    expect(refused.success).toBe(false);
    expect(JSON.stringify(refused.error)).toMatch(/unrecognized_keys|id/);
  });
});
