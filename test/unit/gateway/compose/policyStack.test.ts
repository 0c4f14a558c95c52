import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { composeResourceRead, type ResourceReadContext } from '../../../../gateway/calls/resourceReadPipeline.js';
import { RpcError } from '../../../../gateway/calls/rpcError.js';
import { composeToolCall, type ToolCallContext, type ToolCallHandler } from '../../../../gateway/calls/toolCallPipeline.js';
import { createPolicyStack, type PolicyStack } from '../../../../gateway/compose/policyStack.js';
import { gatewaySchema } from '../../../../gateway/config/schema.js';
import { CACHE_META_KEY } from '../../../../gateway/policy/callPolicies.js';
import { NOT_CANCELLED } from '../../../../gateway/upstreams/cancellation.js';
import type { UpstreamConnection } from '../../../../gateway/upstreams/upstreamConnection.js';
import { ConfigError } from '../../../../shared/config.js';
import { FAILURE_META_KEY } from '../../../../shared/errors.js';
import { caller, eventually, listedUpstream, RecordingSession, silentLogger, tool } from '../../support/seams.js';

const READ_ONLY = { readOnlyHint: true, idempotentHint: true };
const pm = listedUpstream('pm', {
  tools: [
    tool('list_tasks', READ_ONLY, { type: 'object', properties: { status: { type: 'string', enum: ['open', 'closed'] } }, additionalProperties: false }),
    tool('create_task', {}, { type: 'object', properties: { title: { type: 'string' } }, required: ['title'] }),
    tool('export_all', READ_ONLY),
  ],
});
const docs = listedUpstream('docs', { tools: [tool('search_docs', READ_ONLY)] });

