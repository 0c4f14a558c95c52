import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_KINDS, connectClient, LEGACY_V1, type ClientKind, type ConnectOptions, type EraClient } from '../support/eraClients.js';
import { startHttpServer } from '../support/processes.js';
import { waitFor } from '../support/waitFor.js';
import { FakeGithubApi, FIXTURE_TOKENS } from './fakeGithubApi.js';
import { callTool, GITHUB_ENTRY, inProcessTarget, structured } from './harness.js';

type Transport = 'memory' | 'stdio' | 'http';
const TRANSPORTS: readonly Transport[] = ['memory', 'stdio', 'http'];
const REPOSITORY_URI = 'github://acme/widgets';
const issueUri = (number: number): string => `${REPOSITORY_URI}/issues/${number}`;

/** Clients of either era on one GitHub server against `apiUrl`, however it runs. */
interface RunningGithub {
  /** Whether clients share one server (and its change bus); over stdio each client has a process of its own. */
  shared: boolean;
  connect(kind: ClientKind, options?: ConnectOptions): Promise<EraClient>;
  close(): Promise<void>;
}

async function startGithub(transport: Transport, apiUrl: string): Promise<RunningGithub> {
  const clients: EraClient[] = [];
  const tracked = (
    connect: (kind: ClientKind, options?: ConnectOptions) => Promise<EraClient>,
    shared: boolean,
    stop: () => Promise<unknown>,
  ): RunningGithub => ({
    shared,
    connect: async (kind, options) => {
      const client = await connect(kind, options);
      clients.push(client);
      return client;
    },
    close: async () => {
      for (const client of clients) await client.close().catch(() => undefined);
      await stop();
    },
  });
  if (transport === 'memory') {
    const target = inProcessTarget(apiUrl);
    return tracked(
      (kind, options) => connectClient(kind, target, options),
      true,
      async () => undefined,
    );
  }
  const env = { GITHUB_API_URL: apiUrl, GITHUB_TOKEN: FIXTURE_TOKENS.write, GITHUB_REPOSITORY: 'acme/widgets' };
  if (transport === 'stdio') {
    return tracked(
      (kind, options) => connectClient(kind, { kind: 'stdio', entry: GITHUB_ENTRY, env }, options),
      false,
      async () => undefined,
    );
  }
  const server = await startHttpServer(GITHUB_ENTRY, env);
  return tracked(
    (kind, options) => connectClient(kind, { kind: 'http', url: server.url }, options),
    true,
    () => server.stop(),
  );
}

/**
 * A write through the server (create_issue, comment_on_issue, update_issue against the fake
 * GitHub API) announces the issue it changed, and its repository, to their subscribers:
 * resources/subscribe on 2025-11-25, a subscriptions/listen stream on 2026-07-28.
 */
describe.each(TRANSPORTS.flatMap((transport) => CLIENT_KINDS.map((kind) => ({ transport, kind }))))(
  'writes reach subscribers over $transport, client $kind',
  ({ transport, kind }) => {
    let api: FakeGithubApi;
    let github: RunningGithub;
    let subscriber: EraClient;
    /** Makes the writes: another client of the same server where clients share one. */
    let writer: EraClient;
    /** Every notifications/resources/updated the subscriber received, whatever it asked for. */
    const heard: string[] = [];
    const stops: Array<() => Promise<void>> = [];

    beforeAll(async () => {
      api = new FakeGithubApi();
      github = await startGithub(transport, await api.start());
      subscriber = await github.connect(kind, {
        onNotification: (method, params) => {
          if (method === 'notifications/resources/updated' && typeof params.uri === 'string') heard.push(params.uri);
        },
      });
      writer = github.shared ? await github.connect(kind) : subscriber;
    });
    afterEach(async () => {
      for (const stop of stops.splice(0)) await stop();
      heard.length = 0;
    });
    afterAll(async () => {
      await github?.close();
      await api?.stop();
    });

    const watch = async (...uris: string[]): Promise<void> => {
      stops.push(await subscriber.watchResources(uris, () => undefined));
    };

    it("comment_on_issue: the issue's subscriber hears notifications/resources/updated", async () => {
      await watch(issueUri(2));
      const result = await callTool(writer, 'comment_on_issue', { issue_number: 2, body: 'Heard by subscribers.' });
      expect(structured<{ issue_number: number }>(result).issue_number).toBe(2);
      await waitFor('resources/updated for issue 2', () => heard.includes(issueUri(2)));
      expect(api.comments('acme/widgets', 2).at(-1)?.body).toBe('Heard by subscribers.');
    });

    it("update_issue: the issue's and the repository's subscribers hear of it, and a re-read shows the change", async () => {
      await watch(issueUri(6), REPOSITORY_URI);
      await callTool(writer, 'update_issue', { issue_number: 6, state: 'closed', state_reason: 'not_planned' });
      await waitFor('resources/updated for issue 6 and its repository', () => heard.includes(issueUri(6)) && heard.includes(REPOSITORY_URI));
      const reread = await subscriber.readResource({ uri: issueUri(6) });
      expect(JSON.stringify(reread.contents)).toContain('not_planned');
    });

    it("create_issue: a subscriber of the new issue's URI and of the repository hears of it", async () => {
      let next = 1;
      while (api.issue('acme/widgets', next)) next += 1;
      await watch(issueUri(next), REPOSITORY_URI);
      const created = structured<{ issue: { number: number } }>(await callTool(writer, 'create_issue', { title: 'Announced to subscribers' }));
      expect(created.issue.number).toBe(next);
      await waitFor('resources/updated for the new issue and its repository', () => heard.includes(issueUri(next)) && heard.includes(REPOSITORY_URI));
    });

    it('a subscriber of one issue hears nothing of a write to another', async () => {
      await watch(issueUri(3));
      await callTool(writer, 'comment_on_issue', { issue_number: 4, body: 'Only for issue 4.' });
      // Then a write it does hear: what the server sent about issue 4 before would have arrived first.
      await callTool(writer, 'comment_on_issue', { issue_number: 3, body: 'For issue 3.' });
      await waitFor('resources/updated for issue 3', () => heard.includes(issueUri(3)));
      expect(heard).toEqual([issueUri(3)]);
    });
  },
);

describe.each(TRANSPORTS)('2025-11-25 subscriptions to what is not a github:// issue or repository, over %s', (transport) => {
  let api: FakeGithubApi;
  let github: RunningGithub;
  let client: EraClient;

  beforeAll(async () => {
    api = new FakeGithubApi();
    github = await startGithub(transport, await api.start());
    client = await github.connect(LEGACY_V1);
  });
  afterAll(async () => {
    await github?.close();
    await api?.stop();
  });

  it.each(['https://github.com/acme/widgets/issues/3', 'docs://guides/installing.md', 'github://acme', 'github://acme/widgets/pulls/7'])(
    'refuses %s and says what may be subscribed to',
    async (uri) => {
      const refused = client.watchResources([uri], () => undefined);
      await expect(refused).rejects.toThrow(`"${uri}" is not a resource of this server.`);
      await expect(refused).rejects.toThrow('Subscribe to an issue (github://OWNER/REPO/issues/NUMBER) or a repository (github://OWNER/REPO).');
      await expect(refused).rejects.toMatchObject({ code: -32602 });
    },
  );
});
