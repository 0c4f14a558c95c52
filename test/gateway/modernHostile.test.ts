/**
 * Hostile input at the gateway's 2026-07-28 front, on the raw wire (test/support/modernWire.ts):
 * requestState that is forged, altered, expired, another user's, or aimed at another tool or
 * upstream; standard headers that disagree with the body; an unsupported revision; a missing
 * envelope; methods this revision removed; a listen filter naming resources the caller may not
 * read. Each is refused as the revision says, and nothing reaches an upstream: no task is
 * deleted or created, no call is logged, no upstream subscription is made.
 *
 * Two gateways with OAuth (test issuer, a user per role): one with the default relayed-input
 * lifetime, and one whose sealed requestState lives one second
 * (MANIFOLD_RELAYED_INPUT_TTL_SECONDS) for the expiry case.
 */
import { spawnSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope, MODERN_REVISION, postModern, type ModernRequestOptions, type WireAnswer } from '../support/modernWire.js';
import { TestIssuer } from '../support/testIssuer.js';
import { waitFor } from '../support/waitFor.js';
import { fixtureUpstream, GATEWAY_MAIN, ROOT, startGateway, waitReady, writeConfig, type RunningGateway } from './harness.js';

type Params = Record<string, unknown>;
type Wire = (method: string, params?: Params, options?: ModernRequestOptions) => Promise<WireAnswer>;

const ELICITATION = { elicitation: {} };
const ACCEPT = { confirm: { action: 'accept', content: { confirm: true } } };
const INVALID_STATE = /^Invalid or expired requestState/;

let issuer: TestIssuer;
let gateway: RunningGateway;
/** The same configuration, with sealed requestState valid for one second. */
let expiring: RunningGateway;
/** Users of their own: rate limits are per user. */
const users = { alice: `alice-hostile-${process.pid}`, bob: `bob-hostile-${process.pid}`, reader: `reader-hostile-${process.pid}` };

function pmUpstream(): Record<string, unknown> {
  return {
    namespace: 'pm',
    stdio: {
      command: process.execPath,
      args: [join(ROOT, 'dist', 'servers', 'project-management', 'main.js')],
      env: { MANIFOLD_DATA_DIR: mkdtempSync(join(tmpdir(), 'manifold-hostile-pm-')), LOG_LEVEL: 'warn' },
    },
  };
}

beforeAll(async () => {
  issuer = await new TestIssuer().start();
  // Rate limits out of the way: these tests count what reaches the upstreams themselves.
  const config = {
    auth: { mode: 'oauth', issuer: issuer.issuer },
    limits: { rate: { perUser: 10_000, writesPerUser: 10_000 } },
    upstreams: [pmUpstream(), fixtureUpstream('fx')],
  };
  [gateway, expiring] = await Promise.all([
    startGateway(config),
    startGateway({ ...config, upstreams: [pmUpstream()] }, { env: { MANIFOLD_RELAYED_INPUT_TTL_SECONDS: '1' } }),
  ]);
  await Promise.all([waitReady(gateway), waitReady(expiring)]);
});

afterAll(async () => {
  await Promise.all([gateway?.stop(), expiring?.stop()]);
  await issuer?.stop();
});

async function as(user: string, scope: string, target: RunningGateway = gateway): Promise<Wire> {
  const token = await issuer.accessToken(target.url, { sub: user, scope });
  return (method, params = {}, options = {}) =>
    postModern(target.url, method, params, { ...options, headers: { Authorization: `Bearer ${token}`, ...options.headers } });
}

function resultOf(answer: WireAnswer): Params {
  expect(answer.message.error, JSON.stringify(answer.message.error)).toBeUndefined();
  return answer.message.result!;
}

async function createTask(wire: Wire, title: string): Promise<string> {
  const result = resultOf(await wire('tools/call', { name: 'pm__create_task', arguments: { title } }));
  return (result.structuredContent as { task: { id: string } }).task.id;
}

async function taskExists(wire: Wire, id: string): Promise<boolean> {
  const result = resultOf(await wire('tools/call', { name: 'pm__get_task_details', arguments: { id } }));
  return result.isError !== true;
}

async function taskTitles(wire: Wire): Promise<string[]> {
  const result = resultOf(await wire('tools/call', { name: 'pm__list_tasks', arguments: {} }));
  return (result.structuredContent as { tasks: Array<{ title: string }> }).tasks.map((task) => task.title);
}

