/**
 * The cells of the era matrix (test/gateway/eraMatrix.test.ts, and its modern-client row on two
 * instances in eraMatrixCluster.test.ts): one function per feature × upstream kind, run with one
 * client against one deployment of the gateway.
 *
 * | feature               | modern upstream                        | legacy upstream                        |
 * |-----------------------|----------------------------------------|----------------------------------------|
 * | tools/call            | pm__create_task                        | fx__echo                               |
 * | resources/list + read | list, read pm+project://{key}/status   | list, read fx+fixture://items/{n}      |
 * | prompts/get           | pm__task_breakdown                     | fx__greet                              |
 * | completion            | pm__sprint_planning `project`          | fx__greet `who`                        |
 * | sampling              | pm__generate_task_breakdown            | fx__ask_llm                            |
 * | elicitation           | pm__delete_task (its confirmation)     | fx__ask_user                           |
 * | elicitation (URL)     | cf__test_input_required_url_elicitation | fx__ask_url                           |
 * | roots                 | cf__test_input_required_result_list_roots | fx__list_roots                      |
 * | prompts/get asking    | cf__test_input_required_result_prompt  | fx__ask_prompt (elicits a context)     |
 * | resources/read asking | cf+test://input-required/{topic}       | fx+fixture://asked/{topic} (samples)   |
 * | progress              | cf__test_tool_with_progress            | fx__progress                           |
 * | cancellation          | cf__slow_compute                       | fx__slow (which logs that it was told) |
 * | resource updates      | listen / subscribe pm+project://status | listen / subscribe fx+fixture://items/5 |
 * | list changes          | resources (pm__create_project)         | tools (fx__add_tool)                   |
 *
 * Upstreams: `pm` is the project-management server (SDK v2, negotiated at 2026-07-28); `fx` the
 * gateway fixture server (SDK v1 over stdio, `protocol: auto` → 2025-11-25). No domain tool
 * reports progress, runs long enough to cancel, asks for a URL, roots or input in a prompt or a
 * read, so those modern cells use the conformance fixture `cf` (SDK v2 on the domain servers'
 * serving code, also at 2026-07-28; CONFORMANCE_FIXTURE_EXTRAS adds the URL tool and the read).
 *
 * The 2026-07-28 client × legacy upstream cells that ask (sampling, elicitation, URL, roots, the
 * asking prompt and read) go through the gateway's bridge (gateway/session/bridgedCall.ts): fx
 * sends server→client requests, which the client gets as input_required rounds, and its retries
 * answer them. The 2025 client × modern upstream cells go the other way
 * (session/inputRequiredOnSession.ts).
 */
import { join } from 'node:path';
import { expect } from 'vitest';
import type { CallToolResult, CreateMessageRequestParams, CreateMessageResult, ElicitRequestParams, ElicitResult } from '@modelcontextprotocol/server';
import type { ClientKind, EraClient } from '../support/eraClients.js';
import { waitFor } from '../support/waitFor.js';
import { readiness, ROOT, textOf, type RunningGateway } from './harness.js';

export const PROJECT = 'era-matrix';
export const SUBTASKS = ['Write the plan', 'Review the plan'];

/** The conformance fixture as an upstream (namespace `cf`). */
export function conformanceUpstream(): Record<string, unknown> {
  return {
    namespace: 'cf',
    stdio: {
      command: process.execPath,
      args: [join(ROOT, 'dist', 'test', 'fixtures', 'conformance', 'conformanceServer.js')],
      env: { LOG_LEVEL: 'warn', CONFORMANCE_FIXTURE_EXTRAS: '1' },
    },
  };
}

export type Upstream = 'modern' | 'legacy';
export type Feature =
  | 'tools/call'
  | 'resources/list + read'
  | 'prompts/get'
  | 'completion'
  | 'sampling'
  | 'elicitation'
  | 'elicitation (URL)'
  | 'roots'
  | 'prompts/get asking'
  | 'resources/read asking'
  | 'progress'
  | 'cancellation'
  | 'resource updates'
  | 'list changes';

/** Where the client connects (`url`), and the gateway processes behind it (one, or several behind a balancer). */
export interface Deployment {
  url: string;
  instances: RunningGateway[];
  /** A token the instances accept (OAuth), for /readyz details. */
  token?: string;
}

