import { request } from 'node:http';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  CallToolResultSchema,
  ResourceUpdatedNotificationSchema,
  LoggingMessageNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, everythingUpstream, fixtureUpstream, readiness, startGateway, textOf, waitReady, type RunningGateway } from './harness.js';
import { waitFor } from '../support/waitFor.js';

let gateway: RunningGateway;
const clients: Client[] = [];

async function client(options: Parameters<typeof connect>[1] = {}, url = gateway.url): Promise<Client> {
  const c = await connect(url, options);
  clients.push(c);
  return c;
}

beforeAll(async () => {
  gateway = await startGateway({
    http: { pageSize: 10 },
    upstreams: [
      fixtureUpstream('fx', {}, { FIXTURE_RESOURCES: '25' }),
      // One connection for every call (no pooled connections when calls overlap): the attribution rules alone.
      fixtureUpstream('fy', { tools: { deny: ['crash', 'hang'] }, isolation: 'shared' }, { FIXTURE_EXTRA_TOOLS: '30', FIXTURE_LONG_TOOL: '1' }),
      everythingUpstream(),
    ],
  });
  await waitReady(gateway);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await gateway?.stop();
});

async function allTools(c: Client): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await c.listTools(cursor ? { cursor } : {});
    pages++;
    expect(page.tools.length).toBeLessThanOrEqual(10);
    names.push(...page.tools.map((t) => t.name));
    cursor = page.nextCursor;
  } while (cursor);
  expect(pages).toBeGreaterThan(3);
  return names;
}

