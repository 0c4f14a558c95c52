import { join } from 'node:path';
import { SSEClientTransport, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { UpstreamConnection } from '../../../../gateway/upstreams/upstreamConnection.js';
import { createUpstreamTransport, FallbackHttpTransport, UpstreamStartError } from '../../../../gateway/upstreams/upstreamTransports.js';
import { RecordingListener, silentLogger, upstreamConfig } from '../../support/seams.js';

const context = () => ({ childEnv: {}, log: silentLogger, wrapFetch: (fetchFn: typeof fetch) => fetchFn, credentials: {} });
const missingEntry = join(import.meta.dirname, 'no-such-server.js');

describe('the transport of an upstream, from its settings', () => {
  it('is the transport the remote settings name', () => {
    const url = 'http://127.0.0.1:9/mcp';
    expect(createUpstreamTransport(upstreamConfig('pm', { remote: { url, transport: 'streamable-http' } }), context())).toBeInstanceOf(
      StreamableHTTPClientTransport,
    );
    expect(createUpstreamTransport(upstreamConfig('pm', { remote: { url, transport: 'sse' } }), context())).toBeInstanceOf(SSEClientTransport);
    expect(createUpstreamTransport(upstreamConfig('pm', { remote: { url } }), context())).toBeInstanceOf(FallbackHttpTransport);
  });

  it('refuses a stdio upstream whose entry file is missing, before starting anything', () => {
    const config = upstreamConfig('pm', { remote: undefined, stdio: { command: 'node', args: [missingEntry] } });
    expect(() => createUpstreamTransport(config, context())).toThrow(UpstreamStartError);
    expect(() => createUpstreamTransport(config, context())).toThrow(
      `its entry file ${missingEntry} does not exist (build the project with "npx tsc -p .", or fix stdio.args)`,
    );
  });

  it('refuses a remote upstream whose client secret is not in the environment, naming the variable', () => {
    const config = upstreamConfig('pm', {
      remote: {
        url: 'http://127.0.0.1:9/mcp',
        clientCredentials: { issuer: 'http://127.0.0.1:9/oauth', clientId: 'gateway', clientSecretEnv: 'MANIFOLD_TEST_UNSET_SECRET_8F2' },
      },
    });
    let failure: unknown;
    try {
      createUpstreamTransport(config, context());
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(UpstreamStartError);
    expect(failure).toMatchObject({ code: 'secret_missing' });
    expect((failure as Error).message).toBe(
      'MANIFOLD_TEST_UNSET_SECRET_8F2 is not set: upstream "pm" needs its client secret (remote.clientCredentials.clientSecretEnv).',
    );
  });

  it('leaves the connection restarting with the reason in its status', async () => {
    const listener = new RecordingListener();
    const connection = new UpstreamConnection(
      upstreamConfig('pm', {
        remote: undefined,
        stdio: { command: 'node', args: [missingEntry], cwd: '/' },
        restart: { initialDelayMs: 600_000, maxDelayMs: 600_000 },
      }),
      silentLogger,
      listener,
    );
    try {
      await connection.start();
      expect(connection.status()).toMatchObject({ state: 'restarting', transport: 'stdio', restarts: 1 });
      expect(connection.lastError).toBe(
        `cannot start "node ${missingEntry}" in /: its entry file ${missingEntry} does not exist (build the project with "npx tsc -p .", or fix stdio.args)`,
      );
    } finally {
      await connection.stop();
    }
  });
});