/** The first round of delete_task for a client that can elicit: the confirmation it asks for, and the state sealed by the gateway. */
async function pendingDeletion(wire: Wire, title: string): Promise<{ id: string; requestState: string }> {
  const id = await createTask(wire, title);
  const first = resultOf(await wire('tools/call', { name: 'pm__delete_task', arguments: { id } }, { clientCapabilities: ELICITATION }));
  expect(first.resultType).toBe('input_required');
  expect(first.inputRequests).toMatchObject({ confirm: { method: 'elicitation/create' } });
  expect(first.requestState).toMatch(/^g1\./);
  return { id, requestState: first.requestState as string };
}

/** Tool calls named `name` the gateway logged (it logs every call it forwards), once a later call's own line shows the log has caught up. */
async function loggedCalls(target: RunningGateway, wire: Wire, name: string): Promise<number> {
  const lines = (tool: string) => target.logs.filter((line) => line.msg === 'tool call' && (line.call as { name?: string } | undefined)?.name === tool).length;
  const markers = lines('pm__list_projects');
  resultOf(await wire('tools/call', { name: 'pm__list_projects', arguments: {} }));
  await waitFor('a later call in the log', () => lines('pm__list_projects') > markers, 5000);
  return lines(name);
}

function expectRefusedState(answer: WireAnswer, why: RegExp): void {
  expect(answer.status).toBe(200);
  expect(answer.message.error).toMatchObject({ code: -32602, data: { reason: 'invalid_request_state' } });
  expect(answer.message.error!.message).toMatch(INVALID_STATE);
  expect(answer.message.error!.message).toMatch(why);
}