describe('aggregation and naming', () => {
  it('exposes namespaced tools across pages, applies deny lists, and reports over-long names', async () => {
    const c = await client();
    const names = await allTools(c);
    expect(names).toContain('fx__echo');
    expect(names).toContain('fy__tool_029');
    expect(names).toContain('everything__echo');
    expect(names).not.toContain('fy__crash');
    expect(names).not.toContain('fy__hang');
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
    const state = await readiness(gateway);
    expect(state.catalogProblems.join('\n')).toMatch(
      /"a_tool_name_that_is_far_too_long.*" of upstream "fy" is not exposed: its gateway name .* is \d+ characters long/,
    );
    expect(gateway.logs.some((l) => typeof l.msg === 'string' && l.msg.includes('catalog: tool "a_tool_name_that_is_far_too_long'))).toBe(true);
  });

  it('routes calls to the owner and attaches the caller _meta', async () => {
    const c = await client();
    expect(textOf(await c.callTool({ name: 'fx__echo', arguments: { text: 'hi fx' } }))).toBe('hi fx');
    expect(textOf(await c.callTool({ name: 'everything__echo', arguments: { message: 'hi ev' } }))).toContain('hi ev');
    const who = JSON.parse(textOf(await c.callTool({ name: 'fy__whoami', arguments: {} }))) as {
      caller: { user: string; session: string; scopes: string[] };
      meta: Record<string, unknown>;
    };
    expect(who.caller.user).toBe('local-dev');
    expect(who.caller.session).toMatch(/[0-9a-f-]{36}/);
    expect(typeof who.meta['io.manifold/call']).toBe('string');
  });

  it('refuses a caller identity forged in _meta by the client', async () => {
    const c = await client();
    const result = await c.callTool({
      name: 'fx__whoami',
      arguments: {},
      _meta: { 'io.manifold/caller': { user: 'mallory', scopes: ['admin'] }, 'io.manifold/call': 'c1' },
    });
    const who = JSON.parse(textOf(result)) as { caller: { user: string } };
    expect(who.caller.user).toBe('local-dev');
  });

  it('answers an unknown tool with a clear protocol error, a denied one likewise', async () => {
    const c = await client();
    await expect(c.callTool({ name: 'nope__echo', arguments: {} })).rejects.toThrow(/Unknown tool "nope__echo"/);
    await expect(c.callTool({ name: 'fy__crash', arguments: {} })).rejects.toThrow(/Unknown tool/);
  });

  it('answers malformed tools/call params with InvalidParams saying what to fix', async () => {
    const c = await client();
    await expect(c.request({ method: 'tools/call', params: { arguments: {} } } as never, CallToolResultSchema)).rejects.toMatchObject({
      code: -32602,
      message: expect.stringMatching(/Invalid tools\/call request: params\.name must be the name of a tool/),
    });
    await expect(c.request({ method: 'tools/call', params: { name: 'fx__echo', arguments: ['hi'] } } as never, CallToolResultSchema)).rejects.toMatchObject({
      code: -32602,
      message: expect.stringMatching(/params\.arguments must be an object of named arguments/),
    });
    expect(textOf(await c.callTool({ name: 'fx__echo', arguments: { text: 'after' } }))).toBe('after');
  });

  it('answers a tools/call the fast path leaves to the SDK (related-task metadata) with the same handler', async () => {
    const c = await client();
    const viaSdk = await c.request(
      {
        method: 'tools/call',
        params: { name: 'fx__echo', arguments: { text: 'via the SDK' }, _meta: { 'io.modelcontextprotocol/related-task': { taskId: 't-1' } } },
      },
      CallToolResultSchema,
    );
    expect(textOf(viaSdk)).toBe('via the SDK');
    await expect(
      c.request(
        { method: 'tools/call', params: { arguments: {}, _meta: { 'io.modelcontextprotocol/related-task': { taskId: 't-2' } } } } as never,
        CallToolResultSchema,
      ),
    ).rejects.toMatchObject({ code: -32602, message: expect.stringMatching(/params\.name must be the name of a tool/) });
  });

  it('turns a malformed upstream result into a tool error that names the upstream', async () => {
    const c = await client();
    const result = await c.callTool({ name: 'fx__malformed', arguments: {} });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/Upstream "fx" answered fx__malformed with a malformed result: content\[0\] has no "type"/);
    expect(textOf(await c.callTool({ name: 'fx__echo', arguments: { text: 'still served' } }))).toBe('still served');
  });

  it('namespaces resources reversibly, paginates them, and reads through the owner', async () => {
    const c = await client();
    const uris: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await c.listResources(cursor ? { cursor } : {});
      uris.push(...page.resources.map((r) => r.uri));
      cursor = page.nextCursor;
    } while (cursor);
    expect(uris).toContain('fx+fixture://items/24');
    expect(uris).toContain('fy+fixture://items/2');
    expect(uris.some((u) => u.startsWith('everything+demo://'))).toBe(true);
    const read = await c.readResource({ uri: 'fx+fixture://items/7' });
    expect(read.contents[0]).toMatchObject({ uri: 'fx+fixture://items/7', text: 'item 7 of fx' });
    const templates = await c.listResourceTemplates();
    expect(templates.resourceTemplates.map((t) => t.uriTemplate)).toContain('fx+fixture://items/{n}');
    const viaTemplate = await c.readResource({ uri: 'fy+fixture://items/99' });
    expect(viaTemplate.contents[0]).toMatchObject({ text: 'item 99 of fy' });
    await expect(c.readResource({ uri: 'fixture://items/1' })).rejects.toThrow(/start with "<namespace>\+"/);
    const link = await c.callTool({ name: 'fx__link', arguments: {} });
    expect((link.content as Array<{ uri?: string }>)[0]?.uri).toBe('fx+fixture://items/1');
  });

  it('routes prompts and completions', async () => {
    const c = await client();
    const prompts = await c.listPrompts();
    expect(prompts.prompts.map((p) => p.name)).toContain('fx__greet');
    const got = await c.getPrompt({ name: 'fy__greet', arguments: { who: 'Ada' } });
    expect(got.messages[0]?.content).toMatchObject({ type: 'text', text: 'Hello Ada from fy' });
    const completion = await c.complete({
      ref: { type: 'ref/resource', uri: 'everything+demo://resource/dynamic/text/{resourceId}' },
      argument: { name: 'resourceId', value: '3' },
    });
    expect(completion.completion.values).toContain('3');
  });

  it('serves one upstream alone at /servers/{namespace}/mcp with its own names', async () => {
    const c = await client({}, `${gateway.base}/servers/fx/mcp`);
    const tools = await c.listTools();
    expect(tools.tools.map((t) => t.name)).toContain('echo');
    expect(tools.tools.map((t) => t.name)).not.toContain('fx__echo');
    expect(textOf(await c.callTool({ name: 'echo', arguments: { text: 'alone' } }))).toBe('alone');
    const read = await c.readResource({ uri: 'fixture://items/2' });
    expect(read.contents[0]).toMatchObject({ uri: 'fixture://items/2', text: 'item 2 of fx' });
    const missing = await fetch(`${gateway.base}/servers/nope/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: '{}',
    });
    expect(missing.status).toBe(404);
  });
});

describe('notifications and server→client requests', () => {
  it('delivers progress notifications with the client token', async () => {
    const c = await client();
    const seen: number[] = [];
    const result = await c.callTool({ name: 'fx__progress', arguments: { steps: 4 } }, undefined, { onprogress: (p) => seen.push(p.progress) });
    expect(textOf(result)).toBe('done 4');
    expect(seen).toEqual([1, 2, 3, 4]);
  });

  it('delivers resources/updated only to the subscribed session', async () => {
    const subscriber = await client();
    const bystander = await client();
    const updates: string[] = [];
    const strays: string[] = [];
    subscriber.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
    bystander.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void strays.push(n.params.uri));
    await subscriber.subscribeResource({ uri: 'fx+fixture://items/5' });
    // The bystander triggers the update: it must still not receive it.
    expect(textOf(await bystander.callTool({ name: 'fx__touch', arguments: { uri: 'fixture://items/5' } }))).toBe('notified subscribers');
    await waitFor('resources/updated', () => updates.length > 0, 10_000);
    expect(updates).toEqual(['fx+fixture://items/5']);
    // A marker notification proves the bystander's stream is live and would have had it by now.
    await bystander.setLoggingLevel('debug');
    const marks: string[] = [];
    bystander.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void marks.push(String(n.params.data)));
    await bystander.callTool({ name: 'fx__log', arguments: { level: 'info', message: 'marker' } });
    await waitFor('marker log message', () => marks.includes('marker'), 10_000);
    expect(strays).toEqual([]);
    await subscriber.unsubscribeResource({ uri: 'fx+fixture://items/5' });
    expect(textOf(await bystander.callTool({ name: 'fx__touch', arguments: { uri: 'fixture://items/5' } }))).toBe('nobody subscribed');
  });

  it("forwards upstream log messages at each session's level", async () => {
    const verbose = await client();
    const quiet = await client();
    const verboseSeen: string[] = [];
    const quietSeen: string[] = [];
    verbose.setNotificationHandler(
      LoggingMessageNotificationSchema,
      (n) => void verboseSeen.push(`${n.params.level}:${String(n.params.data)}:${n.params.logger}`),
    );
    quiet.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void quietSeen.push(`${n.params.level}:${String(n.params.data)}`));
    await verbose.setLoggingLevel('debug');
    await quiet.setLoggingLevel('error');
    await verbose.callTool({ name: 'fx__log', arguments: { level: 'info', message: 'info-1' } });
    await verbose.callTool({ name: 'fx__log', arguments: { level: 'error', message: 'error-1' } });
    await waitFor('log messages', () => verboseSeen.includes('error:error-1:fx/fixture') && quietSeen.includes('error:error-1'), 10_000);
    expect(verboseSeen).toContain('info:info-1:fx/fixture');
    expect(quietSeen).not.toContain('info:info-1');
  });

  it('forwards list_changed after an upstream adds a tool', async () => {
    const c = await client();
    let changed = 0;
    c.setNotificationHandler(ToolListChangedNotificationSchema, () => void changed++);
    await c.callTool({ name: 'fy__add_tool', arguments: { name: 'added_later' } });
    await waitFor('tools/list_changed', () => changed > 0, 10_000);
    const names = await allTools(c);
    expect(names).toContain('fy__added_later');
    expect(textOf(await c.callTool({ name: 'fy__added_later', arguments: {} }))).toBe('I am added_later');
  });

  it('sends sampling to the right one of two concurrent sessions sharing one child', async () => {
    const alice = await client({ name: 'alice', onSampling: (prompt) => `alice answers ${prompt}` });
    const bob = await client({
      name: 'bob',
      onSampling: async (prompt) => {
        await new Promise((r) => setTimeout(r, 20));
        return `bob answers ${prompt}`;
      },
    });
    const rounds = await Promise.all(
      Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? alice : bob).callTool({ name: 'fx__ask_llm', arguments: { prompt: `q${i}` } }).then((r) => textOf(r))),
    );
    rounds.forEach((text, i) => expect(text).toBe(`sampled: ${i % 2 === 0 ? 'alice' : 'bob'} answers q${i}`));
  });

  it('attributes a non-echoing request to the only call in flight, and on a shared connection refuses when ambiguous', async () => {
    const carol = await client({ name: 'carol', onSampling: (prompt) => `carol answers ${prompt}` });
    expect(textOf(await carol.callTool({ name: 'fy__ask_llm', arguments: { prompt: 'solo', echoMeta: false } }))).toBe('sampled: carol answers solo');
    // A third-party server (server-everything) does not echo the _meta: one call at a time is exact.
    const ev = await carol.callTool({ name: 'everything__trigger-sampling-request', arguments: { prompt: 'from everything' } });
    expect(textOf(ev)).toContain('carol answers');
    // Two non-echoing calls in flight to the same child: the gateway refuses rather than guess.
    const dave = await client({
      name: 'dave',
      onSampling: async (prompt) => {
        await new Promise((r) => setTimeout(r, 300));
        return `dave answers ${prompt}`;
      },
    });
    const slow = dave.callTool({ name: 'fy__slow', arguments: { ms: 1500 } });
    await new Promise((r) => setTimeout(r, 200));
    const ambiguous = await carol.callTool({ name: 'fy__ask_llm', arguments: { prompt: 'which?', echoMeta: false } });
    expect(ambiguous.isError).toBe(true);
    expect(textOf(ambiguous)).toMatch(/cannot tell which client session/);
    expect(textOf(ambiguous)).toContain('set "isolation": "per-user" on upstream "fy"');
    await slow;
  });

  it('maps a client cancellation through to the upstream', async () => {
    const c = await client();
    const controller = new AbortController();
    const call = c.callTool({ name: 'fx__slow', arguments: { ms: 20_000 } }, undefined, { signal: controller.signal });
    await waitFor('call in flight', async () => (await readiness(gateway)).upstreams.find((u) => u.namespace === 'fx')!.inFlight === 1, 5000);
    controller.abort('user gave up');
    await expect(call).rejects.toThrow();
    await waitFor('upstream call cancelled', async () => (await readiness(gateway)).upstreams.find((u) => u.namespace === 'fx')!.inFlight === 0, 5000);
    expect(textOf(await c.callTool({ name: 'fx__echo', arguments: { text: 'after cancel' } }))).toBe('after cancel');
  });

  it('sends elicitation from server-everything to the calling session', async () => {
    const erin = await client({ name: 'erin', onElicit: () => ({ name: 'Erin', check: true }) });
    const result = await erin.callTool({ name: 'everything__trigger-elicitation-request', arguments: {} });
    expect(textOf(result)).toContain('Erin');
  });
});

describe('transport', () => {
  it('serves 50 concurrent sessions', async () => {
    const many = await Promise.all(Array.from({ length: 50 }, (_, i) => client({ name: `many-${i}` })));
    const answers = await Promise.all(
      many.map((c, i) => c.callTool({ name: i % 2 ? 'fx__echo' : 'fy__echo', arguments: { text: `n${i}` } }).then((r) => textOf(r))),
    );
    answers.forEach((text, i) => expect(text).toBe(`n${i}`));
    await Promise.all(many.map((c) => c.close()));
  });

  it('supports legacy HTTP+SSE clients', async () => {
    const c = await client({ legacy: true }, `${gateway.base}/sse`);
    expect(textOf(await c.callTool({ name: 'fx__echo', arguments: { text: 'old client' } }))).toBe('old client');
    const single = await client({ legacy: true }, `${gateway.base}/servers/fy/sse`);
    expect(textOf(await single.callTool({ name: 'echo', arguments: { text: 'old single' } }))).toBe('old single');
  });

  it('rejects foreign origins and hosts, unknown sessions, bad versions, oversized bodies', async () => {
    const init = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    });
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const foreign = await fetch(gateway.url, { method: 'POST', headers: { ...headers, origin: 'https://evil.example' }, body: init });
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { error: { message: string } }).error.message).toMatch(/Origin "https:\/\/evil.example" is not allowed/);
    // DNS rebinding: the name resolves to 127.0.0.1 but the Host header keeps the attacker's name.
    const rebound = await new Promise<number>((resolve, reject) => {
      const req = request(gateway.url, { method: 'POST', headers: { ...headers, host: 'attacker.example:80' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(init);
    });
    expect(rebound).toBe(403);
    const local = await fetch(gateway.url, { method: 'POST', headers: { ...headers, origin: 'http://localhost:3000' }, body: init });
    expect(local.status).toBe(200);
    const sessionId = local.headers.get('mcp-session-id');
    expect(sessionId).toBeTruthy();
    const put = await fetch(gateway.url, { method: 'PUT', headers, body: init });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, POST, DELETE');
    const unknown = await fetch(gateway.url, {
      method: 'POST',
      headers: { ...headers, 'mcp-session-id': 'not-a-session' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    expect(unknown.status).toBe(404);
    const badVersion = await fetch(gateway.url, {
      method: 'POST',
      headers: { ...headers, 'mcp-session-id': sessionId!, 'mcp-protocol-version': '1999-01-01' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }),
    });
    expect(badVersion.status).toBe(400);
    const huge = await fetch(gateway.url, {
      method: 'POST',
      headers: { ...headers, 'mcp-session-id': sessionId! },
      body: JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'fx__echo', arguments: { text: 'x'.repeat(2 * 1024 * 1024) } } }),
    });
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { error: { message: string } }).error.message).toMatch(/exceeds the limit of \d+ bytes/);
    // Without Content-Length (chunked), still sending after the limit: the 413 is read, not a broken pipe.
    const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(gateway.url, { method: 'POST', headers: { ...headers, 'mcp-session-id': sessionId! } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.write('{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"fx__echo","arguments":{"text":"');
      for (let i = 0; i < 48; i++) req.write('y'.repeat(64 * 1024));
      req.end('"}}}');
    });
    expect(chunked.status).toBe(413);
    expect(chunked.body).toMatch(/Request body exceeds the limit of \d+ bytes/);
    const noSession = await fetch(gateway.url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/list' }) });
    expect(noSession.status).toBe(400);
    const deleted = await fetch(gateway.url, { method: 'DELETE', headers: { 'mcp-session-id': sessionId! } });
    expect(deleted.status).toBe(200);
    const afterDelete = await fetch(gateway.url, {
      method: 'POST',
      headers: { ...headers, 'mcp-session-id': sessionId! },
      body: JSON.stringify({ jsonrpc: '2.0', id: 6, method: 'tools/list' }),
    });
    expect(afterDelete.status).toBe(404);
    const health = await fetch(`${gateway.base}/healthz`);
    expect(health.status).toBe(200);
  });

  it('replays a dropped SSE stream from Last-Event-ID', async () => {
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const init = await fetch(gateway.url, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
      }),
    });
    const session = init.headers.get('mcp-session-id')!;
    await init.text();
    const sessionHeaders = { ...headers, 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' };
    await fetch(gateway.url, { method: 'POST', headers: sessionHeaders, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
    // A call with progress becomes an SSE stream; read the first event, then drop the connection.
    const controller = new AbortController();
    const call = await fetch(gateway.url, {
      method: 'POST',
      headers: sessionHeaders,
      signal: controller.signal,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 2,
        method: 'tools/call',
        params: { name: 'fx__progress', arguments: { steps: 8 }, _meta: { progressToken: 'tok' } },
      }),
    });
    expect(call.headers.get('content-type')).toContain('text/event-stream');
    const reader = call.body!.getReader();
    let text = '';
    while (!/id: (\S+)\n/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    const firstId = /id: (\S+)\n/.exec(text)![1]!;
    controller.abort();
    await new Promise((r) => setTimeout(r, 300));
    const resumed = await fetch(gateway.url, { method: 'GET', headers: { ...sessionHeaders, accept: 'text/event-stream', 'last-event-id': firstId } });
    expect(resumed.status).toBe(200);
    const replay = await resumed.text();
    expect(replay).toContain('"id":2');
    expect(replay, replay).toContain('"progress":8');
  });
});
