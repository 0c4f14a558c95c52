import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { SessionTransport } from '../../../../gateway/session/sessionTransport.js';
import { eventually } from '../../support/seams.js';

/**
 * The session transport behind a loopback node:http server that does what the gateway's routes
 * do with it: a POST's messages go to receivePost, a GET to attachGet. Clients are plain
 * node:http requests, so every byte on the wire can be checked.
 */
interface Harness {
  transport: SessionTransport;
  received: JSONRPCMessage[];
  post(body: unknown): Promise<Reply>;
  get(lastEventId?: string): Promise<Reply>;
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  /** What has arrived so far. */
  text(): string;
  /** The whole body, once the server ends it. */
  ended: Promise<string>;
  /** Drop the connection, as a client that goes away. */
  drop(): void;
}

interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

function parseEvents(text: string): SseEvent[] {
  return text
    .split('\n\n')
    .filter((block) => block !== '' && !block.startsWith(':'))
    .map((block) => {
      const event: SseEvent = { data: '' };
      for (const line of block.split('\n')) {
        const [field, ...rest] = line.split(': ');
        const value = rest.join(': ');
        if (field === 'id') event.id = value;
        else if (field === 'event') event.event = value;
        else if (field === 'data') event.data = value;
      }
      return event;
    });
}

const servers: Server[] = [];
const transports: SessionTransport[] = [];
afterEach(async () => {
  for (const transport of transports.splice(0)) await transport.close();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function harness(options: { replayBufferEvents?: number; protocolVersion?: string } = {}): Promise<Harness> {
  const transport = new SessionTransport('session-1', 'streamable', options.replayBufferEvents ?? 16);
  transports.push(transport);
  if (options.protocolVersion) transport.setProtocolVersion(options.protocolVersion);
  const received: JSONRPCMessage[] = [];
  transport.onmessage = (message) => received.push(message);
  const server = createServer((req, res) => {
    if (req.method === 'GET') {
      const lastEventId = req.headers['last-event-id'];
      const refusal = transport.attachGet(res, typeof lastEventId === 'string' ? lastEventId : undefined);
      if (refusal) res.writeHead(refusal.status, { 'Content-Type': 'text/plain' }).end(refusal.message);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as JSONRPCMessage | JSONRPCMessage[];
      transport.receivePost(res, Array.isArray(parsed) ? parsed : [parsed], Array.isArray(parsed));
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const send = (method: 'GET' | 'POST', headers: Record<string, string>, body?: string): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/mcp', method, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        const ended = new Promise<string>((done) => {
          res.on('end', () => done(text));
          res.on('close', () => done(text));
        });
        resolve({ status: res.statusCode!, headers: res.headers, text: () => text, ended, drop: () => req.destroy() });
      });
      req.on('error', reject);
      req.end(body);
    });

  return {
    transport,
    received,
    post: (body) => send('POST', { 'Content-Type': 'application/json' }, JSON.stringify(body)),
    get: (lastEventId) => send('GET', lastEventId ? { 'Last-Event-ID': lastEventId } : {}),
  };
}

const request = (id: number, method = 'tools/call') => ({ jsonrpc: '2.0' as const, id, method, params: {} });
const result = (id: number, text: string) => ({ jsonrpc: '2.0' as const, id, result: { content: [{ type: 'text', text }] } });
const progress = (value: number) => ({ jsonrpc: '2.0' as const, method: 'notifications/progress', params: { progressToken: 't', progress: value } });