describe('requestState sealed by the gateway', () => {
  it('completes the round trip when the same user retries the same call with it (the control)', async () => {
    const alice = await as(users.alice, 'pm:admin fx:admin');
    const before = await loggedCalls(gateway, alice, 'pm__delete_task');
    const { id, requestState } = await pendingDeletion(alice, 'Deleted on confirmation');
    const retry = resultOf(
      await alice('tools/call', { name: 'pm__delete_task', arguments: { id }, inputResponses: ACCEPT, requestState }, { clientCapabilities: ELICITATION }),
    );
    expect(retry.structuredContent).toMatchObject({ status: 'deleted', deleted_ids: [id] });
    expect(await taskExists(alice, id)).toBe(false);
    // Each round forwarded is logged: what the other tests count to show nothing was forwarded.
    expect(await loggedCalls(gateway, alice, 'pm__delete_task')).toBe(before + 2);
  });

  it('refuses a forged or altered requestState, and forwards nothing', async () => {
    const alice = await as(users.alice, 'pm:admin fx:admin');
    const { id, requestState } = await pendingDeletion(alice, 'Kept despite forgeries');
    const [version, payload, mac] = requestState.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Params;
    // The claims a real state carries, sealed with a key that is not the gateway's.
    const otherKeyBody = `${version}.${payload}`;
    const forgedWithOtherKey = `${otherKeyBody}.${createHmac('sha256', randomBytes(32)).update(otherKeyBody).digest('base64url')}`;
    // The real signature over claims that were changed (a later expiry).
    const stretched = Buffer.from(JSON.stringify({ ...claims, exp: (claims.exp as number) + 86_400 })).toString('base64url');
    const forgeries: Array<[string, string]> = [
      ['not a gateway state at all', 'eyJ0b29sIjoiZGVsZXRlX3Rhc2sifQ'],
      ['signed with another key', forgedWithOtherKey],
      ['claims altered under the real signature', `${version}.${stretched}.${mac}`],
      ['the signature altered', `${version}.${payload}.${mac.slice(0, -2)}${mac.endsWith('AA') ? 'BB' : 'AA'}`],
    ];
    const before = await loggedCalls(gateway, alice, 'pm__delete_task');
    for (const [what, forged] of forgeries) {
      const answer = await alice(
        'tools/call',
        { name: 'pm__delete_task', arguments: { id }, inputResponses: ACCEPT, requestState: forged },
        { clientCapabilities: ELICITATION },
      );
      expectRefusedState(answer, /not one this gateway issued, or it was altered/);
      expect(answer.message.error!.message, what).toContain('Call again without requestState to start over');
    }
    expect(await loggedCalls(gateway, alice, 'pm__delete_task')).toBe(before);
    expect(await taskExists(alice, id)).toBe(true);
  });

  it("refuses another user's requestState, and leaves the owner's call intact", async () => {
    const alice = await as(users.alice, 'pm:admin fx:admin');
    const bob = await as(users.bob, 'pm:admin fx:admin');
    const { id, requestState } = await pendingDeletion(alice, 'Alice keeps this one');
    const before = await loggedCalls(gateway, alice, 'pm__delete_task');
    const stolen = await bob(
      'tools/call',
      { name: 'pm__delete_task', arguments: { id }, inputResponses: ACCEPT, requestState },
      { clientCapabilities: ELICITATION },
    );
    expectRefusedState(stolen, /issued for another call, upstream or user/);
    expect(await loggedCalls(gateway, alice, 'pm__delete_task')).toBe(before);
    expect(await taskExists(alice, id)).toBe(true);
    // Still good for its owner.
    const retry = resultOf(
      await alice('tools/call', { name: 'pm__delete_task', arguments: { id }, inputResponses: ACCEPT, requestState }, { clientCapabilities: ELICITATION }),
    );
    expect(retry.structuredContent).toMatchObject({ status: 'deleted' });
  });

  it('refuses a requestState aimed at another tool, another upstream, or another method', async () => {
    const alice = await as(users.alice, 'pm:admin fx:admin');
    const { id, requestState } = await pendingDeletion(alice, 'Not for other calls');
    const beforeBreakdown = await loggedCalls(gateway, alice, 'pm__generate_task_breakdown');
    const beforeEcho = await loggedCalls(gateway, alice, 'fx__echo');
    const misuses: Array<[string, string, Params]> = [
      ['another tool of the same upstream', 'tools/call', { name: 'pm__generate_task_breakdown', arguments: { objective: 'Anything' } }],
      ['a tool of another upstream', 'tools/call', { name: 'fx__echo', arguments: { text: 'smuggled' } }],
      ['a prompt', 'prompts/get', { name: 'pm__task_breakdown', arguments: { objective: 'Anything' } }],
      ['a resource', 'resources/read', { uri: 'pm+project://status' }],
    ];
    for (const [what, method, params] of misuses) {
      const answer = await alice(method, { ...params, inputResponses: ACCEPT, requestState }, { clientCapabilities: { elicitation: {}, sampling: {} } });
      expect(answer.message.error, what).toBeDefined();
      expectRefusedState(answer, /issued for another call, upstream or user/);
    }
    expect(await loggedCalls(gateway, alice, 'pm__generate_task_breakdown')).toBe(beforeBreakdown);
    expect(await loggedCalls(gateway, alice, 'fx__echo')).toBe(beforeEcho);
    expect(await taskExists(alice, id)).toBe(true);
  });

  it('leaves a requestState aimed at the same tool with other arguments to the upstream, which refuses it', async () => {
    const alice = await as(users.alice, 'pm:admin fx:admin');
    const { id, requestState } = await pendingDeletion(alice, 'The one confirmed');
    const other = await createTask(alice, 'The one aimed at');
    // The gateway's seal holds (same user, upstream and tool); the state inside is pm's, bound to task `id`.
    const retargeted = resultOf(
      await alice(
        'tools/call',
        { name: 'pm__delete_task', arguments: { id: other }, inputResponses: ACCEPT, requestState },
        { clientCapabilities: ELICITATION },
      ),
    );
    expect(retargeted.isError).toBe(true);
    expect(JSON.stringify(retargeted.content)).toContain('issued for another call, so nothing was deleted');
    expect(await taskExists(alice, id)).toBe(true);
    expect(await taskExists(alice, other)).toBe(true);
  });

  it('refuses a requestState replayed after it expired (MANIFOLD_RELAYED_INPUT_TTL_SECONDS=1)', async () => {
    const alice = await as(users.alice, 'pm:admin', expiring);
    const { id, requestState } = await pendingDeletion(alice, 'Outlived its confirmation');
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const before = await loggedCalls(expiring, alice, 'pm__delete_task');
    const late = await alice(
      'tools/call',
      { name: 'pm__delete_task', arguments: { id }, inputResponses: ACCEPT, requestState },
      { clientCapabilities: ELICITATION },
    );
    expectRefusedState(late, /it has expired/);
    expect(await loggedCalls(expiring, alice, 'pm__delete_task')).toBe(before);
    expect(await taskExists(alice, id)).toBe(true);
  });

  it('refuses to start with a relayed-input lifetime that is not 1 to 86400 whole seconds', () => {
    const config = writeConfig({ upstreams: [fixtureUpstream('fx')] });
    for (const value of ['0', '1.5']) {
      const run = spawnSync(process.execPath, [GATEWAY_MAIN, '--config', config], {
        env: { ...process.env, MANIFOLD_DATA_DIR: mkdtempSync(join(tmpdir(), 'manifold-hostile-ttl-')), MANIFOLD_RELAYED_INPUT_TTL_SECONDS: value },
        encoding: 'utf8',
        timeout: 15_000,
      });
      expect(run.status, value).toBe(2);
      expect(run.stderr).toContain(`MANIFOLD_RELAYED_INPUT_TTL_SECONDS: must be a whole number of seconds from 1 to 86400 (default 600); got "${value}"`);
    }
  });
});

