import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { ErrorCode, McpError, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { CallCancellation } from '../../gateway/upstreams/cancellation.js';
import { ForwardedRequests } from '../../gateway/upstreams/forwardedRequests.js';

interface Link {
  requests: ForwardedRequests;
  /** What reached the upstream. */
  upstreamGot: JSONRPCMessage[];
  /** What was passed on to the SDK client (not one of the forwarded requests' messages). */
  passedOn: JSONRPCMessage[];
  /** Send from the upstream. */
  reply: (message: Record<string, unknown>) => Promise<void>;
  upstream: InMemoryTransport;
}

const links: Link[] = [];
afterEach(async () => {
  for (const link of links.splice(0)) await link.upstream.close().catch(() => undefined);
});

async function link(): Promise<Link> {
  const [gatewaySide, upstream] = InMemoryTransport.createLinkedPair();
  const upstreamGot: JSONRPCMessage[] = [];
  const passedOn: JSONRPCMessage[] = [];
  upstream.onmessage = (message) => upstreamGot.push(message);
  gatewaySide.onmessage = (message) => passedOn.push(message);
  await upstream.start();
  await gatewaySide.start();
  const result: Link = {
    requests: new ForwardedRequests(gatewaySide),
    upstreamGot,
    passedOn,
    reply: (message) => upstream.send({ jsonrpc: '2.0', ...message } as JSONRPCMessage),
    upstream,
  };
  links.push(result);
  return result;
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));
const sentId = (l: Link, index = 0) => (l.upstreamGot[index] as { id: number }).id;