/** What a cell has at hand: the client, the deployment, and what the client's handlers were asked. */
export interface Cell {
  kind: ClientKind;
  client: EraClient;
  deployment: Deployment;
  asked: { sampling: string[]; elicitation: string[]; roots: string[] };
}

/** What the matrix's clients declare: everything an upstream can ask of them. */
export const ASKABLE = { sampling: {}, elicitation: { form: {}, url: {} }, roots: {} };

/** The roots the matrix's clients have. */
export const ROOTS = [{ uri: 'file:///work/era-matrix', name: 'era matrix' }];

/**
 * What a test's user answers: pm's sampling gets a JSON array of sub-tasks, anything else an
 * echo; a form asking for a `context` gets "era matrix", any other form is confirmed; a URL is
 * opened (accepted); roots are ROOTS.
 */
export function answeringHandlers(asked: Cell['asked']): {
  sampling: (params: CreateMessageRequestParams) => CreateMessageResult;
  elicitation: (params: ElicitRequestParams) => ElicitResult;
  roots: () => { roots: typeof ROOTS };
} {
  return {
    sampling: (params) => {
      const prompt = (params.messages[0]?.content as { text?: string } | undefined)?.text ?? '';
      asked.sampling.push(prompt);
      const text = prompt.startsWith('Break this objective') ? JSON.stringify(SUBTASKS.map((title) => ({ title }))) : `answer to ${prompt}`;
      return { role: 'assistant', model: 'test-model', content: { type: 'text', text } };
    },
    elicitation: (params) => {
      asked.elicitation.push(params.message);
      if (params.mode === 'url') return { action: 'accept' };
      const properties = (params.requestedSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {};
      const content: Record<string, string | boolean> = 'context' in properties ? { context: 'era matrix' } : { confirm: true };
      return { action: 'accept', content };
    },
    roots: () => {
      asked.roots.push('roots/list');
      return { roots: ROOTS };
    },
  };
}

// --- helpers ---------------------------------------------------------------------------------

export function ok(result: CallToolResult): CallToolResult {
  expect(result.isError, textOf(result)).toBeFalsy();
  return result;
}

function structured<T>(result: CallToolResult): T {
  return ok(result).structuredContent as T;
}

async function allResourceUris(client: EraClient): Promise<string[]> {
  const uris: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listResources(cursor ? { cursor } : {});
    uris.push(...page.resources.map((r) => r.uri));
    cursor = page.nextCursor;
  } while (cursor);
  return uris;
}

/** A short name of a client kind, for names the cells create. */
const tag = (kind: ClientKind): string => (kind.startsWith('2026') ? 'modern' : kind.includes('SDK v1') ? 'v1' : 'v2');

const clustered = (deployment: Deployment): boolean => deployment.instances.length > 1;

/** Calls in flight from the gateway to `namespace`, over every instance (each asked directly, not through a balancer). */
async function inFlight(deployment: Deployment, namespace: string): Promise<number> {
  let total = 0;
  for (const instance of deployment.instances) {
    total += (await readiness({ ...instance, base: instance.direct }, deployment.token)).upstreams.find((u) => u.namespace === namespace)?.inFlight ?? 0;
  }
  return total;
}

const cancelledLines = (deployment: Deployment): number =>
  deployment.instances.reduce(
    (sum, instance) => sum + instance.logs.filter((line) => line.upstream === 'fx' && line.msg === 'fixture: slow call cancelled').length,
    0,
  );

/**
 * Make a change until it is heard. One gateway hears its child at once; behind a balancer the
 * write may reach an instance whose child is not yet watching the resource (it subscribes once
 * it hears of the other instance's interest, through Redis), so the write is repeated.
 */
async function changeUntilHeard(deployment: Deployment, what: string, change: () => Promise<void>, heard: () => boolean): Promise<void> {
  const attempts = clustered(deployment) ? 20 : 1;
  for (let attempt = 0; attempt < attempts && !heard(); attempt++) {
    await change();
    try {
      await waitFor(what, heard, clustered(deployment) ? 250 : 5000);
    } catch (error) {
      if (attempt === attempts - 1) throw error;
    }
  }
  expect(heard(), what).toBe(true);
}

/**
 * Start a long call, cancel it once the gateway has forwarded it, and check that the client hears
 * of it and the gateway's call to the upstream ends (the gateway sends the upstream
 * notifications/cancelled; a 2026 client cancels by closing its request, a 2025 one by notification).
 */
