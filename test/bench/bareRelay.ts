/**
 * The floor of the benchmark: a bare node:http server that relays each `tools/call` body to a
 * stdio child as one line and answers with the child's line — no MCP session, no protocol
 * layer, no auth, no policies. Any gateway that keeps its servers in child processes pays at
 * least this; the gap between it and Manifold is what Manifold's own layers cost.
 *
 * Run: node dist/test/bench/bareRelay.js <child.js>   (logs {"url": …} on stderr when listening)
 */
import { spawn } from 'node:child_process';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';

const childScript = process.argv[2];
if (!childScript) throw new Error('usage: bareRelay.js <child.js>');
const child = spawn(process.execPath, [childScript], { stdio: ['pipe', 'pipe', 'ignore'] });
const waiting = new Map<number, (line: string) => void>();
let nextId = 0;
createInterface({ input: child.stdout }).on('line', (line) => {
  const id = Number(/"id":(\d+)/.exec(line)?.[1]);
  const resolveLine = waiting.get(id);
  if (!resolveLine) return;
  waiting.delete(id);
  resolveLine(line);
});

function callChild(message: Record<string, unknown>): Promise<string> {
  const id = ++nextId;
  return new Promise((resolveLine) => {
    waiting.set(id, resolveLine);
    child.stdin.write(`${JSON.stringify({ ...message, jsonrpc: '2.0', id })}\n`);
  });
}

await callChild({ method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bare-relay', version: '1' } } });
child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);

function reply(res: ServerResponse, status: number, message: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(message);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers }).end(body);
}

const server = createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => (body += chunk));
  req.on('end', () => {
    const message = JSON.parse(body) as { id?: number | string; method: string; params?: Record<string, unknown> };
    if (message.id === undefined) {
      res.writeHead(202).end();
      return;
    }
    if (message.method === 'initialize') {
      const result = { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'bare-relay', version: '1' } };
      reply(res, 200, { jsonrpc: '2.0', id: message.id, result }, { 'mcp-session-id': 'relay' });
      return;
    }
    // The client's own names and ids are kept; only the child's id space is the relay's.
    const name = String(message.params?.name ?? '').replace(/^fx__/, '');
    void callChild({ method: message.method, params: { ...message.params, name } }).then((line) => {
      const answer = JSON.parse(line) as Record<string, unknown>;
      reply(res, 200, { ...answer, id: message.id });
    });
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stderr.write(`${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp` })}\n`);
});
process.once('SIGTERM', () => {
  child.kill();
  server.close();
});
