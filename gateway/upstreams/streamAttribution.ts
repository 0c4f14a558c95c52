/**
 * Which forwarded call a 2025 Streamable HTTP upstream's mid-call request belongs to, by the
 * stream it arrives on: the upstream sends a sampling, elicitation or roots request related to
 * a call on that call's own POST response stream (MCP 2025-11-25, transports). The SDK client
 * transport does not say which stream a message came on, so the gateway's fetch for the upstream
 * looks at each POST of a forwarded call as its SSE answer passes through, and notes the ids of
 * the requests in it (`owners`: upstream request id → the forwarded call's JSON-RPC id), before
 * the SDK reads them.
 */
export class StreamOwners {
  private readonly owners = new Map<string, number>();

  /** The forwarded call whose stream brought the upstream's request `id`, once. */
  take(id: unknown): number | undefined {
    const key = JSON.stringify(id);
    const owner = this.owners.get(key);
    if (owner !== undefined) this.owners.delete(key);
    return owner;
  }

  /** `inner`, noting the requests each forwarded call's SSE answer carries (while `active()`). */
  wrapFetch(inner: typeof fetch, active: () => boolean): typeof fetch {
    return async (input, init) => {
      const response = await inner(input, init);
      if (!active() || init?.method !== 'POST' || typeof init.body !== 'string' || !response.body) return response;
      if (!response.headers.get('content-type')?.includes('text/event-stream')) return response;
      const call = forwardedCallId(init.body);
      if (call === undefined) return response;
      return new Response(response.body.pipeThrough(this.noting(call)), {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    };
  }

  /** Passes an SSE stream through unchanged, noting the ids of the requests in it as `call`'s. */
  private noting(call: number): TransformStream<Uint8Array, Uint8Array> {
    const decoder = new TextDecoder();
    const noted: string[] = [];
    let pending = '';
    const owners = this.owners;
    return new TransformStream({
      transform(chunk, controller) {
        pending += decoder.decode(chunk, { stream: true });
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          if (!line.startsWith('data:') || !line.includes('"method"')) continue;
          try {
            const message = JSON.parse(line.slice(5)) as { id?: unknown; method?: unknown };
            if (typeof message.method === 'string' && (typeof message.id === 'string' || typeof message.id === 'number')) {
              const key = JSON.stringify(message.id);
              owners.set(key, call);
              noted.push(key);
            }
          } catch {
            // not JSON: the SDK reports it
          }
        }
        controller.enqueue(chunk);
      },
      flush() {
        // Requests of a stream that has ended and were never routed are forgotten.
        setTimeout(() => {
          for (const key of noted) if (owners.get(key) === call) owners.delete(key);
        }, 1000).unref();
      },
    });
  }
}

/** The id of the JSON-RPC request in a POST body if it is a call the gateway forwarded (ForwardedRequests ids are ≥ 2^40). */
function forwardedCallId(body: string): number | undefined {
  if (!body.startsWith('{') || !body.includes('"method"')) return undefined;
  try {
    const message = JSON.parse(body) as { id?: unknown; method?: unknown };
    return typeof message.id === 'number' && message.id >= 2 ** 40 && typeof message.method === 'string' ? message.id : undefined;
  } catch {
    return undefined;
  }
}
