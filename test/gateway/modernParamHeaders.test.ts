/**
 * SEP-2243 `Mcp-Param-*` headers on the way to a remote 2026-07-28 upstream. The conformance
 * fixture (over Streamable HTTP, SDK v2) has `test_custom_header_tool`, whose `region`
 * argument is declared `x-mcp-header: Region`: its SDK refuses a call without a matching
 * `Mcp-Param-Region` header. A recording proxy in front of it shows what the gateway sent.
 *
 * - A 2026-07-28 client's call carries the declared header (made by the gateway from the
 *   arguments) and the `Mcp-Param-*` headers the tool does not declare, as the client sent them.
 * - A 2025-11-25 client sends no such header; the gateway still sends the upstream what it
 *   requires, Base64-wrapped when the value is not plain ASCII.
 * - A header that disagrees with the body is refused at the gateway, and nothing is forwarded.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE } from '../conformance/fixtureScenarios.js';
import { postModern } from '../support/modernWire.js';
import { startHttpServer, type HttpServerProcess } from '../support/processes.js';
import { connect, startGateway, waitReady, type RunningGateway } from './harness.js';

const TOOL = 'cf__test_custom_header_tool';

/** A loopback proxy that records the headers of every tools/call it passes to `target`. */
async function recordingProxy(
  target: string,
): Promise<{ url: string; toolCalls: Array<{ name: string; headers: IncomingHttpHeaders }>; close: () => Promise<void> }> {
  const upstream = new URL(target);
  const toolCalls: Array<{ name: string; headers: IncomingHttpHeaders }> = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      try {
        const message = JSON.parse(body.toString('utf8')) as { method?: string; params?: { name?: string } };
        if (message.method === 'tools/call') toolCalls.push({ name: String(message.params?.name), headers: req.headers });
      } catch {
        // not JSON (GET, DELETE): passed on as it is
      }
      const forwarded = httpRequest(
        { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { ...req.headers, host: upstream.host } },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forwarded.on('error', () => res.destroy());
      forwarded.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${upstream.pathname}`,
    toolCalls,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

let fixture: HttpServerProcess;
let proxy: Awaited<ReturnType<typeof recordingProxy>>;
let gateway: RunningGateway;

beforeAll(async () => {
  fixture = await startHttpServer(FIXTURE, {});
  proxy = await recordingProxy(fixture.url);
  gateway = await startGateway({ upstreams: [{ namespace: 'cf', remote: { url: proxy.url, transport: 'streamable-http' } }] });
  await waitReady(gateway);
});

afterAll(async () => {
  await gateway?.stop();
  await proxy?.close();
  await fixture?.stop();
});

function textOf(result: { content?: unknown }): string {
  return ((result.content ?? []) as Array<{ text?: string }>).map((block) => block.text ?? '').join('');
}

describe('Mcp-Param-* headers to a remote 2026-07-28 upstream', () => {
  it("sends a 2026 client's call with the declared header and the undeclared ones it sent", async () => {
    const before = proxy.toolCalls.length;
    const answer = await postModern(
      gateway.url,
      'tools/call',
      { name: TOOL, arguments: { region: 'eu-west-1' } },
      {
        headers: { 'Mcp-Param-Region': 'eu-west-1', 'Mcp-Param-Tenant': 'acme' },
      },
    );
    expect(answer.message.error, JSON.stringify(answer.message.error)).toBeUndefined();
    expect(textOf(answer.message.result!)).toBe('Region: eu-west-1');
    const sent = proxy.toolCalls.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.name).toBe('test_custom_header_tool');
    expect(sent[0]!.headers['mcp-param-region']).toBe('eu-west-1');
    expect(sent[0]!.headers['mcp-param-tenant']).toBe('acme');
    // The upstream's own name, as the routing headers must say.
    expect(sent[0]!.headers['mcp-name']).toBe('test_custom_header_tool');
  });

  it('makes the header a 2025 client cannot send, Base64-wrapped when the value is not plain ASCII', async () => {
    const client = await connect(gateway.url);
    try {
      const before = proxy.toolCalls.length;
      const plain = (await client.callTool({ name: TOOL, arguments: { region: 'us-east-2' } })) as CallToolResult;
      expect(plain.isError, textOf(plain)).toBeFalsy();
      expect(textOf(plain)).toBe('Region: us-east-2');
      const accented = (await client.callTool({ name: TOOL, arguments: { region: 'Zürich' } })) as CallToolResult;
      expect(accented.isError, textOf(accented)).toBeFalsy();
      expect(textOf(accented)).toBe('Region: Zürich');
      const sent = proxy.toolCalls.slice(before).map((call) => call.headers['mcp-param-region']);
      expect(sent).toEqual(['us-east-2', `=?base64?${Buffer.from('Zürich').toString('base64')}?=`]);
    } finally {
      await client.close();
    }
  });

  it('refuses a header that disagrees with the body, and forwards nothing', async () => {
    const before = proxy.toolCalls.length;
    const answer = await postModern(
      gateway.url,
      'tools/call',
      { name: TOOL, arguments: { region: 'eu-west-1' } },
      { headers: { 'Mcp-Param-Region': 'ap-south-1' } },
    );
    expect(answer.status).toBe(400);
    expect(answer.message.error?.code).toBe(-32020);
    expect(answer.message.error?.message).toMatch(/Mcp-Param-Region/);
    expect(proxy.toolCalls.length).toBe(before);
  });
});
