/**
 * The bridge's parts on their own (the whole runs through real gateways in bridgedCalls.test.ts
 * and the era matrix): a bridged call's rounds, the parked calls' caps, rounds and expiry, and
 * the attribution of a remote upstream's requests by the stream they arrive on.
 */
import { describe, expect, it } from 'vitest';
import { BridgedCall, type RoundOutcome } from '../../gateway/session/bridgedCall.js';
import { ParkedCalls } from '../../gateway/session/parkedCalls.js';
import { CallCancellation } from '../../gateway/upstreams/cancellation.js';
import { StreamOwners } from '../../gateway/upstreams/streamAttribution.js';

type Result = Record<string, unknown>;

/** An upstream call that asks what `asks` says, in order, then answers with every answer it got. */
function askingUpstream(call: BridgedCall, asks: Array<Array<{ method: string; params?: Result }>>): { cancelled: () => boolean } {
  let cancelled = false;
  call.run(async (cancellation) => {
    cancellation.onAbort(() => (cancelled = true));
    const answers: unknown[] = [];
    for (const together of asks) answers.push(...(await Promise.all(together.map((request) => call.ask(request)))));
    return { content: [{ type: 'text', text: JSON.stringify(answers) }] };
  });
  return { cancelled: () => cancelled };
}

const round = (call: BridgedCall, cancellation = new CallCancellation()): Promise<RoundOutcome> => call.round({ cancellation });

describe('a bridged call', () => {
  it('gives the requests an upstream sends together in one round, and finishes with the answers', async () => {
    const call = new BridgedCall('c1', 'ada');
    askingUpstream(call, [[{ method: 'sampling/createMessage', params: { maxTokens: 5 } }, { method: 'roots/list' }]]);
    const first = await round(call);
    expect(first).toEqual({
      kind: 'input',
      inputRequests: { 'sampling-1': { method: 'sampling/createMessage', params: { maxTokens: 5 } }, 'roots-2': { method: 'roots/list' } },
    });
    call.answer({ 'sampling-1': { text: 'hi' }, 'roots-2': { roots: [] }, unknown: 'ignored' });
    const done = await round(call);
    expect(done).toEqual({ kind: 'done', result: { content: [{ type: 'text', text: JSON.stringify([{ text: 'hi' }, { roots: [] }]) }] } });
  });

  it('asks again what a retry left unanswered', async () => {
    const call = new BridgedCall('c2', 'ada');
    askingUpstream(call, [[{ method: 'elicitation/create', params: { message: 'ok?' } }]]);
    expect((await round(call)).kind).toBe('input');
    call.answer({});
    expect(await round(call)).toEqual({ kind: 'input', inputRequests: { 'elicitation-1': { method: 'elicitation/create', params: { message: 'ok?' } } } });
    expect(call.rounds).toBe(2);
  });

  it("is cancelled upstream when the round's client cancels, and its held requests fail", async () => {
    const call = new BridgedCall('c3', 'ada');
    const upstream = askingUpstream(call, [[{ method: 'sampling/createMessage', params: {} }]]);
    expect((await round(call)).kind).toBe('input');
    const cancellation = new CallCancellation();
    const second = round(call, cancellation);
    cancellation.abort(new Error('closed'));
    expect(upstream.cancelled()).toBe(true);
    expect(call.cancellation.aborted).toBe(true);
    // The upstream's ask was rejected; the run's failure ends the round.
    expect((await second).kind).toBe('failed');
  });
});

