import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, startGateway, waitReady, type RunningGateway } from '../gateway/harness.js';
import { waitFor } from '../support/waitFor.js';
import { call, failure, policyFixture, text } from './productionSupport.js';

const SECRET = 'Bearer sk-live-0123456789abcdef';

describe('gateway protection, caching and observability (one process, loopback development auth)', () => {
  let gateway: RunningGateway;
  let client: Client;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'manifold-production-'));
    gateway = await startGateway(
      {
        upstreams: [policyFixture('fx')],
        limits: { rate: { perUser: 1000, writesPerUser: 1000, namespaces: { fx: { tools: { echo: 3 } } } }, maxResponseBytes: 20_000 },
        cache: { ttlMs: 600_000 },
        observability: { logArguments: true },
      },
      { env: { MANIFOLD_DATA_DIR: dataDir } },
    );
    await waitReady(gateway);
    client = await connect(gateway.url);
  });

  afterAll(async () => {
    await client?.close();
    await gateway?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const upstreamCalls = async (): Promise<{ toolReads: number; resourceReads: number }> => JSON.parse(text(await call(client, 'fx__upstream_calls')));

  it('refuses a call over its rate limit, naming the limit and when to retry, without forwarding it', async () => {
    for (let i = 0; i < 3; i++) expect(text(await call(client, 'fx__echo', { text: `hi ${i}` }))).toBe(`hi ${i}`);
    const limited = await call(client, 'fx__echo', { text: 'one too many' });
    expect(limited.isError).toBe(true);
    expect(text(limited)).toMatch(/Rate limit "tool" reached: at most 3 calls of fx__echo per user every 60 s\. Retry after \d+(\.\d)? s \(at \d{4}-/);
    const details = failure(limited);
    expect(details).toMatchObject({ code: 'rate_limited', limit: 'tool', max: 3, windowMs: 60_000 });
    expect(details.retryAfterSeconds).toBeGreaterThan(0);
    expect(details.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(Date.parse(String(details.retryAt))).toBeGreaterThan(Date.now());
    // Other tools are not limited by the echo limit.
    expect((await call(client, 'fx__big', { bytes: 10 })).isError).toBeUndefined();
  });

  it("validates arguments against the tool's input schema at the gateway, naming each field", async () => {
    const result = await call(client, 'fx__bump', { note: 5, count: 0 });
    expect(result.isError).toBe(true);
    const message = text(result);
    expect(message).toContain('Invalid arguments for fx__bump');
    expect(message).toContain('"note" must be string');
    expect(message).toContain('"count" must be >= 1');
    expect(failure(result)).toMatchObject({ code: 'invalid_input', fields: ['note', 'count'] });
    const missing = await call(client, 'fx__bump', {});
    expect(failure(missing)).toMatchObject({ code: 'invalid_input', field: 'note' });
  });

  it('refuses a response over the size limit with the sizes', async () => {
    const result = await call(client, 'fx__big', { bytes: 30_000 });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/The result of fx__big is \d+ bytes, over the gateway's response limit of 20000 bytes/);
    expect(failure(result)).toMatchObject({ code: 'too_large', maxBytes: 20_000 });
  });

  it('serves read-only idempotent results from the cache until a write or a notification invalidates them', async () => {
    const before = (await upstreamCalls()).toolReads;
    const first = await call(client, 'fx__counted_read', { key: 'k' });
    const second = await call(client, 'fx__counted_read', { key: 'k' });
    expect(text(second)).toBe(text(first));
    expect(second._meta?.['io.manifold/cache']).toMatchObject({ hit: true });
    expect((await upstreamCalls()).toolReads).toBe(before + 1);

    // Other arguments are another entry.
    await call(client, 'fx__counted_read', { key: 'other' });
    expect((await upstreamCalls()).toolReads).toBe(before + 2);

    // A write through the gateway to the same namespace invalidates.
    expect(text(await call(client, 'fx__bump', { note: 'changed' }))).toBe('noted changed');
    await call(client, 'fx__counted_read', { key: 'k' });
    expect((await upstreamCalls()).toolReads).toBe(before + 3);
    await call(client, 'fx__counted_read', { key: 'k' });
    expect((await upstreamCalls()).toolReads).toBe(before + 3);

    // notifications/resources/updated from the upstream invalidates too (announce is read-only).
    await call(client, 'fx__announce', { uri: 'fixture://counted' });
    await call(client, 'fx__counted_read', { key: 'k' });
    expect((await upstreamCalls()).toolReads).toBe(before + 4);
  });

  it('caches resource reads and drops them on list_changed from the upstream', async () => {
    const read = async () => (await client.readResource({ uri: 'fx+fixture://counted' })).contents[0] as { text: string; uri: string };
    const first = await read();
    expect(first.uri).toBe('fx+fixture://counted');
    expect((await read()).text).toBe(first.text);
    const reads = (await upstreamCalls()).resourceReads;
    await call(client, 'fx__announce', {});
    // list_changed is handled after the upstream re-lists: wait for it, never for a fixed time.
    await waitFor('resource cache invalidation', async () => (await read()).text !== first.text, 10_000);
    expect((await upstreamCalls()).resourceReads).toBeGreaterThan(reads);
  });

  it('exports Prometheus metrics with labels per upstream and tool', async () => {
    const response = await fetch(`${gateway.base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const body = await response.text();
    expect(body).toContain('manifold_tool_calls_total{upstream="fx",tool="fx__echo",outcome="ok"} 3');
    expect(body).toContain('manifold_rate_limit_refusals_total{upstream="fx",tool="fx__echo",limit="tool"} 1');
    expect(body).toContain('manifold_tool_call_errors_total{upstream="fx",tool="fx__bump",code="invalid_input"} 2');
    expect(body).toContain('manifold_tool_call_errors_total{upstream="fx",tool="fx__big",code="too_large"} 1');
    expect(body).toMatch(/manifold_tool_call_duration_seconds_bucket\{le="[^"]+",upstream="fx",tool="fx__echo"\} \d+/);
    expect(body).toMatch(/manifold_cache_lookups_total\{kind="tool",upstream="fx",result="hit"\} [1-9]/);
    expect(body).toMatch(/manifold_cache_lookups_total\{kind="resource",upstream="fx",result="miss"\} [1-9]/);
    expect(body).toContain('manifold_upstream_restarts_total{upstream="fx"} 0');
    expect(body).toContain('manifold_upstream_up{upstream="fx",state="ready"} 1');
    expect(body).toMatch(/manifold_sessions [1-9]/);
  });

  it('writes one structured log line per call, with secrets redacted', async () => {
    await call(client, 'fx__bump', { note: 'with a credential', authorization: SECRET });
    const line = await waitFor('call log line', () => gateway.logs.find((l) => l.msg === 'tool call' && JSON.stringify(l).includes('with a credential')), 5000);
    const record = line.call as Record<string, unknown>;
    expect(record).toMatchObject({ method: 'tools/call', user: 'local-dev', name: 'fx__bump', upstream: 'fx', outcome: 'ok', write: true });
    expect(typeof record.session).toBe('string');
    expect(typeof record.time).toBe('string');
    expect(record.durationMs).toBeGreaterThanOrEqual(0);
    expect(record.requestBytes).toBeGreaterThan(0);
    expect(record.responseBytes).toBeGreaterThan(0);
    expect((line.arguments as Record<string, unknown>).authorization).toBe('[redacted]');
    expect(JSON.stringify(gateway.logs)).not.toContain('sk-live-0123456789abcdef');
    const refused = gateway.logs.find((l) => l.msg === 'tool call' && (l.call as { outcome?: string }).outcome === 'rate_limited');
    expect(refused).toBeDefined();
  });

  it('appends every write, and only writes, to the audit log with arguments redacted', async () => {
    const file = join(dataDir, 'audit', 'tool-writes.jsonl');
    const entries = await waitFor(
      'audit lines',
      () => {
        const lines = readFileSync(file, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        return lines.some((e) => JSON.stringify(e).includes('with a credential')) ? lines : undefined;
      },
      5000,
    );
    expect(entries.length).toBeGreaterThanOrEqual(4);
    // Writes are the tools not annotated read-only (echo is unannotated, so it counts as one).
    const audited = new Set(entries.map((e) => e.tool));
    expect(audited.has('fx__bump')).toBe(true);
    for (const readOnly of ['fx__counted_read', 'fx__upstream_calls', 'fx__announce', 'fx__big']) expect(audited.has(readOnly)).toBe(false);
    const outcomes = entries.map((e) => e.outcome);
    expect(outcomes).toContain('ok');
    expect(outcomes).toContain('invalid_input');
    const credentialed = entries.find((e) => JSON.stringify(e).includes('with a credential'))!;
    expect(credentialed).toMatchObject({
      user: 'local-dev',
      upstream: 'fx',
      upstreamTool: 'bump',
      arguments: { note: 'with a credential', authorization: '[redacted]' },
    });
    expect(readFileSync(file, 'utf8')).not.toContain('sk-live');
  });
});
