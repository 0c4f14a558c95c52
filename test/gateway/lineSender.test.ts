import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { lineSender } from '../../shared/lineSender.js';

/** A pipe-like stream with room for 64 bytes that takes a chunk every 2 ms: a slow reader. */
function slowStream(): { stream: Writable; lines: () => string[] } {
  let received = '';
  const stream = new Writable({
    highWaterMark: 64,
    write(chunk: Buffer, _encoding, done) {
      received += chunk.toString('utf8');
      setTimeout(done, 2);
    },
  });
  return { stream, lines: () => received.split('\n').filter(Boolean) };
}

describe('sending newline-delimited messages to a slow reader', () => {
  it('sends every message in order, and waits for the reader with one listener however many messages queue', async () => {
    const { stream, lines } = slowStream();
    const send = lineSender(stream);
    const sent = Array.from({ length: 50 }, (_, i) => send({ jsonrpc: '2.0', id: i, result: { text: `answer ${i}` } }));
    expect(stream.listenerCount('drain')).toBe(1);
    await Promise.all(sent);
    expect(stream.listenerCount('drain')).toBe(0);
    expect(lines().map((line) => (JSON.parse(line) as { id: number }).id)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    // Once drained, the next message goes out at once.
    await send({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'after' } });
    expect(lines().at(-1)).toContain('"after"');
  });
});
