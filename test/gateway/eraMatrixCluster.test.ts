/**
 * 2026-07-28 clients on two gateway instances behind a round-robin balancer without affinity
 * (`cluster: { redis: true }`, Redis and a shared PostgreSQL for the project-management children).
 * The instances share MANIFOLD_REQUEST_STATE_KEY, and pass it to their pm children
 * (`stdio.inheritEnv`), so a multi round-trip call may be retried on either instance: the
 * gateway's own seal and the child's state inside it both open there.
 *
 * - an input_required round trip driven by hand: the first round on instance A, the retry on B
 *   (and the other way round);
 * - the same through the balancer with the SDK v2 client, checking that the two rounds were
 *   answered by different instances;
 * - the whole era matrix (eraMatrixCells.ts) through the balancer, for every client kind: a 2025
 *   session's requests alternate between the instances too (its state is shared through Redis).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTemporaryDatabase, postgresAvailable, type TemporaryDatabase } from '../support/databases.js';
import { connectClient, LEGACY_V1, LEGACY_V2, MODERN_V2, type ClientKind, type EraClient } from '../support/eraClients.js';
import { postModern, type ModernRequestOptions, type WireAnswer } from '../support/modernWire.js';
import { REDIS_URL, redisAvailable } from '../support/redis.js';
import { RoundRobinProxy } from '../support/roundRobinProxy.js';
import { TestIssuer } from '../support/testIssuer.js';
import { waitFor } from '../support/waitFor.js';
import { answeringHandlers, ASKABLE, CELLS, conformanceUpstream, MATRIX, ok, PROJECT, SUBTASKS, type Cell, type Deployment } from './eraMatrixCells.js';
import { fixtureUpstream, ROOT, startGateway, waitReady, type RunningGateway } from './harness.js';

/** The modern client first: it creates the project the other rows use. */
const CLIENTS: readonly ClientKind[] = [MODERN_V2, LEGACY_V2, LEGACY_V1];

const runnable = postgresAvailable() && (await redisAvailable('the era matrix on two gateway instances'));

type Params = Record<string, unknown>;

