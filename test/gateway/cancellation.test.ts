import { describe, expect, it } from 'vitest';
import { CallCancellation, cancellationOf } from '../../gateway/upstreams/cancellation.js';

describe('call cancellation', () => {
  it('tells every listener once, with the reason, and forgets removed ones', () => {
    const cancellation = new CallCancellation();
    const heard: unknown[] = [];
    cancellation.onAbort((reason) => heard.push(['first', reason]));
    const remove = cancellation.onAbort((reason) => heard.push(['removed', reason]));
    cancellation.onAbort((reason) => heard.push(['last', reason]));
    remove();
    expect(cancellation.aborted).toBe(false);
    cancellation.abort('the client cancelled');
    cancellation.abort('again');
    expect(cancellation.aborted).toBe(true);
    expect(cancellation.reason).toBe('the client cancelled');
    expect(heard).toEqual([
      ['first', 'the client cancelled'],
      ['last', 'the client cancelled'],
    ]);
  });

  it('mirrors an AbortSignal: its state, its reason, and its abort event', () => {
    const controller = new AbortController();
    const cancellation = cancellationOf(controller.signal);
    const heard: unknown[] = [];
    cancellation.onAbort((reason) => heard.push(reason));
    const remove = cancellation.onAbort(() => heard.push('removed'));
    remove();
    expect(cancellation.aborted).toBe(false);
    controller.abort('stop');
    expect(cancellation.aborted).toBe(true);
    expect(cancellation.reason).toBe('stop');
    expect(heard).toEqual(['stop']);
  });
});