async function cancelLongCall({ client, deployment }: Cell, namespace: string, name: string, args: Record<string, unknown>): Promise<void> {
  const abort = new AbortController();
  const call = client.callTool({ name, arguments: args }, { signal: abort.signal });
  call.catch(() => undefined);
  await waitFor(`${name} to reach the upstream`, async () => (await inFlight(deployment, namespace)) === 1, 5000);
  const cancelledAt = Date.now();
  abort.abort();
  await expect(call).rejects.toThrow(/abort/i);
  await waitFor(`the gateway's ${name} call to end`, async () => (await inFlight(deployment, namespace)) === 0, 5000);
  expect(Date.now() - cancelledAt).toBeLessThan(5000);
}

// --- the matrix ------------------------------------------------------------------------------

export const MATRIX: Record<Feature, Record<Upstream, (cell: Cell) => Promise<void>>> = {
  'tools/call': {
    modern: async ({ client, kind }) => {
      const { task } = structured<{ task: { id: string; title: string; project: string } }>(
        await client.callTool({ name: 'pm__create_task', arguments: { title: `Filed by ${kind}`, project: PROJECT } }),
      );
      expect(task).toMatchObject({ title: `Filed by ${kind}`, project: PROJECT });
      expect(task.id).toMatch(/^T-\d+$/);
    },
    legacy: async ({ client, kind }) => {
      expect(textOf(ok(await client.callTool({ name: 'fx__echo', arguments: { text: `hello from ${kind}` } })))).toBe(`hello from ${kind}`);
    },
  },

  'resources/list + read': {
    modern: async ({ client }) => {
      expect(await allResourceUris(client)).toEqual(expect.arrayContaining(['pm+project://status', `pm+project://${PROJECT}/status`]));
      const read = await client.readResource({ uri: `pm+project://${PROJECT}/status` });
      expect(read.contents[0]?.uri).toBe(`pm+project://${PROJECT}/status`);
      const body = JSON.parse((read.contents[0] as { text: string }).text) as { status: { project: string; name: string } };
      expect(body.status).toMatchObject({ project: PROJECT, name: 'Era matrix' });
    },
    legacy: async ({ client }) => {
      expect(await allResourceUris(client)).toEqual(expect.arrayContaining(['fx+fixture://items/0', 'fx+fixture://items/2']));
      const read = await client.readResource({ uri: 'fx+fixture://items/2' });
      expect(read.contents[0]).toMatchObject({ uri: 'fx+fixture://items/2', text: 'item 2 of fx' });
    },
  },

  'prompts/get': {
    modern: async ({ client }) => {
      const prompt = await client.getPrompt({ name: 'pm__task_breakdown', arguments: { objective: 'Plan the launch' } });
      expect(JSON.stringify(prompt.messages)).toContain('Plan the launch');
    },
    legacy: async ({ client }) => {
      const prompt = await client.getPrompt({ name: 'fx__greet', arguments: { who: 'Ada' } });
      expect(prompt.messages[0]?.content).toMatchObject({ type: 'text', text: 'Hello Ada from fx' });
    },
  },

  completion: {
    modern: async ({ client }) => {
      const completed = await client.complete({ ref: { type: 'ref/prompt', name: 'pm__sprint_planning' }, argument: { name: 'project', value: 'era' } });
      expect(completed.completion.values).toContain(PROJECT);
    },
    legacy: async ({ client }) => {
      const completed = await client.complete({ ref: { type: 'ref/prompt', name: 'fx__greet' }, argument: { name: 'who', value: 'A' } });
      expect(completed.completion.values).toEqual(['Ada', 'Alan']);
    },
  },

  sampling: {
    modern: async ({ client, kind, asked }) => {
      const objective = `Ship the release for ${kind}`;
      const { subtasks } = structured<{ subtasks: Array<{ title: string }> }>(
        await client.callTool({ name: 'pm__generate_task_breakdown', arguments: { objective, project: PROJECT, max_subtasks: 2 } }),
      );
      expect(subtasks.map((s) => s.title)).toEqual(SUBTASKS);
      expect(asked.sampling.some((prompt) => prompt.includes(objective))).toBe(true);
    },
    legacy: async (cell) => {
      expect(textOf(ok(await cell.client.callTool({ name: 'fx__ask_llm', arguments: { prompt: 'Say hi' } })))).toBe('sampled: answer to Say hi');
      expect(cell.asked.sampling).toContain('Say hi');
    },
  },

  elicitation: {
    modern: async ({ client, kind, asked }) => {
      const { task } = structured<{ task: { id: string } }>(
        await client.callTool({ name: 'pm__create_task', arguments: { title: `Doomed (${kind})`, project: PROJECT } }),
      );
      const deleted = structured<{ status: string; deleted_ids: string[] }>(await client.callTool({ name: 'pm__delete_task', arguments: { id: task.id } }));
      expect(deleted).toMatchObject({ status: 'deleted', deleted_ids: [task.id] });
      expect(asked.elicitation.some((message) => message.startsWith(`Delete ${task.id} `))).toBe(true);
    },
    legacy: async (cell) => {
      expect(textOf(ok(await cell.client.callTool({ name: 'fx__ask_user', arguments: { question: 'Proceed?' } })))).toBe('elicited: accept {"confirm":true}');
      expect(cell.asked.elicitation).toContain('Proceed?');
    },
  },

  'elicitation (URL)': {
    modern: async ({ client, asked }) => {
      expect(textOf(ok(await client.callTool({ name: 'cf__test_input_required_url_elicitation', arguments: {} })))).toBe('url elicitation: accept');
      expect(asked.elicitation).toContain('Sign in to the fixture');
    },
    legacy: async ({ client, asked }) => {
      const before = asked.elicitation.length;
      expect(textOf(ok(await client.callTool({ name: 'fx__ask_url', arguments: {} })))).toBe('url elicitation: accept');
      expect(asked.elicitation.slice(before)).toEqual(['Sign in to the fixture']);
    },
  },

  roots: {
    modern: async ({ client, asked }) => {
      const before = asked.roots.length;
      expect(textOf(ok(await client.callTool({ name: 'cf__test_input_required_result_list_roots', arguments: {} })))).toBe(`Client roots: ${ROOTS[0]!.uri}`);
      expect(asked.roots.length).toBe(before + 1);
    },
    legacy: async ({ client, asked }) => {
      const before = asked.roots.length;
      expect(textOf(ok(await client.callTool({ name: 'fx__list_roots', arguments: {} })))).toBe(`roots: ${ROOTS[0]!.uri}`);
      expect(asked.roots.length).toBe(before + 1);
    },
  },

  // A prompt whose upstream asks the client (elicitation) what context to use.
  'prompts/get asking': {
    modern: async ({ client }) => {
      const prompt = await client.getPrompt({ name: 'cf__test_input_required_result_prompt' });
      expect(prompt.messages[0]?.content).toMatchObject({ type: 'text', text: 'Answer with this context in mind: era matrix' });
    },
    legacy: async ({ client }) => {
      const prompt = await client.getPrompt({ name: 'fx__ask_prompt' });
      expect(prompt.messages[0]?.content).toMatchObject({ type: 'text', text: 'Context: era matrix' });
    },
  },

  // A read whose upstream asks the client to sample.
  'resources/read asking': {
    modern: async ({ client, asked }) => {
      const read = await client.readResource({ uri: 'cf+test://input-required/tides' });
      expect(read.contents[0]).toMatchObject({ uri: 'cf+test://input-required/tides', text: 'read: answer to Write about tides' });
      expect(asked.sampling).toContain('Write about tides');
    },
    legacy: async ({ client, asked }) => {
      const read = await client.readResource({ uri: 'fx+fixture://asked/moons' });
      expect(read.contents[0]).toMatchObject({ uri: 'fx+fixture://asked/moons', text: 'read: answer to Write about moons' });
      expect(asked.sampling).toContain('Write about moons');
    },
  },

  // For the 2026 client the progress notifications arrive on the SSE answer of its POST.
  progress: {
    modern: async ({ client }) => {
      const seen: number[] = [];
      const result = ok(await client.callTool({ name: 'cf__test_tool_with_progress', arguments: {} }, { onprogress: (p) => seen.push(p.progress) }));
      expect(textOf(result)).toMatch(/^Done; progress reported for token /);
      expect(seen).toEqual([0, 50, 100]);
    },
    legacy: async ({ client }) => {
      const seen: Array<{ progress: number; total?: number }> = [];
      const result = ok(
        await client.callTool({ name: 'fx__progress', arguments: { steps: 3 } }, { onprogress: (p) => seen.push({ progress: p.progress, total: p.total }) }),
      );
      expect(textOf(result)).toBe('done 3');
      expect(seen).toEqual([1, 2, 3].map((progress) => ({ progress, total: 3 })));
    },
  },

  cancellation: {
    modern: async (cell) => {
      await cancelLongCall(cell, 'cf', 'cf__slow_compute', { seconds: 30 });
      expect(textOf(ok(await cell.client.callTool({ name: 'cf__greet', arguments: { name: 'after' } })))).toBe('Hello, after!');
    },
    legacy: async (cell) => {
      const before = cancelledLines(cell.deployment);
      await cancelLongCall(cell, 'fx', 'fx__slow', { ms: 30_000 });
      // The fixture itself logs that it was told (its request's signal aborted).
      await waitFor('the fixture to log the cancellation', () => cancelledLines(cell.deployment) > before, 5000);
      expect(textOf(ok(await cell.client.callTool({ name: 'fx__echo', arguments: { text: 'after' } })))).toBe('after');
    },
  },

  // resources/subscribe on a 2025 session; a subscriptions/listen stream for the 2026 client.
  'resource updates': {
    modern: async ({ client, kind, deployment }) => {
      const updates: string[] = [];
      const stop = await client.watchResources(['pm+project://status'], (uri) => updates.push(uri));
      try {
        await changeUntilHeard(
          deployment,
          'notifications/resources/updated for pm+project://status',
          async () => void ok(await client.callTool({ name: 'pm__create_task', arguments: { title: `Watched (${kind})`, project: PROJECT } })),
          () => updates.includes('pm+project://status'),
        );
      } finally {
        await stop();
      }
    },
    legacy: async ({ client, deployment }) => {
      const updates: string[] = [];
      const stop = await client.watchResources(['fx+fixture://items/5'], (uri) => updates.push(uri));
      const answers: string[] = [];
      try {
        await changeUntilHeard(
          deployment,
          'notifications/resources/updated for fx+fixture://items/5',
          async () => void answers.push(textOf(ok(await client.callTool({ name: 'fx__touch', arguments: { uri: 'fixture://items/5' } })))),
          () => updates.includes('fx+fixture://items/5'),
        );
        // The fixture answers whether it was subscribed: the gateway subscribed it on the client's behalf.
        expect(answers).toContain('notified subscribers');
      } finally {
        await stop();
      }
    },
  },

  // Unsolicited on a 2025 session's GET stream; on a listen stream for the 2026 client.
  'list changes': {
    modern: async ({ client, kind }) => {
      let changes = 0;
      const stop = await client.watchListChanges('resources', () => void (changes += 1));
      const key = `listed-${tag(kind)}`;
      try {
        ok(await client.callTool({ name: 'pm__create_project', arguments: { key, name: `Listed for ${kind}` } }));
        await waitFor('notifications/resources/list_changed', () => changes > 0, 5000);
      } finally {
        await stop();
      }
      expect(await allResourceUris(client)).toContain(`pm+project://${key}/status`);
    },
    legacy: async ({ client, kind, deployment }) => {
      let changes = 0;
      const stop = await client.watchListChanges('tools', () => void (changes += 1));
      const tool = `added_${tag(kind)}`;
      try {
        ok(await client.callTool({ name: 'fx__add_tool', arguments: { name: tool } }));
        await waitFor('notifications/tools/list_changed', () => changes > 0, 5000);
      } finally {
        await stop();
      }
      // Each instance runs a fixture child of its own: behind a balancer only one of them has the new tool.
      if (clustered(deployment)) return;
      expect((await client.listTools()).tools.map((t) => t.name)).toContain(`fx__${tool}`);
      expect(textOf(ok(await client.callTool({ name: `fx__${tool}`, arguments: {} })))).toBe(`I am ${tool}`);
    },
  },
};

/** Every cell, as [feature, upstream] rows for it.each. */
export const CELLS: Array<[Feature, Upstream]> = (Object.keys(MATRIX) as Feature[]).flatMap((feature) =>
  (['modern', 'legacy'] as const).map((upstream): [Feature, Upstream] => [feature, upstream]),
);
