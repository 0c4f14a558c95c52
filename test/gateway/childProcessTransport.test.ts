import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { ChildProcessTransport } from '../../gateway/upstreams/childProcessTransport.js';
import { wireSizeOf } from '../../gateway/upstreams/wireSize.js';

/** A child that writes `pieces` to stdout one after the other, 20 ms apart, then waits; BIG stands for 200,000 x's. */
function childWriting(pieces: string[]): ChildProcessTransport {
  const script = `const pieces = ${JSON.stringify(pieces)}.map((piece) => piece.replace('BIG', 'x'.repeat(200000)));
let i = 0;
const next = () => { if (i < pieces.length) { process.stdout.write(pieces[i++]); setTimeout(next, 20); } };
next();
setInterval(() => {}, 1000);`;
  return new ChildProcessTransport({ command: process.execPath, args: ['-e', script], env: { ...process.env } as Record<string, string>, cwd: undefined });
}

let transport: ChildProcessTransport | undefined;
afterEach(async () => {
  await transport?.close(200);
  transport = undefined;
});

async function collect(child: ChildProcessTransport, count: number): Promise<{ messages: JSONRPCMessage[]; errors: string[] }> {
  const messages: JSONRPCMessage[] = [];
  const errors: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${messages.length} of ${count} messages arrived`)), 5000);
    child.onerror = (error) => errors.push(error.message);
    child.onmessage = (message) => {
      messages.push(message);
      if (messages.length === count) {
        clearTimeout(timer);
        resolve();
      }
    };
    void child.start();
  });
  return { messages, errors };
}

describe('the stdio transport to a child', () => {
  it('reassembles lines split across reads, accepts CRLF and skips blank lines, and reports a non-JSON line without losing the next', async () => {
    const big = 'x'.repeat(200_000);
    const first = '{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"été"}]}}';
    transport = childWriting([
      first.slice(0, 20),
      first.slice(20, 40),
      `${first.slice(40)}\r\n{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"two in one read"}}\n\n`,
      'not json\n{"jsonrpc":"2.0","id":2,"result":{"text":"BIG"}}\n',
    ]);
    const { messages, errors } = await collect(transport, 3);
    expect(messages[0]).toEqual({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: 'été' }] } });
    expect(messages[1]).toMatchObject({ method: 'notifications/message', params: { data: 'two in one read' } });
    expect((messages[2] as unknown as { result: { text: string } }).result.text).toBe(big);
    expect(errors).toEqual([expect.stringMatching(/non-JSON line on stdout: not json/)]);
  });

  it('notes the size a result had on the wire, in UTF-8 bytes, so it need not be serialized again', async () => {
    const line = '{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"héllo"}]}}';
    transport = childWriting([`${line}\n`]);
    const { messages } = await collect(transport, 1);
    const result = (messages[0] as { result: object }).result;
    expect(wireSizeOf(result)).toBe(Buffer.byteLength(line, 'utf8'));
    expect(wireSizeOf({ ...result })).toBeUndefined();
  });
});