const dirs: string[] = [];
const stacks: PolicyStack[] = [];
afterEach(async () => {
  for (const stack of stacks.splice(0)) await stack.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A policy stack from a configuration file's content, as the gateway builds it at start. */
function stackFrom(file: Record<string, unknown>): PolicyStack {
  const config = gatewaySchema.parse({
    auth: { mode: 'none-loopback-dev' },
    upstreams: [
      { namespace: 'pm', remote: { url: 'http://127.0.0.1:9/pm' } },
      { namespace: 'docs', remote: { url: 'http://127.0.0.1:9/docs' } },
    ],
    ...file,
    observability: { logCalls: false, audit: { enabled: false }, ...(file.observability as object | undefined) },
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'manifold-policy-'));
  dirs.push(dataDir);
  const stack = createPolicyStack(config, { logger: silentLogger, dataDir });
  stacks.push(stack);
  return stack;
}

/** The upstream end of the pipeline: records what reaches it and answers from a script. */
function recordingUpstream(
  answer: (call: ToolCallContext) => Record<string, unknown> = (c) => ({ content: [{ type: 'text', text: `${c.exposedName} for ${c.caller.user}` }] }),
) {
  const reached: Array<{ user: string; tool: string; arguments: unknown }> = [];
  const terminal: ToolCallHandler = async (c) => {
    reached.push({ user: c.caller.user, tool: c.exposedName, arguments: c.arguments });
    return answer(c);
  };
  return { reached, terminal };
}

function callOf(user: string, upstream: UpstreamConnection, name: string, args: Record<string, unknown> = {}): ToolCallContext {
  return {
    session: new RecordingSession(`session-${user}`),
    requestId: 1,
    caller: caller(user),
    exposedName: `${upstream.namespace}__${name}`,
    target: { upstream, name },
    arguments: args,
    meta: undefined,
    cancellation: NOT_CANCELLED,
    onprogress: undefined,
  };
}

const failureOf = (result: Record<string, unknown>) => (result._meta as Record<string, Record<string, unknown>>)[FAILURE_META_KEY]!;

describe('the tools/call policy stack, in order', () => {
  it('serves a fresh cached result without reaching the upstream, and says it came from the cache', async () => {
    const stack = stackFrom({});
    const upstream = recordingUpstream();
    const handle = composeToolCall(stack.toolCallMiddlewares, upstream.terminal);

    const first = await handle(callOf('ada', pm, 'list_tasks', { status: 'open' }));
    const second = await handle(callOf('ada', pm, 'list_tasks', { status: 'open' }));
    expect(upstream.reached).toHaveLength(1);
    expect(first).toEqual({ content: [{ type: 'text', text: 'pm__list_tasks for ada' }] });
    expect(second.content).toEqual(first.content);
    expect((second._meta as Record<string, unknown>)[CACHE_META_KEY]).toMatchObject({ hit: true });
    await eventually(() => expect(stack.recorder.recentCalls.map((record) => record.cache)).toEqual(['miss', 'hit']));
  });

  it('refuses a rate-limited call before the cache or the upstream, as a tool result naming the limit and when to retry', async () => {
    const stack = stackFrom({ limits: { rate: { windowMs: 60_000, perUser: 2 } } });
    const upstream = recordingUpstream();
    const handle = composeToolCall(stack.toolCallMiddlewares, upstream.terminal);

    await handle(callOf('ada', pm, 'list_tasks')); // upstream
    await handle(callOf('ada', pm, 'list_tasks')); // cache
    const refused = await handle(callOf('ada', pm, 'list_tasks')); // cached, yet refused
    expect(upstream.reached).toHaveLength(1);
    expect(refused.isError).toBe(true);
    expect((refused.content as Array<{ text: string }>)[0]!.text).toMatch(
      /^Error \(rate_limited\): Rate limit "user" reached: at most 2 calls per user every 60 s\. Retry after .+\. The call was not forwarded\.$/,
    );
    const failure = failureOf(refused);
    expect(failure).toMatchObject({ code: 'rate_limited', limit: 'user', max: 2, windowMs: 60_000 });
    expect(failure.retryAfterSeconds).toBeGreaterThan(0);
    expect(failure.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(Number.isNaN(Date.parse(failure.retryAt as string))).toBe(false);
    // Another user is counted apart.
    expect((await handle(callOf('bob', pm, 'list_tasks'))).isError).toBeUndefined();
    const refusals = await stack.metrics!.registry.getSingleMetric('manifold_rate_limit_refusals_total')!.get();
    expect(refusals.values).toEqual([{ value: 1, labels: { upstream: 'pm', tool: 'pm__list_tasks', limit: 'user' } }]);
    await eventually(() => expect(stack.recorder.recentCalls.map((record) => record.outcome)).toEqual(['ok', 'ok', 'rate_limited', 'ok']));
  });

  it('counts a call against the rate limit before checking its arguments', async () => {
    const stack = stackFrom({ limits: { rate: { perUser: 2 } } });
    const upstream = recordingUpstream();
    const handle = composeToolCall(stack.toolCallMiddlewares, upstream.terminal);

    const invalid = await handle(callOf('ada', pm, 'create_task', { titel: 'typo' }));
    expect(failureOf(invalid)).toMatchObject({ code: 'invalid_input', field: 'title', fields: ['title'] });
    await handle(callOf('ada', pm, 'create_task', { titel: 'typo' }));
    const third = await handle(callOf('ada', pm, 'create_task', { title: 'right' }));
    expect(failureOf(third)).toMatchObject({ code: 'rate_limited' });
    expect(upstream.reached).toEqual([]);
  });

  it('refuses invalid arguments as a tool result, before the cache or the upstream', async () => {
    const stack = stackFrom({});
    const upstream = recordingUpstream();
    const handle = composeToolCall(stack.toolCallMiddlewares, upstream.terminal);
    const refused = await handle(callOf('ada', pm, 'list_tasks', { status: 'pending' }));
    expect(refused.isError).toBe(true);
    expect((refused.content as Array<{ text: string }>)[0]!.text).toContain(
      'Invalid arguments for pm__list_tasks: "status" must be equal to one of the allowed values',
    );
    expect(failureOf(refused)).toMatchObject({ code: 'invalid_input', field: 'status' });
    expect(upstream.reached).toEqual([]);
  });

  it('passes invalid arguments on when validation is turned off', async () => {
    const stack = stackFrom({ limits: { validateArguments: false } });
    const upstream = recordingUpstream();
    await composeToolCall(stack.toolCallMiddlewares, upstream.terminal)(callOf('ada', pm, 'create_task', {}));
    expect(upstream.reached).toHaveLength(1);
  });

  it("drops the namespace's cached results when a write goes through", async () => {
    const stack = stackFrom({});
    let version = 1;
    const upstream = recordingUpstream((c) => ({
      content: [{ type: 'text', text: `${c.target.name} v${c.target.name === 'create_task' ? version++ : version}` }],
    }));
    const handle = composeToolCall(stack.toolCallMiddlewares, upstream.terminal);

    await handle(callOf('ada', pm, 'list_tasks'));
    await handle(callOf('ada', docs, 'search_docs'));
    await handle(callOf('ada', pm, 'create_task', { title: 'new' }));
    const after = await handle(callOf('ada', pm, 'list_tasks'));
    const otherNamespace = await handle(callOf('ada', docs, 'search_docs'));
    expect(upstream.reached.map((r) => r.tool)).toEqual(['pm__list_tasks', 'docs__search_docs', 'pm__create_task', 'pm__list_tasks']);
    expect(after.content).toEqual([{ type: 'text', text: 'list_tasks v2' }]);
    expect((otherNamespace._meta as Record<string, unknown>)[CACHE_META_KEY]).toMatchObject({ hit: true });
  });

  it('never serves a result its upstream marked private to another user, even where the rule shares results', async () => {
    const stack = stackFrom({ cache: { namespaces: { docs: { perUser: false } } } });
    const upstream = recordingUpstream((c) => ({
      content: [{ type: 'text', text: `for ${c.caller.user}` }],
      cacheScope: c.arguments?.query === 'mine' ? 'private' : 'public',
    }));
    const handle = composeToolCall(stack.toolCallMiddlewares, upstream.terminal);

    await handle(callOf('ada', docs, 'search_docs', { query: 'mine' }));
    const adaAgain = await handle(callOf('ada', docs, 'search_docs', { query: 'mine' }));
    const bob = await handle(callOf('bob', docs, 'search_docs', { query: 'mine' }));
    expect(adaAgain.content).toEqual([{ type: 'text', text: 'for ada' }]);
    expect(bob.content).toEqual([{ type: 'text', text: 'for bob' }]);

    // A public answer is shared, as the rule says.
    await handle(callOf('ada', docs, 'search_docs', { query: 'ports' }));
    const shared = await handle(callOf('bob', docs, 'search_docs', { query: 'ports' }));
    expect(shared.content).toEqual([{ type: 'text', text: 'for ada' }]);
    expect(upstream.reached.map((r) => `${r.user}:${String((r.arguments as { query: string }).query)}`)).toEqual(['ada:mine', 'bob:mine', 'ada:ports']);
  });

  it('keeps per-user results per user by default', async () => {
    const stack = stackFrom({});
    const upstream = recordingUpstream();
    const handle = composeToolCall(stack.toolCallMiddlewares, upstream.terminal);
    await handle(callOf('ada', pm, 'list_tasks'));
    const bob = await handle(callOf('bob', pm, 'list_tasks'));
    expect(bob.content).toEqual([{ type: 'text', text: 'pm__list_tasks for bob' }]);
    expect(upstream.reached.map((r) => r.user)).toEqual(['ada', 'bob']);
  });

  it('does not keep errors, answers marked ttlMs 0, or answers over the response limit', async () => {
    const stack = stackFrom({ limits: { maxResponseBytes: 1024 } });
    const upstream = recordingUpstream((c) => {
      const query = (c.arguments as { query?: string }).query;
      if (query === 'error') return { isError: true, content: [{ type: 'text', text: 'index busy' }] };
      if (query === 'volatile') return { content: [], ttlMs: 0 };
      return { content: [{ type: 'text', text: 'x'.repeat(2000) }] };
    });
    const handle = composeToolCall(stack.toolCallMiddlewares, upstream.terminal);
    for (const query of ['error', 'volatile', 'big']) {
      await handle(callOf('ada', docs, 'search_docs', { query }));
      await handle(callOf('ada', docs, 'search_docs', { query }));
    }
    expect(upstream.reached).toHaveLength(6);
    const big = await handle(callOf('ada', docs, 'search_docs', { query: 'big' }));
    expect(failureOf(big)).toMatchObject({ code: 'too_large', maxBytes: 1024 });
    expect(failureOf(big).bytes).toBeGreaterThan(2000);
  });

  it('passes an upstream failure that is not a refusal through as a failure', async () => {
    const stack = stackFrom({});
    const handle = composeToolCall(stack.toolCallMiddlewares, async () => {
      throw new RpcError(-32603, 'upstream crashed');
    });
    await expect(handle(callOf('ada', pm, 'create_task', { title: 't' }))).rejects.toThrow('upstream crashed');
  });

  it('applies the default rate limits with OAuth when none are configured, and none in loopback development', async () => {
    const dev = stackFrom({});
    expect(dev.requestLimiter).toBeUndefined();
    const devHandle = composeToolCall(dev.toolCallMiddlewares, recordingUpstream().terminal);
    for (let i = 0; i < 61; i++) expect((await devHandle(callOf('ada', pm, 'export_all', { i }))).isError).toBeUndefined();

    const oauth = stackFrom({ auth: { mode: 'oauth' } });
    expect(oauth.requestLimiter).toBeDefined();
    const handle = composeToolCall(oauth.toolCallMiddlewares, recordingUpstream().terminal);
    for (let i = 0; i < 60; i++) expect((await handle(callOf('ada', pm, 'export_all', { i }))).isError).toBeUndefined();
    expect(failureOf(await handle(callOf('ada', pm, 'export_all', { i: 60 })))).toMatchObject({ code: 'rate_limited', limit: 'user', max: 60 });
  });

  it('appends writes, refused ones too, to the audit log with secrets redacted, and no reads', async () => {
    const stack = stackFrom({
      limits: { rate: { writesPerUser: 1 } },
      observability: { audit: { enabled: true, file: 'audit.jsonl', flushIntervalMs: 0 }, redactFields: ['title'] },
    });
    const handle = composeToolCall(stack.toolCallMiddlewares, recordingUpstream().terminal);
    await handle(callOf('ada', pm, 'create_task', { title: 'Secret plan', token: 'tok-123', note: 'Bearer abc.def' }));
    await handle(callOf('ada', pm, 'list_tasks'));
    await handle(callOf('ada', pm, 'create_task', { title: 'Second' }));
    await eventually(() => expect(stack.recorder.recentCalls).toHaveLength(3));
    await stack.close();

    const lines = readFileSync(stack.audit!.file, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map(({ tool, user, upstreamTool, outcome, arguments: args }) => ({ tool, user, upstreamTool, outcome, args }))).toEqual([
      {
        tool: 'pm__create_task',
        user: 'ada',
        upstreamTool: 'create_task',
        outcome: 'ok',
        args: { title: '[redacted]', token: '[redacted]', note: 'Bearer [redacted]' },
      },
      { tool: 'pm__create_task', user: 'ada', upstreamTool: 'create_task', outcome: 'rate_limited', args: { title: '[redacted]' } },
    ]);
  });

  it('refuses limits or cache rules for a namespace no upstream has, naming the setting', () => {
    expect(() => stackFrom({ limits: { rate: { namespaces: { gh: { perUser: 1 } } } } })).toThrow(ConfigError);
    expect(() => stackFrom({ cache: { namespaces: { gh: { ttlMs: 1 } } } })).toThrow('cache.namespaces.gh: no upstream has namespace "gh" (known: pm, docs)');
  });
});

describe('the resources/read policy stack', () => {
  function readOf(user: string, uri: string): ResourceReadContext {
    return {
      session: new RecordingSession(`session-${user}`),
      requestId: 7,
      caller: caller(user),
      upstream: pm,
      uri,
      exposedUri: `pm+${uri}`,
      params: { uri },
      cancellation: NOT_CANCELLED,
    };
  }

  it('serves a fresh read from the cache and refuses one over the response limit as a JSON-RPC error', async () => {
    const stack = stackFrom({ limits: { maxResponseBytes: 1024 } });
    const reached: string[] = [];
    const handle = composeResourceRead(stack.resourceReadMiddlewares, async (read) => {
      reached.push(read.uri);
      const text = read.uri === 'project://huge' ? 'x'.repeat(4096) : 'ok';
      return { contents: [{ uri: read.uri, text }] };
    });
    await handle(readOf('ada', 'project://status'));
    const again = await handle(readOf('ada', 'project://status'));
    expect((again._meta as Record<string, unknown>)[CACHE_META_KEY]).toMatchObject({ hit: true });
    await expect(handle(readOf('ada', 'project://huge'))).rejects.toSatisfy(
      (error) =>
        error instanceof RpcError && error.message.startsWith('Resource pm+project://huge is 4') && (error.data as { code: string }).code === 'too_large',
    );
    expect(reached).toEqual(['project://status', 'project://huge']);
  });

  it('reads again after the upstream announces the resource changed', async () => {
    const stack = stackFrom({});
    let reads = 0;
    const handle = composeResourceRead(stack.resourceReadMiddlewares, async (read) => ({ contents: [{ uri: read.uri, text: `read ${++reads}` }] }));
    await handle(readOf('ada', 'project://status'));
    for (const observer of stack.upstreamObservers) observer.onResourceUpdated?.('pm', 'project://status');
    const fresh = await handle(readOf('ada', 'project://status'));
    expect(fresh.contents).toEqual([{ uri: 'project://status', text: 'read 2' }]);
    for (const observer of stack.upstreamObservers) observer.onListsChanged?.('pm', new Set(['tools']));
    expect((await handle(readOf('ada', 'project://status'))).contents).toEqual([{ uri: 'project://status', text: 'read 3' }]);
  });
});
