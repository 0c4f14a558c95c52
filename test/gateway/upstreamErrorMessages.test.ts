import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, fixtureUpstream, startGateway, waitReady, type RunningGateway } from './harness.js';

/**
 * An upstream built on SDK v1 sends its McpError's message with "MCP error <code>: " in front,
 * the gateway's upstream client adds another, and the client's SDK its own: the gateway passes
 * on the bare message, so the client shows the code once.
 */
describe('an upstream error through the gateway', () => {
  let gateway: RunningGateway;

  beforeAll(async () => {
    gateway = await startGateway({ upstreams: [fixtureUpstream('fx')] });
    await waitReady(gateway);
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
  });

  it('carries the code prefix once, as the client SDK adds it', async () => {
    const client = await connect(gateway.url);
    try {
      const error = await client.readResource({ uri: 'fx+fixture://nope' }).then(
        () => undefined,
        (failure: unknown) => failure as Error & { code: number },
      );
      expect(error?.message).toBe(`MCP error ${error?.code}: Resource fixture://nope not found`);
      expect(error?.message.match(/MCP error/g)).toHaveLength(1);
    } finally {
      await client.close();
    }
  });

  it('sends the bare message on the wire', async () => {
    const initialize = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
      }),
    });
    const session = initialize.headers.get('mcp-session-id');
    await initialize.text();
    const headers = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25',
      ...(session ? { 'mcp-session-id': session } : {}),
    };
    await fetch(gateway.url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) }).then((r) => r.text());
    const answer = await fetch(gateway.url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'resources/read', params: { uri: 'fx+fixture://nope' } }),
    });
    const text = await answer.text();
    const body = JSON.parse(text.startsWith('{') ? text : (text.split('\n').find((line) => line.startsWith('data: ')) ?? 'data: {}').slice(6)) as {
      error?: { message: string };
    };
    expect(body.error?.message).toBe('Resource fixture://nope not found');
  });
});
