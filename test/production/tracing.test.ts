import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, domainUpstreams, startGateway, waitReady } from '../gateway/harness.js';
import { waitFor } from '../support/waitFor.js';

/** A span as the OTLP/HTTP JSON encoding carries it, with its resource's service name. */
interface ExportedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  status?: { code?: number };
  attributes: Record<string, unknown>;
}

interface OtlpAttribute {
  key: string;
  value: Record<string, unknown>;
}

function attributeMap(attributes: OtlpAttribute[] | undefined): Record<string, unknown> {
  return Object.fromEntries((attributes ?? []).map(({ key, value }) => [key, Object.values(value)[0]]));
}

/** A tiny OTLP/HTTP collector: `POST /v1/traces` with a JSON body. */
async function startCollector(): Promise<{ url: string; spans: ExportedSpan[]; requests: number; close(): Promise<void> }> {
  const state = { spans: [] as ExportedSpan[], requests: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      state.requests++;
      if (req.method !== 'POST' || req.url !== '/v1/traces') return void res.writeHead(404).end();
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      const payload = JSON.parse(body.toString('utf8')) as {
        resourceSpans?: Array<{
          resource?: { attributes?: OtlpAttribute[] };
          scopeSpans?: Array<{ spans?: Array<Omit<ExportedSpan, 'service' | 'attributes'> & { attributes?: OtlpAttribute[] }> }>;
        }>;
      };
      for (const resourceSpans of payload.resourceSpans ?? []) {
        const service = String(attributeMap(resourceSpans.resource?.attributes)['service.name']);
        for (const scope of resourceSpans.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) state.spans.push({ ...span, service, attributes: attributeMap(span.attributes) });
        }
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans: state.spans,
    get requests() {
      return state.requests;
    },
    close: () => new Promise<void>((resolveClose) => server.close(() => resolveClose())),
  };
}

describe('OpenTelemetry traces across the gateway and a child server', () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  const dirs: string[] = [];
  const pmOnly = () => {
    const dir = mkdtempSync(join(tmpdir(), 'manifold-tracing-'));
    dirs.push(dir);
    return domainUpstreams(dir).filter((upstream) => upstream.namespace === 'pm');
  };

  beforeAll(async () => {
    collector = await startCollector();
  });

  afterAll(async () => {
    await collector?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('exports a gateway span and the child span under it, in one trace, with the trace context passed in _meta', async () => {
    const gateway = await startGateway(
      { upstreams: pmOnly(), observability: { tracing: { enabled: true, otlpEndpoint: collector.url } } },
      // Short batching so spans arrive while the test waits (children inherit OTEL_* from the gateway).
      { env: { OTEL_BSP_SCHEDULE_DELAY: '50' } },
    );
    try {
      await waitReady(gateway);
      const client = await connect(gateway.url);
      const result = (await client.callTool({ name: 'pm__create_project', arguments: { key: 'trace', name: 'Traced' } })) as CallToolResult;
      expect(result.isError).toBeFalsy();
      // A client's own traceparent makes the gateway span its child.
      const clientTraceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const clientSpanId = '00f067aa0ba902b7';
      const failed = (await client.callTool({
        name: 'pm__get_task_details',
        arguments: { id: 'T-999999' },
        _meta: { traceparent: `00-${clientTraceId}-${clientSpanId}-01` },
      })) as CallToolResult;
      expect(failed.isError).toBe(true);
      await client.close();

      const pair = (tool: string) => {
        const gatewaySpan = collector.spans.find((span) => span.service === 'manifold-gateway' && span.attributes['gen_ai.tool.name'] === `pm__${tool}`);
        const childSpan =
          gatewaySpan && collector.spans.find((span) => span.service === 'manifold-project-management' && span.parentSpanId === gatewaySpan.spanId);
        return gatewaySpan && childSpan ? { gatewaySpan, childSpan } : undefined;
      };
      const created = await waitFor('gateway and child spans of pm__create_project', () => pair('create_project'), 15_000);
      expect(created.childSpan.traceId).toBe(created.gatewaySpan.traceId);
      expect(created.childSpan.parentSpanId).toBe(created.gatewaySpan.spanId);
      expect(created.gatewaySpan.parentSpanId ?? '').toBe('');
      expect(created.gatewaySpan.name).toBe('tools/call pm__create_project');
      expect(created.gatewaySpan.attributes).toMatchObject({
        'mcp.method.name': 'tools/call',
        'manifold.upstream': 'pm',
        'manifold.upstream.tool': 'create_project',
        'enduser.id': expect.any(String),
        'mcp.session.id': expect.any(String),
        'manifold.outcome': 'ok',
      });
      expect(created.childSpan.name).toBe('tools/call create_project');
      expect(created.childSpan.attributes).toMatchObject({ 'gen_ai.tool.name': 'create_project', 'manifold.outcome': 'ok' });
      expect(created.gatewaySpan.status?.code ?? 0).not.toBe(2);

      const failedPair = await waitFor('gateway and child spans of pm__get_task_details', () => pair('get_task_details'), 15_000);
      expect(failedPair.gatewaySpan.traceId).toBe(clientTraceId);
      expect(failedPair.gatewaySpan.parentSpanId).toBe(clientSpanId);
      expect(failedPair.childSpan.traceId).toBe(clientTraceId);
      expect(failedPair.gatewaySpan.attributes['manifold.outcome']).toBe('not_found');
      expect(failedPair.gatewaySpan.status?.code).toBe(2); // STATUS_CODE_ERROR
      expect(failedPair.childSpan.status?.code).toBe(2);
    } finally {
      await gateway.stop();
    }
  });

  it('exports nothing with tracing off (the default), even with an OTLP endpoint in the environment', async () => {
    const before = collector.requests;
    const gateway = await startGateway(
      { upstreams: pmOnly() },
      { env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_BSP_SCHEDULE_DELAY: '50', MANIFOLD_TRACING: '' } },
    );
    try {
      await waitReady(gateway);
      const client = await connect(gateway.url);
      const result = (await client.callTool({ name: 'pm__list_projects', arguments: {} })) as CallToolResult;
      expect(result.isError).toBeFalsy();
      await client.close();
    } finally {
      // Shutdown flushes whatever a tracer would have buffered.
      await gateway.stop();
    }
    expect(gateway.logs.some((line) => line.msg === 'exporting OpenTelemetry traces')).toBe(false);
    expect(collector.requests).toBe(before);
  });
});
