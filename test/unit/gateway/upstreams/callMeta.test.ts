import { describe, expect, it } from 'vitest';
import { askableCapabilities, forwardedMeta, mayBeAsked, stripReserved } from '../../../../gateway/upstreams/callMeta.js';
import type { CallOrigin } from '../../../../gateway/upstreams/types.js';
import { CALLER_META_KEY } from '../../../../shared/callerContext.js';
import { CALL_META_KEY } from '../../../../shared/relatedRequestMeta.js';
import { RecordingSession } from '../../support/seams.js';

const origin = (capabilities: Record<string, unknown> = {}): CallOrigin => ({
  caller: { user: 'ada', email: 'ada@example.com', scopes: ['pm:write'], session: 'session-ada' },
  session: new RecordingSession('session-ada', capabilities),
  requestId: 4,
});

describe('the _meta of a forwarded request', () => {
  it('drops the keys only the gateway may set, whatever the client put there', () => {
    const meta = forwardedMeta(
      {
        [CALLER_META_KEY]: { user: 'admin', scopes: ['pm:admin'] },
        [CALL_META_KEY]: 'c-forged',
        progressToken: 'p1',
        traceparent: '00-abc-def-01',
        'example.com/tag': 'kept',
      },
      undefined,
      undefined,
    );
    expect(meta).toEqual({ traceparent: '00-abc-def-01', 'example.com/tag': 'kept' });
  });

  it("adds the caller's identity, the call id and what the client can be asked for", () => {
    const meta = forwardedMeta(
      { [CALLER_META_KEY]: { user: 'mallory', scopes: [] }, 'example.com/tag': 'kept' },
      origin({ elicitation: {}, experimental: { x: {} } }),
      'c42',
    );
    expect(meta).toEqual({
      'example.com/tag': 'kept',
      [CALLER_META_KEY]: { user: 'ada', email: 'ada@example.com', scopes: ['pm:write'], session: 'session-ada', clientCapabilities: { elicitation: {} } },
      [CALL_META_KEY]: 'c42',
    });
  });

  it('starts from nothing when the client sent no _meta', () => {
    expect(forwardedMeta(undefined, undefined, undefined)).toEqual({});
    expect(forwardedMeta(undefined, origin(), 'c1')).toMatchObject({ [CALL_META_KEY]: 'c1', [CALLER_META_KEY]: { user: 'ada', clientCapabilities: {} } });
  });

  it("leaves the client's own _meta object untouched", () => {
    const sent = { progressToken: 'p', other: 1 };
    forwardedMeta(sent, origin(), 'c1');
    expect(sent).toEqual({ progressToken: 'p', other: 1 });
    expect(stripReserved(undefined)).toBeUndefined();
  });
});

describe('what a client can be asked mid-call', () => {
  it('keeps sampling, elicitation and roots only', () => {
    expect(askableCapabilities({ sampling: {}, roots: { listChanged: true }, experimental: {}, tasks: {} })).toEqual({
      sampling: {},
      roots: { listChanged: true },
    });
    expect(askableCapabilities(undefined)).toEqual({});
  });

  it('tells whether anything can be asked', () => {
    expect(mayBeAsked(undefined)).toBe(false);
    expect(mayBeAsked({ experimental: {} })).toBe(false);
    expect(mayBeAsked({ elicitation: {} })).toBe(true);
    expect(mayBeAsked({ roots: {} })).toBe(true);
  });
});