describe('a POST answered as JSON', () => {
  it('stays open until its response, then carries it as application/json with the session id', async () => {
    const h = await harness();
    const replyPromise = h.post(request(1));
    await eventually(() => expect(h.received).toEqual([request(1)]));
    await h.transport.send(result(1, 'done'));
    const reply = await replyPromise;
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/json');
    expect(reply.headers['mcp-session-id']).toBe('session-1');
    expect(JSON.parse(await reply.ended)).toEqual(result(1, 'done'));
    expect(h.transport.pendingRequests).toBe(0);
  });

  it('answers a batch with an array once every request in it is answered', async () => {
    const h = await harness();
    const replyPromise = h.post([request(1), request(2)]);
    await eventually(() => expect(h.received).toHaveLength(2));
    await h.transport.send(result(2, 'second'));
    expect(h.transport.pendingRequests).toBe(1);
    await h.transport.send(result(1, 'first'));
    const reply = await replyPromise;
    expect(JSON.parse(await reply.ended)).toEqual([result(2, 'second'), result(1, 'first')]);
  });

  it('acknowledges a POST of only notifications and responses with 202 at once', async () => {
    const h = await harness();
    const reply = await h.post({ jsonrpc: '2.0', method: 'notifications/initialized' });
    expect(reply.status).toBe(202);
    expect(await reply.ended).toBe('');
    expect(h.received).toEqual([{ jsonrpc: '2.0', method: 'notifications/initialized' }]);
  });

  it('releases the POST of a cancelled request without a response', async () => {
    const h = await harness();
    const replyPromise = h.post(request(5));
    await eventually(() => expect(h.received).toHaveLength(1));
    await h.post({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 5, reason: 'user left' } });
    const reply = await replyPromise;
    expect(reply.status).toBe(202);
    // A response the server sends anyway goes nowhere.
    await h.transport.send(result(5, 'too late'));
    expect(await reply.ended).toBe('');
  });

  it('answers requests still open when the session closes with a JSON-RPC error', async () => {
    const h = await harness();
    const replyPromise = h.post(request(9));
    await eventually(() => expect(h.received).toHaveLength(1));
    await h.transport.close();
    const reply = await replyPromise;
    expect(reply.status).toBe(404);
    expect(JSON.parse(await reply.ended)).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session closed.' } });
  });
});

describe('a POST upgraded to SSE', () => {
  it('becomes an event stream when a message related to its request comes first, then ends after the response', async () => {
    const h = await harness({ protocolVersion: '2025-06-18' });
    const replyPromise = h.post(request(3));
    await eventually(() => expect(h.received).toHaveLength(1));
    await h.transport.send(progress(1), { relatedRequestId: 3 });
    const reply = await replyPromise;
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/event-stream');
    expect(reply.headers['mcp-session-id']).toBe('session-1');
    await eventually(() => expect(parseEvents(reply.text())).toHaveLength(1));
    await h.transport.send(result(3, 'done'));
    const events = parseEvents(await reply.ended);
    expect(events).toEqual([
      { id: 'p1.1', event: 'message', data: JSON.stringify(progress(1)) },
      { id: 'p1.2', event: 'message', data: JSON.stringify(result(3, 'done')) },
    ]);
  });

  it('opens with a priming event (an id, empty data) for 2025-11-25 clients', async () => {
    const h = await harness({ protocolVersion: '2025-11-25' });
    const replyPromise = h.post(request(3));
    await eventually(() => expect(h.received).toHaveLength(1));
    await h.transport.send(progress(1), { relatedRequestId: 3 });
    await h.transport.send(result(3, 'done'));
    const events = parseEvents(await (await replyPromise).ended);
    expect(events.map((event) => [event.id, event.data === '' ? '' : (JSON.parse(event.data).method ?? 'result')])).toEqual([
      ['p1.1', ''],
      ['p1.2', 'notifications/progress'],
      ['p1.3', 'result'],
    ]);
  });

  it("keeps collecting a dropped stream's events, replays them after Last-Event-ID and then ends it", async () => {
    const h = await harness({ protocolVersion: '2025-06-18' });
    const replyPromise = h.post(request(4));
    await eventually(() => expect(h.received).toHaveLength(1));
    await h.transport.send(progress(1), { relatedRequestId: 4 });
    const reply = await replyPromise;
    await eventually(() => expect(parseEvents(reply.text())).toHaveLength(1));
    const lastSeen = parseEvents(reply.text())[0]!.id!;
    reply.drop();
    await eventually(() => expect(h.transport.openStreams).toBe(0));

    await h.transport.send(progress(2), { relatedRequestId: 4 });
    await h.transport.send(result(4, 'done'));
    const resumed = await h.get(lastSeen);
    expect(resumed.status).toBe(200);
    expect(resumed.headers['content-type']).toBe('text/event-stream');
    expect(parseEvents(await resumed.ended)).toEqual([
      { id: 'p1.2', event: 'message', data: JSON.stringify(progress(2)) },
      { id: 'p1.3', event: 'message', data: JSON.stringify(result(4, 'done')) },
    ]);
  });
});