describe.runIf(runnable)('2026-07-28 clients on two gateway instances behind a balancer without affinity', () => {
  let issuer: TestIssuer;
  let proxy: RoundRobinProxy;
  let database: TemporaryDatabase;
  let instances: RunningGateway[] = [];
  let token: string;
  const deployment: Deployment = { url: '', instances: [] };

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
    proxy = await new RoundRobinProxy().start();
    database = await createTemporaryDatabase();
    const config = {
      auth: { mode: 'oauth', issuer: issuer.issuer, publicUrl: proxy.url },
      cluster: { redis: true },
      limits: { rate: { perUser: 10_000, writesPerUser: 10_000 } },
      upstreams: [
        {
          namespace: 'pm',
          stdio: {
            command: process.execPath,
            args: [join(ROOT, 'dist', 'servers', 'project-management', 'main.js')],
            cwd: ROOT,
            env: { DATABASE_URL: database.url, LOG_LEVEL: 'warn' },
            inheritEnv: ['MANIFOLD_REQUEST_STATE_KEY'],
          },
        },
        fixtureUpstream('fx'),
        conformanceUpstream(),
      ],
    };
    // The same key for both instances; without it each would seal with a key of its own.
    const env = { REDIS_URL, MANIFOLD_REQUEST_STATE_KEY: randomBytes(36).toString('base64') };
    instances = await Promise.all([startGateway(config, { env }), startGateway(config, { env })]);
    await Promise.all(instances.map((gateway) => waitReady({ ...gateway, base: gateway.direct })));
    proxy.backends = instances.map((gateway) => gateway.direct);
    // A user of its own: rate limits are per user and shared through Redis.
    token = await issuer.accessToken(`${proxy.url}/mcp`, { sub: `era-cluster-${process.pid}`, scope: 'pm:admin fx:admin cf:admin' });
    deployment.url = `${proxy.url}/mcp`;
    deployment.token = token;
    deployment.instances = instances;
  });

  afterAll(async () => {
    await Promise.all(instances.map((gateway) => gateway.stop()));
    await proxy?.stop();
    await database?.drop();
    await issuer?.stop();
  });

  const connect = (asked: Cell['asked'], kind: ClientKind = MODERN_V2): Promise<EraClient> =>
    connectClient(
      kind,
      { kind: 'http', url: deployment.url },
      { headers: { authorization: `Bearer ${token}` }, capabilities: ASKABLE, handlers: answeringHandlers(asked) },
    );

  /** Raw 2026 requests straight to one instance. */
  const on =
    (instance: RunningGateway) =>
    (method: string, params: Params, options: ModernRequestOptions = {}): Promise<WireAnswer> =>
      postModern(`${instance.direct}/mcp`, method, params, { ...options, headers: { authorization: `Bearer ${token}` } });

  const resultOf = (answer: WireAnswer): Params => {
    expect(answer.message.error, JSON.stringify(answer.message.error)).toBeUndefined();
    return answer.message.result!;
  };

  it('answers a retry on instance B with the requestState instance A sealed, and the other way round', async () => {
    const [a, b] = instances as [RunningGateway, RunningGateway];
    const onA = on(a);
    const onB = on(b);
    const elicits = { clientCapabilities: { elicitation: {} } };
    const samples = { clientCapabilities: { sampling: {} } };

    // delete_task: asked on A, confirmed on B.
    const created = resultOf(await onA('tools/call', { name: 'pm__create_task', arguments: { title: 'Deleted across instances' } }));
    const id = (created.structuredContent as { task: { id: string } }).task.id;
    const asked = resultOf(await onA('tools/call', { name: 'pm__delete_task', arguments: { id } }, elicits));
    expect(asked).toMatchObject({ resultType: 'input_required', inputRequests: { confirm: { method: 'elicitation/create' } } });
    const confirmed = resultOf(
      await onB(
        'tools/call',
        {
          name: 'pm__delete_task',
          arguments: { id },
          inputResponses: { confirm: { action: 'accept', content: { confirm: true } } },
          requestState: asked.requestState,
        },
        elicits,
      ),
    );
    expect(confirmed.structuredContent).toMatchObject({ status: 'deleted', deleted_ids: [id] });
    expect(resultOf(await onA('tools/call', { name: 'pm__get_task_details', arguments: { id } })).isError).toBe(true);

    // generate_task_breakdown: asked on B, answered on A.
    const objective = 'Sampled on one instance, stored through the other';
    const breakdown = { name: 'pm__generate_task_breakdown', arguments: { objective, max_subtasks: 2 } };
    const sampling = resultOf(await onB('tools/call', breakdown, samples));
    expect(sampling.resultType).toBe('input_required');
    const [key, request] = Object.entries(sampling.inputRequests as Record<string, { method: string }>)[0]!;
    expect(request.method).toBe('sampling/createMessage');
    const answer = { role: 'assistant', model: 'test-model', content: { type: 'text', text: JSON.stringify(SUBTASKS.map((title) => ({ title }))) } };
    const stored = resultOf(await onA('tools/call', { ...breakdown, inputResponses: { [key]: answer }, requestState: sampling.requestState }, samples));
    expect((stored.structuredContent as { subtasks: Array<{ title: string }> }).subtasks.map((s) => s.title)).toEqual(SUBTASKS);
    const listed = resultOf(await onB('tools/call', { name: 'pm__list_tasks', arguments: {} }));
    expect((listed.structuredContent as { tasks: Array<{ title: string }> }).tasks.map((t) => t.title)).toEqual(
      expect.arrayContaining([objective.slice(0, 200), ...SUBTASKS]),
    );
  });

  it("answers the SDK v2 client's multi round-trip calls through the balancer, each round on another instance", async () => {
    const asked: Cell['asked'] = { sampling: [], elicitation: [], roots: [] };
    const client = await connect(asked);
    const logged = (instance: RunningGateway, tool: string): number =>
      instance.logs.filter((line) => line.msg === 'tool call' && (line.call as { name?: string } | undefined)?.name === tool).length;
    try {
      const before = instances.map((instance) => [logged(instance, 'pm__generate_task_breakdown'), logged(instance, 'pm__delete_task')]);
      const { subtasks } = ok(
        await client.callTool({ name: 'pm__generate_task_breakdown', arguments: { objective: 'Planned behind the balancer', max_subtasks: 2 } }),
      ).structuredContent as {
        subtasks: Array<{ title: string }>;
      };
      expect(subtasks.map((s) => s.title)).toEqual(SUBTASKS);
      const { task } = ok(await client.callTool({ name: 'pm__create_task', arguments: { title: 'Confirmed behind the balancer' } })).structuredContent as {
        task: { id: string };
      };
      expect(ok(await client.callTool({ name: 'pm__delete_task', arguments: { id: task.id } })).structuredContent).toMatchObject({ status: 'deleted' });
      expect(asked.sampling).toHaveLength(1);
      expect(asked.elicitation).toEqual([expect.stringMatching(new RegExp(`^Delete ${task.id} `))]);
      // Each call took two rounds, and each instance answered one of them.
      await waitFor(
        "both rounds of both calls in the instances' logs",
        () =>
          instances.every(
            (instance, i) => logged(instance, 'pm__generate_task_breakdown') > before[i]![0]! && logged(instance, 'pm__delete_task') > before[i]![1]!,
          ),
        5000,
      );
    } finally {
      await client.close();
    }
  });

  describe.each(CLIENTS)('the era matrix for a %s client, through the balancer', (kind) => {
    const asked: Cell['asked'] = { sampling: [], elicitation: [], roots: [] };
    let cell: Cell;

    beforeAll(async () => {
      const client = await connect(asked, kind);
      cell = { kind, client, deployment, asked };
      if (kind === MODERN_V2) ok(await client.callTool({ name: 'pm__create_project', arguments: { key: PROJECT, name: 'Era matrix' } }));
    });

    afterAll(async () => {
      await cell?.client.close();
    });

    it.each(CELLS)('%s × %s upstream', async (feature, upstream) => {
      await MATRIX[feature][upstream](cell);
    });
  });
});
