import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/privateServices.js';
import { startHttpServer, tempDir, type HttpServerProcess } from '../support/processes.js';
import { connect, EVERYTHING_BIN, startGateway, waitReady, type RunningGateway } from './harness.js';
import { waitFor } from '../support/waitFor.js';

describe('remote upstreams', () => {
  const data = tempDir('remote-upstream');
  let pmServer: HttpServerProcess;
  let legacy: ChildProcess;
  let legacyUrl: string;
  let gateway: RunningGateway;

  beforeAll(async () => {
    // A Manifold server over Streamable HTTP, and a third-party server speaking only the legacy HTTP+SSE transport.
    pmServer = await startHttpServer('servers/project-management/main.js', { MANIFOLD_DATA_DIR: data.path });
    const port = await freePort();
    legacy = spawn(EVERYTHING_BIN, ['sse'], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
    legacyUrl = `http://127.0.0.1:${port}/sse`;
    await waitFor(
      'legacy SSE server',
      async () =>
        (await fetch(legacyUrl, { signal: AbortSignal.timeout(500) }).then(
          (r) => (r.body?.cancel(), r.ok),
          () => false,
        )) || undefined,
      20_000,
    );
    gateway = await startGateway({
      upstreams: [
        { namespace: 'pm', remote: { url: pmServer.url, transport: 'streamable-http' } },
        { namespace: 'legacy', remote: { url: legacyUrl, transport: 'sse' } },
      ],
    });
    await waitReady(gateway);
  });
  afterAll(async () => {
    await gateway?.stop();
    await pmServer?.stop();
    if (legacy && legacy.exitCode === null) {
      legacy.kill('SIGTERM');
      await once(legacy, 'exit');
    }
    data.remove();
  });

  it('aggregates a remote Streamable HTTP server and a legacy HTTP+SSE server beside each other', async () => {
    const client = await connect(gateway.url);
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('pm__create_task');
    expect(names).toContain('legacy__echo');

    const created = (await client.callTool({ name: 'pm__create_task', arguments: { title: 'Through a remote upstream' } })) as CallToolResult;
    expect(created.isError).toBeFalsy();
    expect((created.structuredContent as { task: { id: string } }).task.id).toBe('T-101');

    const echoed = (await client.callTool({ name: 'legacy__echo', arguments: { message: 'over the old transport' } })) as CallToolResult;
    expect(JSON.stringify(echoed.content)).toContain('over the old transport');

    const status = await client.readResource({ uri: 'pm+project://status' });
    const first = status.contents[0];
    const summary = JSON.parse(first && 'text' in first ? first.text : '{}') as { projects: Array<{ project: string; total: number }> };
    expect(summary.projects.find((p) => p.project === 'general')?.total).toBe(1);
    await client.close();
  });
});

describe('a remote upstream that requires its own credentials', () => {
  it("gets the gateway's own token by the client credentials grant, and never a client's", async () => {
    const { TestIssuer } = await import('../support/testIssuer.js');
    const issuer = await new TestIssuer().start();
    const upstreamToken = 'upstream-access-token-for-the-gateway-0123456789';
    issuer.machineClients.set('manifold-gateway', { secret: 'gateway-client-secret-0123456789', accessToken: upstreamToken });
    const data = tempDir('remote-cc');
    // The remote server accepts only that bearer token.
    const remote = await startHttpServer('servers/project-management/main.js', { MANIFOLD_DATA_DIR: data.path, MANIFOLD_HTTP_BEARER_TOKEN: upstreamToken });
    const gateway = await startGateway(
      {
        upstreams: [
          {
            namespace: 'pm',
            remote: {
              url: remote.url,
              transport: 'streamable-http',
              clientCredentials: { issuer: issuer.issuer, clientId: 'manifold-gateway', clientSecretEnv: 'PM_UPSTREAM_SECRET', scope: 'pm' },
            },
          },
        ],
      },
      { env: { PM_UPSTREAM_SECRET: 'gateway-client-secret-0123456789' } },
    );
    try {
      await waitReady(gateway);
      const client = await connect(gateway.url);
      const created = (await client.callTool({ name: 'pm__create_task', arguments: { title: 'Over client credentials' } })) as CallToolResult;
      expect(created.isError).toBeFalsy();
      await client.callTool({ name: 'pm__list_tasks', arguments: {} });
      await client.close();
      // One token served every request (cached), asked for with the upstream as resource.
      expect(issuer.tokenRequests).toHaveLength(1);
      expect(issuer.tokenRequests[0]?.get('resource')).toBe(remote.url);
      expect(issuer.tokenRequests[0]?.get('scope')).toBe('pm');
      expect(JSON.stringify(gateway.logs)).not.toContain('gateway-client-secret-0123456789');
      expect(JSON.stringify(gateway.logs)).not.toContain(upstreamToken);
    } finally {
      await gateway.stop();
      await remote.stop();
      await issuer.stop();
      data.remove();
    }
  });
});