describe('the standalone GET stream', () => {
  it('carries messages related to no request, with event ids of stream s0', async () => {
    const h = await harness();
    const stream = await h.get();
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe('text/event-stream');
    await eventually(() => expect(stream.text()).toContain(': stream open'));
    const changed = { jsonrpc: '2.0' as const, method: 'notifications/tools/list_changed' };
    await h.transport.send(changed);
    await eventually(() => expect(parseEvents(stream.text())).toEqual([{ id: 's0.1', event: 'message', data: JSON.stringify(changed) }]));
    expect(h.transport.hasStandaloneStream).toBe(true);
  });

  it('refuses a second GET stream while one is open', async () => {
    const h = await harness();
    await h.get();
    const second = await h.get();
    expect(second.status).toBe(409);
    expect(await second.ended).toBe('This session already has an open stream of that kind. Close it before opening another.');
  });

  it('refuses a Last-Event-ID it did not issue', async () => {
    const h = await harness();
    const reply = await h.get('not-an-id');
    expect(reply.status).toBe(400);
    expect(await reply.ended).toBe('Last-Event-ID "not-an-id" was not issued by this session.');
  });

  it('replays what was sent while the client was away, after its Last-Event-ID', async () => {
    const h = await harness();
    const first = await h.get();
    const message = (n: number) => ({ jsonrpc: '2.0' as const, method: 'notifications/message', params: { level: 'info', data: `line ${n}` } });
    await h.transport.send(message(1));
    await h.transport.send(message(2));
    await eventually(() => expect(parseEvents(first.text()).map((event) => event.id)).toEqual(['s0.1', 's0.2']));
    first.drop();
    await eventually(() => expect(h.transport.hasStandaloneStream).toBe(false));
    await h.transport.send(message(3));
    await h.transport.send(message(4));

    const resumed = await h.get('s0.2');
    await eventually(() =>
      expect(parseEvents(resumed.text())).toEqual([
        { id: 's0.3', event: 'message', data: JSON.stringify(message(3)) },
        { id: 's0.4', event: 'message', data: JSON.stringify(message(4)) },
      ]),
    );
    // It is live again.
    await h.transport.send(message(5));
    await eventually(() => expect(parseEvents(resumed.text()).at(-1)?.id).toBe('s0.5'));
  });

  it('replays a fresh GET what no live stream delivered yet', async () => {
    const h = await harness();
    const queued = { jsonrpc: '2.0' as const, method: 'notifications/resources/list_changed' };
    await h.transport.send(queued);
    const stream = await h.get();
    await eventually(() => expect(parseEvents(stream.text())).toEqual([{ id: 's0.1', event: 'message', data: JSON.stringify(queued) }]));
  });

  it('replays no more than the replay buffer holds', async () => {
    const h = await harness({ replayBufferEvents: 2 });
    const first = await h.get();
    const message = (n: number) => ({ jsonrpc: '2.0' as const, method: 'notifications/message', params: { level: 'info', data: n } });
    await h.transport.send(message(1));
    await eventually(() => expect(parseEvents(first.text())).toHaveLength(1));
    first.drop();
    await eventually(() => expect(h.transport.hasStandaloneStream).toBe(false));
    for (const n of [2, 3, 4, 5]) await h.transport.send(message(n));

    const resumed = await h.get('s0.1');
    await eventually(() => expect(parseEvents(resumed.text()).map((event) => event.id)).toEqual(['s0.4', 's0.5']));
  });

  it('sends keep-alive comments on open streams', async () => {
    const h = await harness();
    const stream = await h.get();
    h.transport.keepAlive();
    await eventually(() => expect(stream.text()).toContain(': keepalive\n\n'));
    expect(parseEvents(stream.text())).toEqual([]);
  });
});

describe('legacy HTTP+SSE (2024-11-05)', () => {
  it('announces where to POST, then sends every message as an event on the one stream, without ids', async () => {
    const transport = new SessionTransport('legacy-1', 'legacy-sse', 16);
    transports.push(transport);
    const server = createServer((_req, res) => transport.attachLegacy(res, '/messages?sessionId=legacy-1'));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    let text = '';
    await new Promise<void>((resolve) => {
      httpRequest({ host: '127.0.0.1', port, path: '/sse' }, (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        resolve();
      }).end();
    });
    await eventually(() => expect(text).toBe('event: endpoint\ndata: /messages?sessionId=legacy-1\n\n'));
    await transport.send(result(1, 'hello'));
    await eventually(() => expect(text).toContain(`event: message\ndata: ${JSON.stringify(result(1, 'hello'))}\n\n`));
    expect(text).not.toContain('id:');
  });
});