describe('the request ladder', () => {
  it('refuses standard headers that disagree with the body (400, -32020), forwarding nothing', async () => {
    const alice = await as(users.alice, 'pm:admin fx:admin');
    const create = { name: 'pm__create_task', arguments: { title: 'Smuggled past the headers' } };
    const cases: Array<[string, Record<string, string | null>]> = [
      ['Mcp-Name naming another tool', { 'Mcp-Name': 'pm__list_tasks' }],
      ['Mcp-Name missing', { 'Mcp-Name': null }],
      ['Mcp-Method naming another method', { 'Mcp-Method': 'tools/list' }],
      ['Mcp-Method missing', { 'Mcp-Method': null }],
      ['MCP-Protocol-Version of another revision', { 'MCP-Protocol-Version': '2025-11-25' }],
      ['MCP-Protocol-Version missing', { 'MCP-Protocol-Version': null }],
    ];
    for (const [what, headers] of cases) {
      const answer = await alice('tools/call', create, { headers });
      expect(answer.status, what).toBe(400);
      expect(answer.message.error?.code, what).toBe(-32020);
    }
    expect(await taskTitles(alice)).not.toContain('Smuggled past the headers');
  });

  it('refuses an envelope naming an unsupported revision (400, -32022 with supported and requested)', async () => {
    const alice = await as(users.alice, 'pm:admin');
    const answer = await alice(
      'tools/list',
      {},
      { meta: { ...envelope(), 'io.modelcontextprotocol/protocolVersion': '2099-01-01' }, headers: { 'MCP-Protocol-Version': '2099-01-01' } },
    );
    expect(answer.status).toBe(400);
    expect(answer.message.error).toMatchObject({ code: -32022, data: { supported: [MODERN_REVISION], requested: '2099-01-01' } });
  });

  it('refuses a request without the _meta envelope (400, -32602)', async () => {
    const alice = await as(users.alice, 'pm:admin');
    const missing = await alice('tools/call', { name: 'pm__create_task', arguments: { title: 'Sent without an envelope' } }, { meta: {} });
    expect(missing.status).toBe(400);
    expect(missing.message.error?.code).toBe(-32602);
    // An envelope without the required client capabilities is as incomplete.
    const partial = await alice('tools/list', {}, { meta: { 'io.modelcontextprotocol/protocolVersion': MODERN_REVISION } });
    expect(partial.status).toBe(400);
    expect(partial.message.error?.code).toBe(-32602);
    expect(await taskTitles(alice)).not.toContain('Sent without an envelope');
  });

  it('does not let a request speak for another user, or for another call, through _meta', async () => {
    const alice = await as(users.alice, 'pm:admin fx:admin');
    const smuggled = { 'io.manifold/caller': { user: users.bob, scopes: ['*'], session: 'someone-else' }, 'io.manifold/call': 'c1', note: 'kept' };
    const answer = resultOf(await alice('tools/call', { name: 'fx__whoami', arguments: {}, _meta: smuggled }));
    const seen = JSON.parse((answer.content as Array<{ text: string }>)[0]!.text) as { caller: { user: string; scopes: string[] }; meta: Params };
    expect(seen.caller.user).toBe(users.alice);
    expect(seen.caller.scopes).not.toContain('*');
    expect(seen.meta['io.manifold/call']).not.toBe('c1');
    expect(seen.meta.note).toBe('kept');
    // The client's envelope describes its hop to the gateway, not the gateway's to a 2025 upstream.
    expect(Object.keys(seen.meta).filter((key) => key.startsWith('io.modelcontextprotocol/'))).toEqual([]);
  });

  it('answers methods this revision removed with 404 -32601, forwarding nothing', async () => {
    const alice = await as(users.alice, 'pm:admin fx:admin');
    const removed: Array<[string, Params]> = [
      ['initialize', { protocolVersion: MODERN_REVISION, capabilities: {}, clientInfo: { name: 'old', version: '1' } }],
      ['ping', {}],
      ['logging/setLevel', { level: 'debug' }],
      ['resources/subscribe', { uri: 'fx+fixture://items/1' }],
      ['resources/unsubscribe', { uri: 'fx+fixture://items/1' }],
    ];
    for (const [method, params] of removed) {
      const answer = await alice(method, params);
      expect(answer.status, method).toBe(404);
      expect(answer.message.error?.code, method).toBe(-32601);
    }
    // The subscribe never reached the fixture, which says whether anyone subscribed.
    const touched = resultOf(await alice('tools/call', { name: 'fx__touch', arguments: { uri: 'fixture://items/1' } }));
    expect(touched.content).toEqual([{ type: 'text', text: 'nobody subscribed' }]);
  });
});

