/**
 * Slow senders (slowloris): a connection that trickles a request's headers or body is closed
 * once http.headersTimeoutMs / http.requestTimeoutMs pass, while answers themselves are not
 * bounded (a long call's answer, an idle keep-alive connection reused later).
 */
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postModern } from '../support/modernWire.js';
import { fixtureUpstream, startGateway, waitReady, type RunningGateway } from '../gateway/harness.js';

const HEADERS_MS = 1000;
const REQUEST_MS = 2000;

/** Write `head`, then `trickle` one byte every 250 ms; resolves with how long the server kept the connection open. */
function trickle(url: URL, head: string, trickled: string): Promise<{ openMs: number; answer: string }> {
  return new Promise((resolve) => {
    const socket: Socket = connect(Number(url.port), url.hostname);
    const started = Date.now();
    let answer = '';
    let index = 0;
    const timer = setInterval(() => {
      if (index < trickled.length && !socket.destroyed) socket.write(trickled[index++]!);
    }, 250);
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ openMs: Date.now() - started, answer });
    });
    socket.on('error', () => undefined);
    socket.write(head);
  });
}

describe('slow clients', () => {
  let gateway: RunningGateway;

  beforeAll(async () => {
    gateway = await startGateway({ http: { headersTimeoutMs: HEADERS_MS, requestTimeoutMs: REQUEST_MS }, upstreams: [fixtureUpstream('fx')] });
    await waitReady(gateway);
  });

  afterAll(async () => {
    await gateway?.stop();
  });

  it('closes a connection that sends its headers a byte at a time', async () => {
    const url = new URL(gateway.url);
    const { openMs, answer } = await trickle(url, `POST /mcp HTTP/1.1\r\nHost: ${url.host}\r\n`, 'X-Slow: ' + 'a'.repeat(200));
    expect(openMs).toBeGreaterThanOrEqual(HEADERS_MS - 100);
    expect(openMs).toBeLessThan(HEADERS_MS + 3000);
    expect(answer).toMatch(/^HTTP\/1\.1 408|^$/);
  });

  it('closes a connection that sends its body a byte at a time', async () => {
    const url = new URL(gateway.url);
    const head = `POST /mcp HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n`;
    const { openMs } = await trickle(url, head, '{'.padEnd(200, ' '));
    expect(openMs).toBeGreaterThanOrEqual(REQUEST_MS - 100);
    expect(openMs).toBeLessThan(REQUEST_MS + 3000);
  });

  it('does not bound answers: a call longer than the request timeout is answered', async () => {
    const answer = await postModern(gateway.url, 'tools/call', { name: 'fx__slow', arguments: { ms: REQUEST_MS + 1000 } });
    expect(answer.message.result?.content).toEqual([{ type: 'text', text: `slept ${REQUEST_MS + 1000}` }]);
  });

  it('reuses an idle keep-alive connection after longer than the header timeout', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = (): Promise<{ status: number; socket: unknown }> =>
      new Promise((resolve, reject) => {
        const req = request(`${gateway.direct}/healthz`, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, socket: req.socket }));
        });
        req.on('error', reject);
        req.end();
      });
    const first = await get();
    await new Promise((resolve) => setTimeout(resolve, HEADERS_MS * 2.5));
    const second = await get();
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.socket).toBe(first.socket);
    agent.destroy();
  });
});
