import type { Writable } from 'node:stream';

/**
 * Send JSON-RPC messages as newline-delimited JSON on a stream (the stdio transport), honouring
 * back-pressure: while the stream is full, every message sent waits for the same `drain`. One
 * listener per waiting message, as the SDK's stdio transports add, piles up past Node's
 * listener-leak warning when many answers are queued for a slow reader.
 */
export function lineSender(stream: Writable): (message: unknown) => Promise<void> {
  let drained: Promise<void> | undefined;
  return (message) => {
    if (stream.write(`${JSON.stringify(message)}\n`)) return Promise.resolve();
    drained ??= new Promise((resolve) => {
      stream.once('drain', () => {
        drained = undefined;
        resolve();
      });
    });
    return drained;
  };
}