interface StreamMessage {
  id?: number | string;
  method?: string;
  params?: Params;
  result?: Params;
}

/** A raw subscriptions/listen stream: every message as it arrives, until closed. */
async function listen(target: RunningGateway, token: string, notifications: Params): Promise<{ messages: StreamMessage[]; close: () => void }> {
  const abort = new AbortController();
  const response = await fetch(target.url, {
    method: 'POST',
    signal: abort.signal,
    headers: {
      Authorization: `Bearer ${token}`,
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      'MCP-Protocol-Version': MODERN_REVISION,
      'Mcp-Method': 'subscriptions/listen',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'subscriptions/listen', params: { notifications, _meta: envelope() } }),
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/event-stream');
  const messages: StreamMessage[] = [];
  void (async () => {
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true });
      const events = buffered.split('\n\n');
      buffered = events.pop() ?? '';
      for (const event of events) {
        const data = event.split('\n').find((line) => line.startsWith('data:'));
        if (data) messages.push(JSON.parse(data.slice(5).trim()) as StreamMessage);
      }
    }
  })().catch(() => undefined);
  return { messages, close: () => abort.abort() };
}

describe('a listen filter naming resources the caller may not read', () => {
  it('leaves them out of the acknowledged filter, subscribes nothing for them, and delivers nothing about them', async () => {
    const alice = await as(users.alice, 'pm:admin fx:admin');
    const readerToken = await issuer.accessToken(gateway.url, { sub: users.reader, scope: 'pm:read' });
    const aliceToken = await issuer.accessToken(gateway.url, { sub: users.alice, scope: 'pm:admin fx:admin' });
    const reader = await listen(gateway, readerToken, { resourceSubscriptions: ['pm+project://status', 'fx+fixture://items/1', 'fx+fixture://items/2'] });
    const watcher = await listen(gateway, aliceToken, { resourceSubscriptions: ['fx+fixture://items/1'] });
    try {
      const ack = await waitFor('the acknowledgement', () => reader.messages.find((m) => m.method === 'notifications/subscriptions/acknowledged'), 5000);
      expect(reader.messages[0]).toBe(ack);
      expect(ack.params?.notifications).toEqual({ resourceSubscriptions: ['pm+project://status'] });

      // Nothing was subscribed upstream for fixture://items/2 (only Alice watches items/1)…
      expect(resultOf(await alice('tools/call', { name: 'fx__touch', arguments: { uri: 'fixture://items/2' } })).content).toEqual([
        { type: 'text', text: 'nobody subscribed' },
      ]);
      // …and an update of items/1 reaches the user who may read it, not the reader.
      await waitFor("the watcher's acknowledgement", () => watcher.messages.some((m) => m.method === 'notifications/subscriptions/acknowledged'), 5000);
      expect(resultOf(await alice('tools/call', { name: 'fx__touch', arguments: { uri: 'fixture://items/1' } })).content).toEqual([
        { type: 'text', text: 'notified subscribers' },
      ]);
      await waitFor('the update on the watcher stream', () => watcher.messages.some((m) => m.params?.uri === 'fx+fixture://items/1'), 5000);
      // The reader's stream is live: a change it may hear of arrives.
      await createTask(alice, 'Heard by the reader');
      await waitFor('the pm update on the reader stream', () => reader.messages.some((m) => m.params?.uri === 'pm+project://status'), 5000);
      expect(JSON.stringify(reader.messages)).not.toContain('fx+');
      expect(
        reader.messages.every(
          (m) =>
            m.method === 'notifications/subscriptions/acknowledged' ||
            (m.method === 'notifications/resources/updated' && m.params?.uri === 'pm+project://status'),
        ),
      ).toBe(true);
    } finally {
      reader.close();
      watcher.close();
    }
  });
});
