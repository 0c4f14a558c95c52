/**
 * A third-party stdio upstream that asks for input mid-call without echoing the gateway's
 * `_meta` (`@modelcontextprotocol/server-everything`, whose trigger-elicitation-request tool
 * sends elicitation/create with nothing that names the call). Two sessions call it at the same
 * moment:
 * - with `isolation: "per-user"` each call runs on a connection of its own, and each session is
 *   asked, and answers, its own elicitation;
 * - on a shared connection the gateway cannot tell whose it is, and refuses it, naming the
 *   setting that fixes it, rather than guessing.
 * A 2026-07-28 client's call through an isolated connection is bridged as for any 2025 upstream.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postModern } from '../support/modernWire.js';
import { waitFor } from '../support/waitFor.js';
import { everythingUpstream, readiness, startGateway, textOf, waitReady, type RunningGateway } from './harness.js';

const TOOL = 'trigger-elicitation-request';

describe('two sessions and an upstream that elicits without echoing _meta', () => {
  let gateway: RunningGateway;

  beforeAll(async () => {
    gateway = await startGateway({
      upstreams: [everythingUpstream('iso', { isolation: 'per-user', isolationPool: { perUser: 4, total: 8, idleMs: 2_000 } }), everythingUpstream('shared')],
    });
    await waitReady(gateway);
  });

  afterAll(async () => {
    await gateway?.stop();
  });

  /**
   * Two sessions, each answering with its own name once both have been asked (so that both
   * calls are in flight at the same moment).
   */
  async function twoSessionsAtOnce(namespace: string): Promise<{ results: string[]; asked: string[] }> {
    const asked: string[] = [];
    let bothAsked: () => void = () => undefined;
    const barrier = new Promise<void>((resolve) => (bothAsked = resolve));
    const clients = await Promise.all(
      ['Ada', 'Grace'].map(async (name) => {
        const client = new Client({ name: `session-${name}`, version: '1.0.0' }, { capabilities: { elicitation: { form: {} } } });
        client.setRequestHandler(ElicitRequestSchema, async (request) => {
          asked.push(`${name}: ${request.params.message}`);
          if (asked.length === 2) bothAsked();
          await Promise.race([barrier, new Promise((resolve) => setTimeout(resolve, 3_000))]);
          return { action: 'accept', content: { name } };
        });
        await client.connect(new StreamableHTTPClientTransport(new URL(gateway.url)));
        return { name, client };
      }),
    );
    try {
      const results = await Promise.all(clients.map(({ client }) => client.callTool({ name: `${namespace}__${TOOL}`, arguments: {} }).then(textOf, (error: Error) => error.message)));
      return { results, asked };
    } finally {
      await Promise.all(clients.map(({ client }) => client.close()));
    }
  }

  it('with isolation "per-user", asks each session its own elicitation and gives each its own answer', async () => {
    const { results, asked } = await twoSessionsAtOnce('iso');
    expect(asked.sort()).toEqual(['Ada: Please provide inputs for the following fields:', 'Grace: Please provide inputs for the following fields:']);
    expect(results[0]).toContain('"name": "Ada"');
    expect(results[0]).not.toContain('Grace');
    expect(results[1]).toContain('"name": "Grace"');
    expect(results[1]).not.toContain('Ada');
    // Two connections of the user's own were started; idle, they are closed again.
    expect(gateway.logs.filter((line) => line.msg === 'isolated upstream connection starting' && line.upstream === 'iso')).toHaveLength(2);
    await waitFor('the idle isolated connections to close', () => gateway.logs.filter((line) => line.msg === 'isolated upstream connection closed' && line.upstream === 'iso').length === 2, 10_000);
    // The shared connection carried none of those calls.
    expect((await readiness(gateway)).upstreams.find((u) => u.namespace === 'iso')).toMatchObject({ state: 'ready', inFlight: 0 });
  });

  it('on a shared connection, refuses what it cannot attribute, and says which setting fixes it', async () => {
    const { results, asked } = await twoSessionsAtOnce('shared');
    expect(asked).toEqual([]);
    for (const result of results) {
      expect(result).toContain('cannot tell which client session this elicitation/create request belongs to');
      expect(result).toContain('set "isolation": "per-user" on upstream "shared"');
    }
  });

  it("bridges a 2026-07-28 client's call through an isolated connection", async () => {
    const call = { name: `iso__${TOOL}`, arguments: {} };
    const options = { clientCapabilities: { elicitation: { form: {} } } };
    const first = await postModern(gateway.url, 'tools/call', call, options);
    const round = first.message.result!;
    expect(round.resultType).toBe('input_required');
    const [key, request] = Object.entries(round.inputRequests as Record<string, { method: string; params: { message: string } }>)[0]!;
    expect(request).toMatchObject({ method: 'elicitation/create', params: { message: 'Please provide inputs for the following fields:' } });
    const done = await postModern(gateway.url, 'tools/call', { ...call, requestState: round.requestState, inputResponses: { [key]: { action: 'accept', content: { name: 'Modern Ada' } } } }, options);
    expect(done.message.result?.resultType).toBe('complete');
    expect(textOf(done.message.result)).toContain('"name": "Modern Ada"');
  });
});
