import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError, type OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../gateway/auth/embedded/passwords.js';
import { authorizeInBrowser, Browser, decodeJwt } from '../auth/embeddedHarness.js';
import { TestIssuer, unsignedToken } from '../support/testIssuer.js';
import { domainUpstreams, rawSession, ROOT, startGateway, waitReady, type RunningGateway } from './harness.js';

const REDIRECT_URI = 'http://127.0.0.1:33419/callback';
/** A native application's own scheme, as Cursor registers it (RFC 8252 §7.1). */
const CURSOR_REDIRECT_URI = 'cursor://anysphere.cursor-retrieval/oauth/user-abc/callback';
const PASSWORD = { ada: 'ada-reads-only-here', grace: 'grace-may-do-everything' };

/** An OAuth client as an MCP host keeps it: registration, tokens, PKCE verifier; the "browser" is driven by the test. */
class RecordingOAuthProvider implements OAuthClientProvider {
  information: OAuthClientInformationMixed | undefined;
  stored: OAuthTokens | undefined;
  verifier = '';
  authorizationUrl: URL | undefined;
  readonly clientMetadata: OAuthClientMetadata;
  constructor(readonly redirectUrl: string) {
    this.clientMetadata = {
      client_name: 'Gateway test client',
      redirect_uris: [redirectUrl],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    };
  }
  clientInformation() {
    return this.information;
  }
  saveClientInformation(information: OAuthClientInformationMixed) {
    this.information = information;
  }
  tokens() {
    return this.stored;
  }
  saveTokens(tokens: OAuthTokens) {
    this.stored = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
}

/** Connect through the SDK's OAuth support: 401 → discovery → registration → browser login → token → connect. */
async function signIn(
  gateway: RunningGateway,
  login: string,
  passwords: string[],
  redirectUri = REDIRECT_URI,
): Promise<{ client: Client; provider: RecordingOAuthProvider; transport: StreamableHTTPClientTransport }> {
  const provider = new RecordingOAuthProvider(redirectUri);
  const first = new StreamableHTTPClientTransport(new URL(gateway.url), { authProvider: provider });
  await expect(new Client({ name: 'oauth-test', version: '1.0.0' }).connect(first)).rejects.toBeInstanceOf(UnauthorizedError);
  expect(provider.authorizationUrl?.origin).toBe(gateway.base);
  expect(provider.authorizationUrl?.searchParams.get('code_challenge_method')).toBe('S256');
  expect(provider.authorizationUrl?.searchParams.get('resource')).toBe(gateway.url);
  const { callback } = await authorizeInBrowser(new Browser(gateway.base), provider.authorizationUrl!, { login, passwords, redirectUri });
  const code = callback.searchParams.get('code');
  expect(code).toBeTruthy();
  await first.finishAuth(code!);
  const transport = new StreamableHTTPClientTransport(new URL(gateway.url), { authProvider: provider });
  const client = new Client({ name: 'oauth-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, provider, transport };
}

describe('gateway with the embedded authorization server', () => {
  let gateway: RunningGateway;
  const dataDir = mkdtempSync(join(tmpdir(), 'manifold-oauth-'));

  beforeAll(async () => {
    gateway = await startGateway(
      {
        auth: {
          mode: 'oauth',
          embedded: {
            users: [
              { id: 'ada', email: 'ada@example.com', passwordHash: await hashPassword(PASSWORD.ada), scopes: ['pm:read', 'docs:read'] },
              { id: 'grace', email: 'grace@example.com', passwordHash: await hashPassword(PASSWORD.grace) },
            ],
          },
        },
        upstreams: domainUpstreams(dataDir),
      },
      { env: { MANIFOLD_DATA_DIR: dataDir } },
    );
    await waitReady(gateway);
  });
  afterAll(async () => {
    await gateway?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('publishes protected resource metadata for each endpoint and challenges anonymous requests', async () => {
    const anonymous = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(anonymous.status).toBe(401);
    const challenge = anonymous.headers.get('www-authenticate') ?? '';
    // The least-privilege default to ask for: read and write of each namespace, never admin.
    expect(challenge).toBe(
      `Bearer resource_metadata="${gateway.base}/.well-known/oauth-protected-resource/mcp", scope="pm:read pm:write docs:read docs:write"`,
    );
    const metadata = (await (await fetch(`${gateway.base}/.well-known/oauth-protected-resource/mcp`)).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({ resource: gateway.url, authorization_servers: [`${gateway.base}/oauth`], bearer_methods_supported: ['header'] });
    expect(metadata.scopes_supported).toEqual(['pm:read', 'pm:write', 'pm:admin', 'docs:read', 'docs:write', 'docs:admin']);
    const perServer = (await (await fetch(`${gateway.base}/.well-known/oauth-protected-resource/servers/pm/mcp`)).json()) as Record<string, unknown>;
    expect(perServer).toMatchObject({ resource: `${gateway.base}/servers/pm/mcp`, scopes_supported: ['pm:read', 'pm:write', 'pm:admin'] });
  });

  it('runs the whole client journey with the SDK: discovery, registration, PKCE login, token, calls, refresh', async () => {
    const { client, provider } = await signIn(gateway, 'grace@example.com', ['not her password', PASSWORD.grace]);
    const claims = decodeJwt(provider.stored!.access_token);
    expect(claims.header.typ).toBe('at+jwt');
    expect(claims.payload).toMatchObject({ iss: `${gateway.base}/oauth`, aud: gateway.url, sub: 'grace', scope: 'pm:read pm:write docs:read docs:write' });

    // The client asked for what the challenge named: no admin scope, so no destructive tools.
    const tools = (await client.listTools()).tools.map((t) => t.name);
    expect(tools).toContain('pm__create_task');
    expect(tools).not.toContain('pm__delete_task');
    const created = (await client.callTool({ name: 'pm__create_task', arguments: { title: 'Signed in through OAuth' } })) as CallToolResult;
    expect(created.isError).toBeFalsy();
    // Children learn who called through _meta, never through the token.
    expect((created.structuredContent as { task: { created_by: string } }).task.created_by).toBe('grace');

    // The access token is lost or expired: the SDK refreshes with the rotating refresh token.
    const before = provider.stored!;
    provider.stored = { ...before, access_token: 'expired-or-revoked' };
    const again = (await client.callTool({ name: 'pm__list_tasks', arguments: {} })) as CallToolResult;
    expect(again.isError).toBeFalsy();
    expect(provider.stored.access_token).not.toBe('expired-or-revoked');
    expect(provider.stored.refresh_token).not.toBe(before.refresh_token);
    await client.close();
  });

  it('shows a session only what its scopes allow and refuses the rest with 403 naming the scope', async () => {
    const { client, provider } = await signIn(gateway, 'ada', [PASSWORD.ada]);
    expect(String(decodeJwt(provider.stored!.access_token).payload.scope).split(' ').sort()).toEqual(['docs:read', 'pm:read']);
    const tools = (await client.listTools()).tools.map((t) => t.name);
    expect(tools).toContain('pm__list_tasks');
    expect(tools).toContain('docs__search_docs');
    expect(tools).not.toContain('pm__create_task');
    expect(tools).not.toContain('pm__delete_task');

    // The same token used directly (no step-up): the refusal names the missing scope.
    const session = await rawSession(gateway.url, provider.stored!.access_token);
    const refused = await session.call('tools/call', { name: 'pm__create_task', arguments: { title: 'Should not exist' } });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer error="insufficient_scope", scope="[^"]*pm:write[^"]*"/);
    expect(JSON.stringify(refused.body)).toContain('calling pm__create_task needs scope pm:write');
    const tasks = (await client.callTool({ name: 'pm__list_tasks', arguments: { text: 'Should not exist' } })) as CallToolResult;
    expect((tasks.structuredContent as { tasks: unknown[] }).tasks).toEqual([]);
    await client.close();
  });

  it('connects a native application that receives the code on its own scheme, as Cursor does', async () => {
    const { client, provider } = await signIn(gateway, 'ada', [PASSWORD.ada], CURSOR_REDIRECT_URI);
    expect(provider.information?.client_secret).toBeUndefined();
    expect(decodeJwt(provider.stored!.access_token).payload).toMatchObject({ aud: gateway.url, sub: 'ada' });
    const listed = (await client.callTool({ name: 'pm__list_tasks', arguments: {} })) as CallToolResult;
    expect(listed.isError).toBeFalsy();
    await client.close();
  });

  it('prints tokens for scripts with the token command, bound to the same keys', async () => {
    const { execFile } = await import('node:child_process');
    const token = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        [
          join(ROOT, 'dist', 'gateway', 'tokenCommand.js'),
          '--config',
          gateway.configFile,
          '--user',
          'grace',
          '--scope',
          'docs:read',
          '--public-url',
          gateway.base,
        ],
        { env: { ...process.env, MANIFOLD_DATA_DIR: dataDir } },
        (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(stdout.trim())),
      ),
    );
    const session = await rawSession(gateway.url, token);
    const listed = await session.call('tools/list', {});
    const names = (listed.body as { result: { tools: Array<{ name: string }> } }).result.tools.map((t) => t.name);
    expect(names.length).toBeGreaterThan(0);
    expect(names.every((n) => n.startsWith('docs__'))).toBe(true);
  });
});

describe('gateway against an external issuer: the hostile battery', () => {
  let issuer: TestIssuer;
  let gateway: RunningGateway;
  const dataDir = mkdtempSync(join(tmpdir(), 'manifold-oauth-ext-'));

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
    gateway = await startGateway({ auth: { mode: 'oauth', issuer: issuer.issuer }, upstreams: domainUpstreams(dataDir) });
    await waitReady(gateway);
  });
  afterAll(async () => {
    await gateway?.stop();
    await issuer?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const postCreate = async (authorization: string | undefined, path = gateway.url) =>
    fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(authorization === undefined ? {} : { authorization }) },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'pm__create_task', arguments: { title: 'hostile' } } }),
    });

  it('refuses every bad token with 401 and an RFC 6750 challenge', async () => {
    const now = Math.floor(Date.now() / 1000);
    const [header, payload, signature] = (await issuer.accessToken(gateway.url, { scope: 'pm:read' })).split('.');
    const escalated = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), scope: 'pm:admin pm:write' })).toString(
      'base64url',
    );
    const cases: Array<[string, string | undefined, RegExp]> = [
      ['no token', undefined, /^Bearer resource_metadata="/],
      ['a malformed header', 'Bearer', /invalid_request/],
      ['another scheme', 'Basic YWRhOnB3', /invalid_request/],
      [
        'an expired token',
        `Bearer ${await issuer.accessToken(gateway.url, { scope: 'pm:write' }, { issuedAt: now - 7200, expiresInSeconds: 600 })}`,
        /invalid_token/,
      ],
      ['a token not yet valid', `Bearer ${await issuer.accessToken(gateway.url, { scope: 'pm:write', nbf: now + 3600 })}`, /invalid_token/],
      ['a token from another issuer', `Bearer ${await issuer.accessToken(gateway.url, { scope: 'pm:write', iss: 'https://evil.example' })}`, /invalid_token/],
      ['a token for another audience', `Bearer ${await issuer.accessToken('https://other.example/mcp', { scope: 'pm:write' })}`, /invalid_token/],
      [
        "a token for one upstream's endpoint used on the whole gateway",
        `Bearer ${await issuer.accessToken(`${gateway.base}/servers/docs/mcp`, { scope: 'pm:write' })}`,
        /invalid_token/,
      ],
      [
        'alg none',
        `Bearer ${unsignedToken({ iss: issuer.issuer, aud: gateway.url, sub: 'mallory', scope: 'pm:write', exp: now + 600, iat: now, jti: 'x', client_id: 'c' })}`,
        /invalid_token/,
      ],
      ['a tampered signature (scope escalation)', `Bearer ${header}.${escalated}.${signature}`, /invalid_token/],
      ['an unknown key id', `Bearer ${await issuer.accessToken(gateway.url, { scope: 'pm:write' }, { key: await issuer.strangerKey() })}`, /invalid_token/],
      ['a plain JWT (typ not at+jwt)', `Bearer ${await issuer.accessToken(gateway.url, { scope: 'pm:write' }, { typ: 'JWT' })}`, /invalid_token/],
    ];
    for (const [label, authorization, challenge] of cases) {
      const response = await postCreate(authorization);
      expect(response.status, label).toBe(401);
      expect(response.headers.get('www-authenticate'), label).toMatch(challenge);
      expect(response.headers.get('www-authenticate'), label).toContain(`resource_metadata="${gateway.base}/.well-known/oauth-protected-resource/mcp"`);
      const body = (await response.json()) as { error: { message: string } };
      expect(body.error.message, label).not.toMatch(/\bat .+:\d+:\d+/);
    }
  });

  it("refuses scope escalation and a namespace's token on another namespace with 403, executing nothing", async () => {
    const reader = await rawSession(gateway.url, await issuer.accessToken(gateway.url, { sub: 'ada', scope: 'pm:read' }));
    expect(reader.initStatus).toBe(200);
    const create = await reader.call('tools/call', { name: 'pm__create_task', arguments: { title: 'hostile' } });
    expect(create.status).toBe(403);
    const remove = await reader.call('tools/call', { name: 'pm__delete_task', arguments: { id: 'T-101' } });
    expect(remove.status).toBe(403);
    expect(remove.headers.get('www-authenticate')).toContain('pm:admin');

    const docsOnly = await rawSession(gateway.url, await issuer.accessToken(gateway.url, { sub: 'ada', scope: 'docs:read' }));
    const crossNamespace = await docsOnly.call('tools/call', { name: 'pm__list_tasks', arguments: {} });
    expect(crossNamespace.status).toBe(403);
    expect(JSON.stringify(crossNamespace.body)).toContain('needs scope pm:read');
    const readOther = await docsOnly.call('resources/read', { uri: 'pm+project://status' });
    expect(readOther.status).toBe(403);

    // A token for the docs endpoint opens nothing on the pm endpoint.
    const docsEndpointToken = await issuer.accessToken(`${gateway.base}/servers/docs/mcp`, { sub: 'ada', scope: 'pm:write docs:read' });
    expect((await postCreate(`Bearer ${docsEndpointToken}`, `${gateway.base}/servers/pm/mcp`)).status).toBe(401);
    const docsEndpoint = await rawSession(`${gateway.base}/servers/docs/mcp`, docsEndpointToken);
    expect(docsEndpoint.initStatus).toBe(200);

    // Nothing was written by any refused call.
    const admin = await rawSession(gateway.url, await issuer.accessToken(gateway.url, { sub: 'root', scope: 'pm:admin' }));
    const listed = await admin.call('tools/call', { name: 'pm__list_tasks', arguments: {} });
    expect((listed.body as { result: { structuredContent: { tasks: unknown[] } } }).result.structuredContent.tasks).toEqual([]);
  });

  it("never passes the client's token to an upstream", async () => {
    const token = await issuer.accessToken(gateway.url, { sub: 'grace', scope: 'pm:write' });
    const session = await rawSession(gateway.url, token);
    const created = await session.call('tools/call', { name: 'pm__create_task', arguments: { title: 'Who am I?' } });
    const task = (created.body as { result: { structuredContent: { task: { created_by: string } } } }).result.structuredContent.task;
    expect(task.created_by).toBe('grace');
    const logs = JSON.stringify(gateway.logs);
    expect(logs).not.toContain(token);
    expect(logs).not.toContain(token.split('.')[2]!);
  });
});

