import { describe, expect, it } from 'vitest';
import { SseEventLog } from '../../../../gateway/session/sseEventLog.js';

describe('the SSE event log of one session', () => {
  it('numbers events per session, across its streams, in ids that name the stream', () => {
    const log = new SseEventLog(10);
    const ids = [log.append('s0', 'a'), log.append('p1', 'b'), log.append('s0', 'c')].map((event) => SseEventLog.formatId(event));
    expect(ids).toEqual(['s0.1', 'p1.2', 's0.3']);
  });

  it('parses the ids it formats, and nothing else', () => {
    expect(SseEventLog.parseId('p1a.42')).toEqual({ streamId: 'p1a', seq: 42 });
    expect(SseEventLog.parseId(SseEventLog.formatId({ streamId: 's0', seq: 7 }))).toEqual({ streamId: 's0', seq: 7 });
    for (const bad of ['', 's0', 's0.', '.4', 's0.-1', 'S0.1', 's0.1.2', 's0.1 ', 'p1.x']) expect(SseEventLog.parseId(bad)).toBeUndefined();
  });

  it('replays the events of one stream after a sequence, oldest first', () => {
    const log = new SseEventLog(10);
    log.append('s0', 'a');
    log.append('p1', 'b');
    log.append('s0', 'c');
    log.append('s0', 'd');
    expect(log.after('s0', 1).map((event) => event.payload)).toEqual(['c', 'd']);
    expect(log.after('p1', 0).map((event) => event.payload)).toEqual(['b']);
    expect(log.after('s0', 4)).toEqual([]);
    expect(log.after('p9', 0)).toEqual([]);
  });

  it('keeps only the last `capacity` events', () => {
    const log = new SseEventLog(2);
    for (const payload of ['a', 'b', 'c', 'd']) log.append('s0', payload);
    expect(log.after('s0', 0).map((event) => `${event.seq}:${event.payload}`)).toEqual(['3:c', '4:d']);
  });

  it('keeps nothing with capacity 0, yet still numbers events', () => {
    const log = new SseEventLog(0);
    log.append('s0', 'a');
    expect(log.append('s0', 'b').seq).toBe(2);
    expect(log.after('s0', 0)).toEqual([]);
  });
});