describe('parked calls', () => {
  it('parks a call asking for input under a reference that names its round, and refuses a spent or foreign one', async () => {
    const parked = new ParkedCalls({ ttlMs: 60_000, maxPerUser: 4, maxTotal: 10 });
    const call = parked.open('ada');
    askingUpstream(call, [[{ method: 'sampling/createMessage', params: {} }], [{ method: 'sampling/createMessage', params: {} }]]);
    const first = await parked.drive(call, { cancellation: new CallCancellation() });
    if (first.kind !== 'input') throw new Error(`expected input, got ${first.kind}`);
    expect(first.call).toEqual({ instance: parked.instance, call: call.id, round: 1 });
    expect(parked.size).toBe(1);
    // Another user's retry finds nothing, and leaves the call parked.
    const foreign = await parked.resume(first.call, 'mallory', {}, { cancellation: new CallCancellation() });
    expect(foreign).toMatchObject({ kind: 'failed', error: { data: { reason: 'invalid_request_state' } } });
    expect(parked.size).toBe(1);
    const second = await parked.resume(first.call, 'ada', { 'sampling-1': { text: 'one' } }, { cancellation: new CallCancellation() });
    if (second.kind !== 'input') throw new Error(`expected input, got ${second.kind}`);
    expect(second.call.round).toBe(2);
    // The first round's reference is spent.
    const replayed = await parked.resume(first.call, 'ada', { 'sampling-1': { text: 'again' } }, { cancellation: new CallCancellation() });
    expect(replayed).toMatchObject({ kind: 'failed' });
    const done = await parked.resume(second.call, 'ada', { 'sampling-2': { text: 'two' } }, { cancellation: new CallCancellation() });
    expect(done).toMatchObject({ kind: 'done' });
    expect(parked.size).toBe(0);
  });

  it("refuses to park one user's call beyond the cap, cancelling it upstream", async () => {
    const parked = new ParkedCalls({ ttlMs: 60_000, maxPerUser: 1, maxTotal: 10 });
    const first = parked.open('ada');
    askingUpstream(first, [[{ method: 'roots/list' }]]);
    expect((await parked.drive(first, { cancellation: new CallCancellation() })).kind).toBe('input');
    const second = parked.open('ada');
    const upstream = askingUpstream(second, [[{ method: 'roots/list' }]]);
    const refused = await parked.drive(second, { cancellation: new CallCancellation() });
    expect(refused).toMatchObject({ kind: 'failed', error: { code: 'rate_limited' } });
    expect(String((refused as { error: Error }).error.message)).toContain('You already have 1 calls waiting for your input');
    expect(upstream.cancelled()).toBe(true);
    // Another user is not affected.
    const other = parked.open('grace');
    askingUpstream(other, [[{ method: 'roots/list' }]]);
    expect((await parked.drive(other, { cancellation: new CallCancellation() })).kind).toBe('input');
    parked.close();
  });

  it("keeps half of an upstream's concurrency for calls that do not wait, whoever parks", async () => {
    const parked = new ParkedCalls({ ttlMs: 60_000, maxPerUser: 4, maxTotal: 10 });
    const upstream = { namespace: 'fx', maxParked: 2 };
    for (const user of ['ada', 'grace']) {
      const call = parked.open(user, upstream);
      askingUpstream(call, [[{ method: 'roots/list' }]]);
      expect((await parked.drive(call, { cancellation: new CallCancellation() })).kind).toBe('input');
    }
    const third = parked.open('alan', upstream);
    const cancelled = askingUpstream(third, [[{ method: 'roots/list' }]]);
    const refused = await parked.drive(third, { cancellation: new CallCancellation() });
    expect(String((refused as { error: Error }).error.message)).toContain(
      'Upstream "fx" already has 2 calls waiting for their clients\' input on this gateway instance, its limit (2, half its concurrency)',
    );
    expect(cancelled.cancelled()).toBe(true);
    // Another upstream is not affected.
    const elsewhere = parked.open('alan', { namespace: 'other', maxParked: 2 });
    askingUpstream(elsewhere, [[{ method: 'roots/list' }]]);
    expect((await parked.drive(elsewhere, { cancellation: new CallCancellation() })).kind).toBe('input');
    parked.close();
  });

  it('cancels a parked call nobody comes back for', async () => {
    const parked = new ParkedCalls({ ttlMs: 50, maxPerUser: 4, maxTotal: 10 });
    const call = parked.open('ada');
    const upstream = askingUpstream(call, [[{ method: 'roots/list' }]]);
    await parked.drive(call, { cancellation: new CallCancellation() });
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(upstream.cancelled()).toBe(true);
    expect(parked.size).toBe(0);
  });
});

describe("a remote upstream's requests, by the stream they arrive on", () => {
  const sse = (...messages: Result[]): Response =>
    new Response(messages.map((message) => `event: message\ndata: ${JSON.stringify(message)}\n\n`).join(''), {
      headers: { 'content-type': 'text/event-stream' },
    });

  it("notes the requests in a forwarded call's SSE answer as its own, and passes the stream on unchanged", async () => {
    const owners = new StreamOwners();
    const request = { jsonrpc: '2.0', id: 7, method: 'elicitation/create', params: { message: 'ok?' } };
    const result = { jsonrpc: '2.0', id: 2 ** 40 + 3, result: { content: [] } };
    const wrapped = owners.wrapFetch(
      () => Promise.resolve(sse(request, result)),
      () => true,
    );
    const response = await wrapped('http://upstream.test/mcp', {
      method: 'POST',
      body: JSON.stringify({ jsonrpc: '2.0', id: 2 ** 40 + 3, method: 'tools/call', params: {} }),
    });
    const text = await response.text();
    expect(text).toBe(`event: message\ndata: ${JSON.stringify(request)}\n\nevent: message\ndata: ${JSON.stringify(result)}\n\n`);
    expect(owners.take(7)).toBe(2 ** 40 + 3);
    expect(owners.take(7)).toBeUndefined();
  });

  it("leaves the SDK's own requests (initialize, lists) and JSON answers alone", async () => {
    const owners = new StreamOwners();
    const wrapped = owners.wrapFetch(
      () => Promise.resolve(sse({ jsonrpc: '2.0', id: 1, method: 'roots/list' })),
      () => true,
    );
    await (await wrapped('http://upstream.test/mcp', { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'tools/list' }) })).text();
    expect(owners.take(1)).toBeUndefined();
  });
});