describe('gateway with opaque tokens checked by introspection', () => {
  it('accepts an active token and refuses an inactive one, by configuration alone', async () => {
    const issuer = await new TestIssuer().start();
    const dataDir = mkdtempSync(join(tmpdir(), 'manifold-oauth-introspect-'));
    const gateway = await startGateway(
      {
        auth: {
          mode: 'oauth',
          issuer: issuer.issuer,
          tokenFormat: 'introspection',
          introspection: { clientId: issuer.introspectionClient.id, clientSecretEnv: 'TEST_INTROSPECTION_SECRET' },
        },
        upstreams: domainUpstreams(dataDir),
      },
      { env: { TEST_INTROSPECTION_SECRET: issuer.introspectionClient.secret } },
    );
    try {
      await waitReady(gateway);
      const exp = Math.floor(Date.now() / 1000) + 600;
      const active = issuer.opaqueToken({ active: true, sub: 'ada', aud: gateway.url, scope: 'docs:read', exp });
      const session = await rawSession(gateway.url, active);
      expect(session.initStatus).toBe(200);
      const listed = await session.call('tools/list', {});
      expect((listed.body as { result: { tools: Array<{ name: string }> } }).result.tools.every((t) => t.name.startsWith('docs__'))).toBe(true);
      const inactive = issuer.opaqueToken({ active: false });
      const refused = await fetch(gateway.url, {
        method: 'POST',
        headers: { authorization: `Bearer ${inactive}`, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toContain('error="invalid_token"');
      expect(JSON.stringify(gateway.logs)).not.toContain(issuer.introspectionClient.secret);
    } finally {
      await gateway.stop();
      await issuer.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
