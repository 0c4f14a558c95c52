import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A load balancer for tests: every request goes to the next backend in turn, with no
 * session affinity at all (the hardest case for a stateful protocol), and a backend that
 * refuses connections is skipped. Streams (SSE) are piped through as they come.
 */
export class RoundRobinProxy {
  private server?: Server;
  private next = 0;
  backends: string[] = [];
  /** How many requests each backend answered, by origin. */
  readonly served = new Map<string, number>();
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.forward(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  private async forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    for (let attempt = 0; attempt < this.backends.length; attempt++) {
      const backend = this.backends[this.next++ % this.backends.length]!;
      const ok = await new Promise<boolean>((resolve) => {
        let clientGone = false;
        const upstream = request(new URL(req.url ?? '/', backend), { method: req.method, headers: req.headers }, (answer) => {
          this.served.set(backend, (this.served.get(backend) ?? 0) + 1);
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          resolve(true);
        });
        // A request the client gave up on (closing it cancels it, in MCP 2026-07-28) is not sent
        // to the next backend: only a backend that fails while the client waits is skipped.
        upstream.on('error', () => resolve(clientGone));
        res.on('close', () => {
          clientGone = true;
          upstream.destroy();
        });
        upstream.end(body);
      });
      if (ok) return;
    }
    res.writeHead(502).end('no backend answered');
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
