import { ProtocolError } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { routeServerRequest, type RoutingContext, type ServerRequest } from '../../../../gateway/upstreams/serverRequestRouting.js';
import type { InFlightCall } from '../../../../gateway/upstreams/types.js';
import { CALLER_META_KEY } from '../../../../shared/callerContext.js';
import { CALL_META_KEY } from '../../../../shared/relatedRequestMeta.js';
import { RecordingSession } from '../../support/seams.js';

const CAN_BE_ASKED = { sampling: {}, elicitation: {}, roots: {} };

function inFlight(id: string, session: RecordingSession, requestId: number, forwardedId?: number): InFlightCall {
  return {
    id,
    method: 'tools/call',
    origin: { caller: { user: session.id, scopes: [], session: session.id }, session, requestId },
    ...(forwardedId === undefined ? {} : { forwardedId }),
  };
}

function context(calls: InFlightCall[], extra: Partial<RoutingContext> = {}): RoutingContext & { echoes: number; held: number[]; released: number } {
  const ctx = {
    namespace: 'pm',
    inFlight: new Map(calls.map((call) => [call.id, call])),
    streamOwner: undefined,
    maxCallDurationMs: 600_000,
    echoes: 0,
    held: [] as number[],
    released: 0,
    noteEchoesCallMeta() {
      ctx.echoes++;
    },
    holdDeadline(forwardedId: number) {
      ctx.held.push(forwardedId);
      return () => {
        ctx.released++;
      };
    },
    ...extra,
  };
  return ctx;
}

const elicit = (meta?: Record<string, unknown>): ServerRequest => ({
  method: 'elicitation/create',
  params: { message: 'Delete 3 tasks?', requestedSchema: { type: 'object', properties: {} }, ...(meta ? { _meta: meta } : {}) },
});
const route = (request: ServerRequest, ctx: RoutingContext) => routeServerRequest(request, new AbortController().signal, ctx);

describe('whose client a request from an upstream goes to', () => {
  it("1. the call named by the echoed call id, on that call's stream; the upstream is noted as echoing", async () => {
    const ada = new RecordingSession('ada', CAN_BE_ASKED, { action: 'accept' });
    const bob = new RecordingSession('bob', CAN_BE_ASKED);
    const ctx = context([inFlight('c1', ada, 11, 101), inFlight('c2', bob, 22, 102)]);
    expect(await route(elicit({ [CALL_META_KEY]: 'c1' }), ctx)).toEqual({ action: 'accept' });
    expect(ada.asked).toEqual([
      { method: 'elicitation/create', params: expect.objectContaining({ message: 'Delete 3 tasks?' }), relatedRequestId: 11, upstream: 'pm' },
    ]);
    expect(bob.asked).toEqual([]);
    expect(ctx.echoes).toBe(1);
    // The call's deadline waits while its person answers, and runs again after.
    expect(ctx.held).toEqual([101]);
    expect(ctx.released).toBe(1);
  });

  it('2. the call whose POST stream brought the request (remote 2025 upstreams)', async () => {
    const ada = new RecordingSession('ada', CAN_BE_ASKED);
    const bob = new RecordingSession('bob', CAN_BE_ASKED);
    const ctx = context([inFlight('c1', ada, 11, 101), inFlight('c2', bob, 22, 102)], { streamOwner: 102 });
    await route(elicit(), ctx);
    expect(bob.asked.map((a) => a.relatedRequestId)).toEqual([22]);
    expect(ada.asked).toEqual([]);
    expect(ctx.echoes).toBe(0);
  });

  it('3. the session named by the echoed caller, on the stream of its call when it has exactly one', async () => {
    const ada = new RecordingSession('ada', CAN_BE_ASKED);
    const bob = new RecordingSession('bob', CAN_BE_ASKED);
    const one = context([inFlight('c1', ada, 11), inFlight('c2', bob, 22)]);
    await route(elicit({ [CALLER_META_KEY]: { user: 'bob', session: 'bob' } }), one);
    expect(bob.asked.map((a) => a.relatedRequestId)).toEqual([22]);

    const carol = new RecordingSession('carol', CAN_BE_ASKED);
    const two = context([inFlight('c3', carol, 31), inFlight('c4', carol, 32), inFlight('c5', ada, 12)]);
    await route(elicit({ [CALLER_META_KEY]: { user: 'carol', session: 'carol' } }), two);
    // Two calls of that session: which one is unknown, so the request goes on its session's own stream.
    expect(carol.asked.map((a) => a.relatedRequestId)).toEqual([undefined]);
    expect(ada.asked).toEqual([]);
  });

  it('4. the only call in flight', async () => {
    const ada = new RecordingSession('ada', CAN_BE_ASKED);
    await route({ method: 'roots/list', params: {} }, context([inFlight('c1', ada, 11)]));
    expect(ada.asked).toEqual([{ method: 'roots/list', params: {}, relatedRequestId: 11, upstream: 'pm' }]);
  });

  it('5. otherwise refused, saying why and what to configure', async () => {
    const ada = new RecordingSession('ada', CAN_BE_ASKED);
    const bob = new RecordingSession('bob', CAN_BE_ASKED);
    const ctx = context([inFlight('c1', ada, 11), inFlight('c2', bob, 22)]);
    const refused = route(elicit({ [CALL_META_KEY]: 'c-unknown' }), ctx);
    await expect(refused).rejects.toBeInstanceOf(ProtocolError);
    await expect(refused).rejects.toThrow(/cannot tell which client session this elicitation\/create request belongs to \(2 calls in flight to "pm"/);
    await expect(refused).rejects.toThrow(/"isolation": "per-user" on upstream "pm"/);
    await expect(route(elicit(), context([]))).rejects.toThrow(/0 calls in flight/);
    expect(ada.asked).toEqual([]);
    expect(bob.asked).toEqual([]);
  });

  it('takes the echoed call id over the stream and the caller', async () => {
    const ada = new RecordingSession('ada', CAN_BE_ASKED);
    const bob = new RecordingSession('bob', CAN_BE_ASKED);
    const ctx = context([inFlight('c1', ada, 11, 101), inFlight('c2', bob, 22, 102)], { streamOwner: 102 });
    await route(elicit({ [CALL_META_KEY]: 'c1', [CALLER_META_KEY]: { user: 'bob', session: 'bob' } }), ctx);
    expect(ada.asked).toHaveLength(1);
    expect(bob.asked).toEqual([]);
  });

  it("passes the request on without the gateway's reserved _meta keys", async () => {
    const ada = new RecordingSession('ada', CAN_BE_ASKED);
    await route(
      elicit({ [CALL_META_KEY]: 'c1', [CALLER_META_KEY]: { user: 'ada' }, progressToken: 9, 'example.com/k': 'v' }),
      context([inFlight('c1', ada, 11)]),
    );
    expect(ada.asked[0]!.params).toEqual({ message: 'Delete 3 tasks?', requestedSchema: { type: 'object', properties: {} }, _meta: { 'example.com/k': 'v' } });
  });

  it('refuses a request the chosen client did not declare it can answer', async () => {
    const ada = new RecordingSession('ada', { sampling: {} });
    const ctx = context([inFlight('c1', ada, 11)]);
    await expect(route(elicit({ [CALL_META_KEY]: 'c1' }), ctx)).rejects.toThrow(
      'The client session of this call did not declare the "elicitation" capability, so elicitation/create cannot be sent to it.',
    );
    await expect(route({ method: 'roots/list' }, ctx)).rejects.toThrow('"roots" capability');
    expect(ada.asked).toEqual([]);
  });
});