describe('requests forwarded to an upstream', () => {
  it('passes a result on as the upstream sent it, and an error answer as an McpError with its code and data', async () => {
    const l = await link();
    const call = l.requests.request('tools/call', { name: 'echo', arguments: { text: 'hi' } }, { timeoutMs: 1000, maxTotalTimeoutMs: 1000 });
    await tick();
    expect(l.upstreamGot[0]).toMatchObject({ jsonrpc: '2.0', method: 'tools/call', params: { name: 'echo', arguments: { text: 'hi' } } });
    const result = { content: [{ type: 'text', text: 'hi' }], structuredContent: { n: 1 }, _meta: { x: 1 } };
    await l.reply({ id: sentId(l), result });
    await expect(call).resolves.toEqual(result);

    const failing = l.requests.request('tools/call', { name: 'nope' }, { timeoutMs: 1000, maxTotalTimeoutMs: 1000 });
    await tick();
    await l.reply({ id: sentId(l, 1), error: { code: -32602, message: 'Unknown tool nope', data: { hint: 'list' } } });
    const error = await failing.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect(error).toMatchObject({ code: -32602, data: { hint: 'list' } });
    expect((error as Error).message).toMatch(/Unknown tool nope/);
    expect(l.requests.size).toBe(0);
  });

  it('leaves the SDK client its own responses, progress, requests and notifications', async () => {
    const l = await link();
    const call = l.requests.request('tools/call', { name: 'slow' }, { timeoutMs: 1000, maxTotalTimeoutMs: 1000 });
    await tick();
    await l.reply({ id: 0, result: {} });
    await l.reply({ method: 'notifications/progress', params: { progressToken: 3, progress: 1 } });
    await l.reply({ id: 'a', method: 'sampling/createMessage', params: {} });
    await l.reply({ method: 'notifications/message', params: { level: 'info', data: 'x' } });
    await tick();
    expect(l.passedOn.map((m) => ('method' in m ? m.method : `response ${String((m as { id: unknown }).id)}`))).toEqual([
      'response 0',
      'notifications/progress',
      'sampling/createMessage',
      'notifications/message',
    ]);
    await l.reply({ id: sentId(l), result: { content: [] } });
    await expect(call).resolves.toEqual({ content: [] });
  });

  it('reports progress under the token it chose, and each progress notification restarts the timeout', async () => {
    const l = await link();
    const seen: unknown[] = [];
    const call = l.requests.request(
      'tools/call',
      { name: 'slow', _meta: { 'io.example/keep': 1 } },
      { timeoutMs: 80, maxTotalTimeoutMs: 5000, onprogress: (p) => seen.push(p) },
    );
    await tick();
    const sent = l.upstreamGot[0] as { id: number; params: { _meta: Record<string, unknown> } };
    expect(sent.params._meta).toEqual({ 'io.example/keep': 1, progressToken: sent.id });
    for (let i = 1; i <= 4; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      await l.reply({ method: 'notifications/progress', params: { progressToken: sent.id, progress: i, total: 4 } });
    }
    await l.reply({ id: sent.id, result: { content: [] } });
    await expect(call).resolves.toEqual({ content: [] });
    expect(seen).toEqual([1, 2, 3, 4].map((progress) => ({ progress, total: 4 })));
    expect(l.passedOn).toEqual([]);
  });

  it('cancels upstream and fails with RequestTimeout when no answer comes in time, or progress runs past the total limit', async () => {
    const l = await link();
    const silent = l.requests.request('tools/call', { name: 'hang' }, { timeoutMs: 40, maxTotalTimeoutMs: 40 });
    await expect(silent).rejects.toMatchObject({ code: ErrorCode.RequestTimeout, data: { timeout: 40 } });
    expect(l.upstreamGot[1]).toMatchObject({
      method: 'notifications/cancelled',
      params: { requestId: sentId(l), reason: expect.stringMatching(/Request timed out/) },
    });

    const chatty = l.requests.request('tools/call', { name: 'slow' }, { timeoutMs: 1000, maxTotalTimeoutMs: 60, onprogress: () => undefined });
    await new Promise((resolve) => setTimeout(resolve, 80));
    await l.reply({ method: 'notifications/progress', params: { progressToken: sentId(l, 2), progress: 1 } });
    await expect(chatty).rejects.toMatchObject({ code: ErrorCode.RequestTimeout, message: expect.stringMatching(/Maximum total timeout exceeded/) });
    expect(l.upstreamGot[3]).toMatchObject({ method: 'notifications/cancelled', params: { requestId: sentId(l, 2) } });
    // A late answer is dropped, not passed on as an unknown response.
    await l.reply({ id: sentId(l), result: { content: [] } });
    await tick();
    expect(l.passedOn).toEqual([]);
  });

  it('times out each request at its own deadline when requests with other timeouts are pending', async () => {
    const l = await link();
    const started = Date.now();
    const slowToTimeOut = l.requests.request('tools/call', { name: 'long' }, { timeoutMs: 400, maxTotalTimeoutMs: 400 });
    const quickToTimeOut = l.requests.request('tools/call', { name: 'short' }, { timeoutMs: 40, maxTotalTimeoutMs: 40 });
    const answered = l.requests.request('tools/call', { name: 'answered' }, { timeoutMs: 40, maxTotalTimeoutMs: 40 });
    await tick();
    await l.reply({ id: sentId(l, 2), result: { content: [] } });
    await expect(answered).resolves.toEqual({ content: [] });
    await expect(quickToTimeOut).rejects.toMatchObject({ code: ErrorCode.RequestTimeout, data: { timeout: 40 } });
    const quickAfter = Date.now() - started;
    expect(quickAfter).toBeGreaterThanOrEqual(39);
    expect(quickAfter).toBeLessThan(300);
    expect(l.requests.size).toBe(1);
    await expect(slowToTimeOut).rejects.toMatchObject({ code: ErrorCode.RequestTimeout, data: { timeout: 400 } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(399);
    expect(
      l.upstreamGot
        .filter((m) => 'method' in m && m.method === 'notifications/cancelled')
        .map((m) => (m as unknown as { params: { requestId: number } }).params.requestId),
    ).toEqual([sentId(l, 1), sentId(l, 0)]);
  });

  it("cancels upstream when the caller aborts, with the caller's reason", async () => {
    const l = await link();
    const cancellation = new CallCancellation();
    const call = l.requests.request('tools/call', { name: 'slow' }, { timeoutMs: 1000, maxTotalTimeoutMs: 1000, cancellation });
    await tick();
    cancellation.abort(new McpError(ErrorCode.InvalidRequest, 'the client cancelled'));
    await expect(call).rejects.toMatchObject({ code: ErrorCode.InvalidRequest });
    expect(l.upstreamGot[1]).toMatchObject({
      method: 'notifications/cancelled',
      params: { requestId: sentId(l), reason: expect.stringMatching(/the client cancelled/) },
    });
    await expect(l.requests.request('tools/call', { name: 'x' }, { timeoutMs: 1000, maxTotalTimeoutMs: 1000, cancellation })).rejects.toMatchObject({
      code: ErrorCode.InvalidRequest,
    });
  });

  it('fails every request in flight with ConnectionClosed when the connection ends, and refuses new ones', async () => {
    const l = await link();
    const first = l.requests.request('tools/call', { name: 'a' }, { timeoutMs: 1000, maxTotalTimeoutMs: 1000 });
    const second = l.requests.request('resources/read', { uri: 'x://1' }, { timeoutMs: 1000, maxTotalTimeoutMs: 1000 });
    await tick();
    await l.upstream.close();
    await expect(first).rejects.toMatchObject({ code: ErrorCode.ConnectionClosed });
    await expect(second).rejects.toMatchObject({ code: ErrorCode.ConnectionClosed });
    await expect(l.requests.request('tools/call', { name: 'b' }, { timeoutMs: 1000, maxTotalTimeoutMs: 1000 })).rejects.toMatchObject({
      code: ErrorCode.ConnectionClosed,
    });
    expect(l.requests.size).toBe(0);
  });
  it('does not time a request out while the upstream waits on the end client, and times it again once answered', async () => {
    const l = await link();
    let id = -1;
    const call = l.requests.request('tools/call', { name: 'ask_user' }, { timeoutMs: 60, maxTotalTimeoutMs: 5000, onId: (sent) => (id = sent) });
    expect(id).toBeGreaterThan(0);
    const release = l.requests.holdDeadline(id);
    // Four timeouts pass while a person answers: the request is still waiting.
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(l.requests.size).toBe(1);
    release();
    // Once answered, the timeout runs again from now.
    const error = await call.catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.RequestTimeout });
    expect(l.upstreamGot.at(-1)).toMatchObject({ method: 'notifications/cancelled', params: { requestId: id } });
  });

  it('keeps the total ceiling while the upstream waits on the end client', async () => {
    const l = await link();
    let id = -1;
    const call = l.requests.request('tools/call', { name: 'ask_user' }, { timeoutMs: 50, maxTotalTimeoutMs: 150, onId: (sent) => (id = sent) });
    l.requests.holdDeadline(id);
    const started = Date.now();
    const error = await call.catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.RequestTimeout, message: expect.stringMatching(/Maximum total timeout exceeded/) });
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
  });
});
