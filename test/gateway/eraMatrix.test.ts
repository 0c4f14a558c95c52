/**
 * The era matrix: every kind of client × every kind of upstream × every feature, through one
 * gateway (its aggregate endpoint, /mcp). The cells and the table of what each calls are in
 * eraMatrixCells.ts.
 *
 * Clients:   SDK v2 pinned to 2026-07-28 · SDK v2 in its default legacy mode (2025-11-25) · SDK v1 (2025-11-25).
 * Upstreams: modern — project-management (`pm`; `cf`, the conformance fixture, for progress and
 *            cancellation); legacy — the SDK v1 fixture server (`fx`, stdio, `protocol: auto`).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, LEGACY_V1, LEGACY_V2, MODERN_V2, type ClientKind } from '../support/eraClients.js';
import { answeringHandlers, ASKABLE, CELLS, conformanceUpstream, MATRIX, ok, PROJECT, type Cell, type Deployment } from './eraMatrixCells.js';
import { fixtureUpstream, ROOT, startGateway, waitReady, type RunningGateway } from './harness.js';

const CLIENTS: readonly ClientKind[] = [MODERN_V2, LEGACY_V2, LEGACY_V1];

let gateway: RunningGateway;
const deployment: Deployment = { url: '', instances: [] };

beforeAll(async () => {
  gateway = await startGateway({
    upstreams: [
      {
        namespace: 'pm',
        stdio: {
          command: process.execPath,
          args: [join(ROOT, 'dist', 'servers', 'project-management', 'main.js')],
          env: { MANIFOLD_DATA_DIR: mkdtempSync(join(tmpdir(), 'manifold-era-pm-')), LOG_LEVEL: 'warn' },
        },
      },
      fixtureUpstream('fx'),
      conformanceUpstream(),
    ],
  });
  const ready = await waitReady(gateway);
  // The premise of the matrix: the revision the gateway negotiated with each upstream.
  expect(Object.fromEntries(ready.upstreams.map((u) => [u.namespace, (u as { protocolVersion?: string }).protocolVersion]))).toEqual({
    pm: '2026-07-28',
    fx: '2025-11-25',
    cf: '2026-07-28',
  });
  deployment.url = gateway.url;
  deployment.instances = [gateway];
  const setup = await connectClient(LEGACY_V1, { kind: 'http', url: gateway.url });
  ok(await setup.callTool({ name: 'pm__create_project', arguments: { key: PROJECT, name: 'Era matrix' } }));
  await setup.close();
});

afterAll(async () => {
  await gateway?.stop();
});

describe.each(CLIENTS)('a %s client through the gateway', (kind) => {
  const asked: Cell['asked'] = { sampling: [], elicitation: [], roots: [] };
  let cell: Cell;

  beforeAll(async () => {
    const client = await connectClient(kind, { kind: 'http', url: deployment.url }, { capabilities: ASKABLE, handlers: answeringHandlers(asked) });
    expect(client.era).toBe(kind === MODERN_V2 ? 'modern' : 'legacy');
    cell = { kind, client, deployment, asked };
  });

  afterAll(async () => {
    await cell?.client.close();
  });

  it.each(CELLS)('%s × %s upstream', async (feature, upstream) => {
    await MATRIX[feature][upstream](cell);
  });
});

describe('a 2026-07-28 client on one upstream alone (/servers/{namespace}/mcp), with its own names', () => {
  it('confirms a deletion through pm, and answers what the 2025 fixture fx asks mid-call', async () => {
    const asked: Cell['asked'] = { sampling: [], elicitation: [], roots: [] };
    const options = { capabilities: ASKABLE, handlers: answeringHandlers(asked) };
    const pm = await connectClient(MODERN_V2, { kind: 'http', url: `${gateway.base}/servers/pm/mcp` }, options);
    const fx = await connectClient(MODERN_V2, { kind: 'http', url: `${gateway.base}/servers/fx/mcp` }, options);
    try {
      const { task } = ok(await pm.callTool({ name: 'create_task', arguments: { title: 'Deleted on its own endpoint', project: PROJECT } }))
        .structuredContent as { task: { id: string } };
      expect(ok(await pm.callTool({ name: 'delete_task', arguments: { id: task.id } })).structuredContent).toMatchObject({
        status: 'deleted',
        deleted_ids: [task.id],
      });
      expect(asked.elicitation).toEqual([expect.stringMatching(new RegExp(`^Delete ${task.id} `))]);
      // fx speaks 2025-11-25 and sends sampling/createMessage mid-call: bridged as an input_required round.
      expect(JSON.stringify(ok(await fx.callTool({ name: 'ask_llm', arguments: { prompt: 'Say hi' } })).content)).toContain('sampled: answer to Say hi');
      expect(asked.sampling).toEqual(['Say hi']);
    } finally {
      await Promise.all([pm.close(), fx.close()]);
    }
  });
});
