/**
 * 2026-07-28 clients calling a 2025-11-25 upstream that asks for input mid-call (the gateway
 * fixture `fx`, SDK v1 over stdio): the gateway holds the upstream's call, gives its requests to
 * the client as input_required rounds, and answers them with the client's retry — which may
 * reach either of two gateway instances (`cluster: { redis: true }`, one shared
 * MANIFOLD_REQUEST_STATE_KEY). Each request below goes straight to the instance the test names.
 *
 * Checked: rounds across instances (sampling, elicitation), a missing answer asked again, the
 * upstream's progress and the client's cancellation across instances, a prompt and a resource
 * read need nothing, and the hostile cases: a retry used twice, another user's retry, a forged
 * state, an expired park (cancelled upstream), the per-user cap, and a retry after the owning
 * instance died.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope, MODERN_REVISION, postModern, type WireAnswer } from '../support/modernWire.js';
import { REDIS_URL, redisAvailable } from '../support/redis.js';
import { TestIssuer } from '../support/testIssuer.js';
import { waitFor } from '../support/waitFor.js';
import { fixtureUpstream, readiness, startGateway, waitReady, type RunningGateway } from './harness.js';

const runnable = await redisAvailable('bridged calls on two gateway instances');

type Params = Record<string, unknown>;

const TTL_SECONDS = 3;
const PER_USER = 3;
const ASKS = { clientCapabilities: { sampling: {}, elicitation: {} } };

describe.runIf(runnable)('a 2026-07-28 client and a 2025 upstream that asks for input mid-call, on two gateway instances', () => {
  let issuer: TestIssuer;
  let a: RunningGateway;
  let b: RunningGateway;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
    const config = {
      listen: { host: '127.0.0.1', port: 0 },
      auth: { mode: 'oauth', issuer: issuer.issuer, publicUrl: 'http://gateway.test' },
      cluster: { redis: true },
      limits: { rate: { perUser: 10_000, writesPerUser: 10_000 }, bridgedCalls: { perUser: PER_USER, total: 100 } },
      upstreams: [fixtureUpstream('fx', { callTimeoutMs: 2_000 })],
    };
    const env = {
      REDIS_URL: REDIS_URL,
      MANIFOLD_REQUEST_STATE_KEY: randomBytes(36).toString('base64'),
      MANIFOLD_RELAYED_INPUT_TTL_SECONDS: String(TTL_SECONDS),
    };
    [a, b] = await Promise.all([startGateway(config, { env }), startGateway(config, { env })]);
    await Promise.all([a, b].map((gateway) => waitReady({ ...gateway!, base: gateway!.direct })));
    const audience = 'http://gateway.test/mcp';
    alice = await issuer.accessToken(audience, { sub: `bridge-alice-${process.pid}`, scope: 'fx:admin' });
    bob = await issuer.accessToken(audience, { sub: `bridge-bob-${process.pid}`, scope: 'fx:admin' });
  });

  afterAll(async () => {
    await Promise.all([a, b].map((gateway) => gateway?.stop()));
    await issuer?.stop();
  });

  const on =
    (instance: RunningGateway, token = alice) =>
    (method: string, params: Params): Promise<WireAnswer> =>
      postModern(`${instance.direct}/mcp`, method, params, { ...ASKS, headers: { authorization: `Bearer ${token}` } });

  const resultOf = (answer: WireAnswer): Params => {
    expect(answer.message.error, JSON.stringify(answer.message.error)).toBeUndefined();
    return answer.message.result!;
  };

  const textOf = (result: Params): string => ((result.content as Array<{ text?: string }> | undefined) ?? []).map((block) => block.text ?? '').join('');

  /** Calls from the gateways to fx that have not ended, on one instance. */
  const inFlight = async (instance: RunningGateway): Promise<number> =>
    (await readiness({ ...instance, base: instance.direct }, alice)).upstreams.find((upstream) => upstream.namespace === 'fx')?.inFlight ?? -1;

  /** The first round of `name`: the upstream's request as an input_required round. */
  async function firstRound(
    instance: RunningGateway,
    name: string,
    args: Params,
    token = alice,
  ): Promise<{ key: string; request: { method: string; params: Params }; state: string }> {
    const answer = resultOf(await on(instance, token)('tools/call', { name, arguments: args }));
    expect(answer.resultType).toBe('input_required');
    const entries = Object.entries(answer.inputRequests as Record<string, { method: string; params: Params }>);
    expect(entries).toHaveLength(1);
    const [key, request] = entries[0]!;
    expect(typeof answer.requestState).toBe('string');
    return { key, request, state: answer.requestState as string };
  }

  it('gives a sampling request as an input_required round on A, and finishes the call with the answer retried on B', async () => {
    const { key, request, state } = await firstRound(a, 'fx__ask_llm', { prompt: 'Name a colour' });
    expect(key).toMatch(/^sampling-/);
    expect(request.method).toBe('sampling/createMessage');
    expect(request.params).toMatchObject({ messages: [{ role: 'user', content: { type: 'text', text: 'Name a colour' } }], maxTokens: 50 });
    // The gateway's own bookkeeping does not leak to the client.
    expect(JSON.stringify(request.params)).not.toContain('io.manifold');
    expect(await inFlight(a)).toBe(1);
    const done = resultOf(
      await on(b)('tools/call', {
        name: 'fx__ask_llm',
        arguments: { prompt: 'Name a colour' },
        requestState: state,
        inputResponses: { [key]: { role: 'assistant', model: 'm', content: { type: 'text', text: 'teal' } } },
      }),
    );
    expect(done.resultType).toBe('complete');
    expect(textOf(done)).toBe('sampled: teal');
    // The upstream ran the call once, on A, and it has ended.
    expect(await inFlight(a)).toBe(0);
  });

  it('asks an elicitation on B and answers it through A; a retry without the answer is asked again', async () => {
    const { key, request, state } = await firstRound(b, 'fx__ask_user', { question: 'Deploy now?' });
    expect(request).toMatchObject({ method: 'elicitation/create', params: { message: 'Deploy now?', requestedSchema: { type: 'object' } } });
    // No answer for the key: the same request comes back, under a new state.
    const again = resultOf(
      await on(a)('tools/call', { name: 'fx__ask_user', arguments: { question: 'Deploy now?' }, requestState: state, inputResponses: {} }),
    );
    expect(again.resultType).toBe('input_required');
    expect(Object.keys(again.inputRequests as Params)).toEqual([key]);
    const done = resultOf(
      await on(a)('tools/call', {
        name: 'fx__ask_user',
        arguments: { question: 'Deploy now?' },
        requestState: again.requestState,
        inputResponses: { [key]: { action: 'accept', content: { confirm: true } } },
      }),
    );
    expect(textOf(done)).toBe('elicited: accept {"confirm":true}');
  });

  it("relays the upstream's progress to the retry on the other instance, and its cancellation back to the upstream", async () => {
    const { key, state } = await firstRound(a, 'fx__ask_then_work', { ms: 20_000 });
    const abort = new AbortController();
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/call',
      params: {
        name: 'fx__ask_then_work',
        arguments: { ms: 20_000 },
        requestState: state,
        inputResponses: { [key]: { action: 'accept', content: { confirm: true } } },
        _meta: { ...envelope(ASKS.clientCapabilities), progressToken: 'work-1' },
      },
    });
    const response = await fetch(`${b.direct}/mcp`, {
      method: 'POST',
      signal: abort.signal,
      headers: {
        authorization: `Bearer ${alice}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': MODERN_REVISION,
        'mcp-method': 'tools/call',
        'mcp-name': 'fx__ask_then_work',
      },
      body,
    });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    // Read until two progress notifications have come, through B, from the call running on A.
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let seen = '';
    while ((seen.match(/notifications\/progress/g) ?? []).length < 2) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += decoder.decode(value);
    }
    expect(seen).toContain('"progressToken":"work-1"');
    const cancelledBefore = a.logs.filter((line) => line.msg === 'fixture: slow call cancelled').length;
    abort.abort();
    await waitFor('the call on A to end', async () => (await inFlight(a)) === 0, 5000);
    await waitFor(
      'the fixture to log the cancellation',
      () => a.logs.filter((line) => line.msg === 'fixture: slow call cancelled').length > cancelledBefore,
      5000,
    );
  });

  it("refuses a requestState used twice, another user's, and a forged one, and runs nothing for them", async () => {
    const { key, state } = await firstRound(a, 'fx__ask_llm', { prompt: 'Once' });
    const answers = { [key]: { role: 'assistant', model: 'm', content: { type: 'text', text: 'only once' } } };
    const retry = { name: 'fx__ask_llm', arguments: { prompt: 'Once' }, requestState: state, inputResponses: answers };

    // Bob cannot answer Alice's call (the seal binds the user).
    const foreign = await on(b, bob)('tools/call', retry);
    expect(foreign.message.error).toMatchObject({ code: -32602, data: { reason: 'invalid_request_state' } });
    expect(foreign.message.error!.message).toContain('issued for another call, upstream or user');

    // A forged state: the payload changed, the signature kept.
    const [version, payload, mac] = state.split('.');
    const forged = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as { park: { call: string } };
    forged.park.call = 'someone-elses';
    const tampered = await on(b)('tools/call', { ...retry, requestState: `${version}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${mac}` });
    expect(tampered.message.error).toMatchObject({ code: -32602, data: { reason: 'invalid_request_state' } });

    expect(textOf(resultOf(await on(b)('tools/call', retry)))).toBe('sampled: only once');
    const twice = await on(a)('tools/call', retry);
    expect(twice.message.error).toMatchObject({ code: -32602, data: { reason: 'invalid_request_state' } });
    expect(twice.message.error!.message).toContain('no longer waiting for input');
    expect(await inFlight(a)).toBe(0);
  });

  it(`holds at most ${PER_USER} calls waiting for one user's input, and cancels a call nobody comes back for`, async () => {
    const parked = [];
    for (let i = 0; i < PER_USER; i++) parked.push(await firstRound(a, 'fx__ask_then_work', { ms: 10 }));
    const refused = resultOf(await on(a)('tools/call', { name: 'fx__ask_then_work', arguments: { ms: 10 } }));
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toContain(
      `You already have ${PER_USER} calls waiting for your input on this gateway instance, the most one user may have (${PER_USER})`,
    );
    // The refused call was cancelled upstream; another user is not affected.
    await waitFor('the refused call to end upstream', async () => (await inFlight(a)) === PER_USER, 5000);
    const bobs = await firstRound(a, 'fx__ask_then_work', { ms: 10 }, bob);
    expect(bobs.key).toMatch(/^elicitation-/);

    // Nobody answers: after the TTL every parked call is cancelled upstream, and a late retry is told.
    await waitFor('the parked calls to expire and end upstream', async () => (await inFlight(a)) === 0, (TTL_SECONDS + 5) * 1000);
    const late = await on(b)('tools/call', {
      name: 'fx__ask_then_work',
      arguments: { ms: 10 },
      requestState: parked[0]!.state,
      inputResponses: { [parked[0]!.key]: { action: 'accept', content: { confirm: true } } },
    });
    expect(late.message.error).toMatchObject({ code: -32602, data: { reason: 'invalid_request_state' } });
  });

  it('tells a retry at once when the instance holding its call has died', async () => {
    const { key, state } = await firstRound(a, 'fx__ask_llm', { prompt: 'Orphaned' });
    a.process.kill('SIGKILL');
    await a.exited;
    const started = Date.now();
    const orphan = await on(b)('tools/call', {
      name: 'fx__ask_llm',
      arguments: { prompt: 'Orphaned' },
      requestState: state,
      inputResponses: { [key]: { role: 'assistant', model: 'm', content: { type: 'text', text: 'x' } } },
    });
    expect(orphan.message.error).toMatchObject({ code: -32602, data: { reason: 'invalid_request_state' } });
    expect(orphan.message.error!.message).toContain('the gateway instance holding it has stopped');
    expect(Date.now() - started).toBeLessThan(10_000);
    // B itself goes on serving bridged calls.
    const fresh = await firstRound(b, 'fx__ask_llm', { prompt: 'Still here' });
    const done = resultOf(
      await on(b)('tools/call', {
        name: 'fx__ask_llm',
        arguments: { prompt: 'Still here' },
        requestState: fresh.state,
        inputResponses: { [fresh.key]: { role: 'assistant', model: 'm', content: { type: 'text', text: 'yes' } } },
      }),
    );
    expect(textOf(done)).toBe('sampled: yes');
  });
});
