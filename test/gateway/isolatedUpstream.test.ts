/**
 * A third-party stdio upstream that asks for input mid-call without echoing the gateway's
 * `_meta` (`@modelcontextprotocol/server-everything`, whose trigger-elicitation-request tool
 * sends elicitation/create with nothing that names the call). Two sessions call it at the same
 * moment:
 * - with `isolation: "per-user"` each call runs on a connection of its own, and each session is
 *   asked, and answers, its own elicitation;
 * - with `isolation: "auto"` the second of two overlapping calls gets a connection of its own;
 * - on a shared connection (the default) the gateway cannot tell whose it is, and refuses it,
 *   naming the setting that fixes it, rather than guessing.
 * A 2026-07-28 client's call through an isolated connection is bridged as for any 2025 upstream.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postModern } from '../support/modernWire.js';
import { waitFor } from '../support/waitFor.js';
import { connect, everythingUpstream, FIXTURE_SERVER, fixtureUpstream, readiness, startGateway, textOf, waitReady, type RunningGateway } from './harness.js';

const TOOL = 'trigger-elicitation-request';

describe('two sessions and an upstream that elicits without echoing _meta', () => {
  let gateway: RunningGateway;
  let remote: ChildProcess;

  beforeAll(async () => {
    // The gateway fixture as a remote 2025 upstream answering with SSE streams.
    remote = spawn(process.execPath, [FIXTURE_SERVER, '--http', '0'], {
      env: { ...process.env, FIXTURE_NAME: 'rx', FIXTURE_SSE: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const remoteUrl = await new Promise<string>((resolve, reject) => {
      createInterface({ input: remote.stderr! }).on('line', (line) => {
        const url = (JSON.parse(line) as { url?: string }).url;
        if (url) resolve(url);
      });
      remote.once('exit', (code) => reject(new Error(`the remote fixture exited (${code})`)));
    });
    gateway = await startGateway({
      upstreams: [
        everythingUpstream('iso', { isolation: 'per-user', isolationPool: { perUser: 4, total: 8, idleMs: 2_000 } }),
        everythingUpstream('shared', { isolation: 'shared' }),
        // The gateway isolates calls only while they overlap.
        everythingUpstream('auto', { isolation: 'auto', isolationPool: { perUser: 4, total: 8, idleMs: 2_000 } }),
        // A small pool: overlapping calls beyond it wait for a connection of their user's.
        fixtureUpstream('burst', { isolation: 'auto', isolationPool: { perUser: 2, total: 4, idleMs: 2_000 } }),
        // One shared session to a remote server: its requests are told apart by the stream they arrive on.
        { namespace: 'rx', remote: { url: remoteUrl, transport: 'streamable-http' } },
      ],
    });
    await waitReady(gateway);
  });

  afterAll(async () => {
    await gateway?.stop();
    remote?.kill();
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
      const results = await Promise.all(
        clients.map(({ client }) => client.callTool({ name: `${namespace}__${TOOL}`, arguments: {} }).then(textOf, (error: Error) => error.message)),
      );
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
    await waitFor(
      'the idle isolated connections to close',
      () => gateway.logs.filter((line) => line.msg === 'isolated upstream connection closed' && line.upstream === 'iso').length === 2,
      10_000,
    );
    // The shared connection carried none of those calls.
    expect((await readiness(gateway)).upstreams.find((u) => u.namespace === 'iso')).toMatchObject({ state: 'ready', inFlight: 0 });
  });

  it('with isolation "auto", runs the second of two overlapping calls on a connection of its own, and each session gets its own answer', async () => {
    const { results, asked } = await twoSessionsAtOnce('auto');
    expect(asked.sort()).toEqual(['Ada: Please provide inputs for the following fields:', 'Grace: Please provide inputs for the following fields:']);
    expect(results[0]).toContain('"name": "Ada"');
    expect(results[0]).not.toContain('Grace');
    expect(results[1]).toContain('"name": "Grace"');
    expect(results[1]).not.toContain('Ada');
    // One call went on the shared connection, the other on one pooled connection.
    expect(gateway.logs.filter((line) => line.msg === 'isolated upstream connection starting' && line.upstream === 'auto')).toHaveLength(1);
  });

  /**
   * Two sessions (alice answers at once, bob a little later) calling `tool` of `namespace`, which
   * samples without echoing `_meta`, `calls` times alternately and all at once: each answer must
   * be its own session's.
   */
  async function overlappingSampling(namespace: string, calls: number): Promise<void> {
    const alice = await connect(gateway.url, { name: 'alice', onSampling: (prompt) => `alice answers ${prompt}` });
    const bob = await connect(gateway.url, {
      name: 'bob',
      onSampling: async (prompt) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        return `bob answers ${prompt}`;
      },
    });
    try {
      const answers = await Promise.all(
        Array.from({ length: calls }, (_, i) =>
          (i % 2 === 0 ? alice : bob).callTool({ name: `${namespace}__ask_llm`, arguments: { prompt: `q${i}`, echoMeta: false } }).then(textOf),
        ),
      );
      answers.forEach((answer, i) => expect(answer).toBe(`sampled: ${i % 2 === 0 ? 'alice' : 'bob'} answers q${i}`));
    } finally {
      await Promise.all([alice.close(), bob.close()]);
    }
  }

  const pooledStarts = (namespace: string): number =>
    gateway.logs.filter((line) => line.msg === 'isolated upstream connection starting' && line.upstream === namespace).length;

  it('with isolation "auto" and a full pool, has overlapping calls wait for a connection, and answers each session its own', async () => {
    // The fixture is told not to echo _meta: nothing but isolation can tell these calls apart.
    await overlappingSampling('burst', 8);
    expect(pooledStarts('burst')).toBeLessThanOrEqual(2);
  });

  it('tells apart the requests a remote 2025 upstream sends for two overlapping calls by the stream each arrives on', async () => {
    await overlappingSampling('rx', 6);
    // No pooled connection was needed.
    expect(pooledStarts('rx')).toBe(0);
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
    const done = await postModern(
      gateway.url,
      'tools/call',
      { ...call, requestState: round.requestState, inputResponses: { [key]: { action: 'accept', content: { name: 'Modern Ada' } } } },
      options,
    );
    expect(done.message.result?.resultType).toBe('complete');
    expect(textOf(done.message.result)).toContain('"name": "Modern Ada"');
  });
});
