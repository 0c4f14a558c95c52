/**
 * The baseline for the gateway's 2026-07-28 path: an `echo` tool served the way the SDK's v2
 * line documents for HTTP, `createMcpHandler` (a server instance per request) wrapped with
 * `toNodeHandler` on node:http, JSON answers. It prints its URL as a JSON line on stderr.
 *
 * Run: node dist/test/bench/echoV2Server.js [port]
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';

const echoInput = z.object({ text: z.string() });

const handler = createMcpHandler(
  () => {
    const server = new McpServer({ name: 'echo-v2', version: '1.0.0' });
    server.registerTool('echo', { description: 'Echo the text back.', inputSchema: echoInput }, ({ text }) => ({ content: [{ type: 'text', text }] }));
    return server;
  },
  { legacy: 'reject', responseMode: 'json' },
);
const serve = toNodeHandler(handler);
const httpServer = createServer((req, res) => void serve(req, res));
httpServer.listen(Number(process.argv[2] ?? '0'), '127.0.0.1', () => {
  const { port } = httpServer.address() as AddressInfo;
  process.stderr.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}/mcp` })}\n`);
});
process.once('SIGTERM', () => process.exit(0));
