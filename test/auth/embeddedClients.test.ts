import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt, EmbeddedAuthHarness, REDIRECT_URI, REGISTRATION_ADMIN_TOKEN, SCRIPT_CLIENT } from './embeddedHarness.js';

let harness: EmbeddedAuthHarness;

beforeAll(async () => {
  harness = await new EmbeddedAuthHarness().start();
});
afterAll(async () => harness?.stop());

async function clientCredentials(
  clientId: string,
  clientSecret: string,
  params: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${harness.issuer}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...params }).toString(),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('client credentials for scripts', () => {
  it('issues a JWT for a configured client, limited to its scopes, validated by oauth4webapi', async () => {
    const { status, body } = await clientCredentials(SCRIPT_CLIENT.clientId, SCRIPT_CLIENT.clientSecret, {
      scope: 'pm:read github:read',
      resource: harness.resource,
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({ token_type: 'Bearer', scope: 'pm:read github:read', expires_in: 3600 });
    expect(body.refresh_token).toBeUndefined();
    const token = String(body.access_token);
    expect(decodeJwt(token).header).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });
    expect(decodeJwt(token).payload).toMatchObject({
      sub: SCRIPT_CLIENT.clientId,
      client_id: SCRIPT_CLIENT.clientId,
      aud: harness.resource,
      iss: harness.issuer,
    });
    expect((await harness.callProtected(token)).status).toBe(200);
  });

  it('defaults the audience, refuses scopes beyond the client, foreign resources and wrong secrets', async () => {
    const defaulted = await clientCredentials(SCRIPT_CLIENT.clientId, SCRIPT_CLIENT.clientSecret, { scope: 'pm:read' });
    expect(decodeJwt(String(defaulted.body.access_token)).payload.aud).toBe(harness.resource);

    const escalation = await clientCredentials(SCRIPT_CLIENT.clientId, SCRIPT_CLIENT.clientSecret, { scope: 'pm:admin' });
    expect(escalation.status).toBe(400);
    expect(escalation.body.error).toBe('invalid_scope');

    const foreign = await clientCredentials(SCRIPT_CLIENT.clientId, SCRIPT_CLIENT.clientSecret, { scope: 'pm:read', resource: 'https://evil.example/mcp' });
    expect(foreign.status).toBe(400);
    expect(foreign.body.error).toBe('invalid_target');

    const wrongSecret = await clientCredentials(SCRIPT_CLIENT.clientId, 'not-the-secret', { scope: 'pm:read' });
    expect(wrongSecret.status).toBe(401);
    expect(wrongSecret.body.error).toBe('invalid_client');
  });

  it('is not available to public clients, nor to the built-in token command client', async () => {
    const pub = await harness.register({ redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none' });
    expect(pub.status).toBe(201);
    const response = await fetch(`${harness.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: String(pub.body.client_id), scope: 'pm:read' }).toString(),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error_description: 'requested grant type is not allowed for this client' });

    const builtIn = await fetch(`${harness.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'manifold-token-command', scope: 'pm:read' }).toString(),
    });
    expect(builtIn.status).toBe(400);
    expect(await builtIn.json()).toMatchObject({ error_description: 'requested grant type is not allowed for this client' });
  });
});

describe('dynamic client registration policy', () => {
  it('accepts MCP public clients with loopback or https redirect URIs', async () => {
    const { status, body } = await harness.register({
      client_name: 'Claude-like',
      redirect_uris: ['https://app.example.com/oauth/callback', 'http://localhost:6274/oauth/callback', 'http://[::1]:7777/cb'],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      software_id: 'example-mcp-client',
    });
    expect(status).toBe(201);
    expect(body).toMatchObject({ token_endpoint_auth_method: 'none', software_id: 'example-mcp-client', application_type: 'web' });
    expect(body.registration_access_token).toBeTruthy();
    expect(body.client_secret).toBeUndefined();
  });

  it('rejects plain-http non-loopback redirects, public clients with other grants, and unknown scopes', async () => {
    const http = await harness.register({ redirect_uris: ['http://evil.example/cb'], token_endpoint_auth_method: 'none' });
    expect(http.status).toBe(400);
    expect(http.body).toMatchObject({ error: 'invalid_redirect_uri' }); // RFC 7591 §3.2.2
    expect(String(http.body.error_description)).toMatch(/https, or http on a loopback/);

    const publicCc = await harness.register({
      redirect_uris: [REDIRECT_URI],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'client_credentials'],
    });
    expect(publicCc.status).toBe(400);
    expect(String(publicCc.body.error_description)).toMatch(/public client/);

    const scope = await harness.register({ redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none', scope: 'pm:read root:everything' });
    expect(scope.status).toBe(400);
  });

  it('registers a client credentials client only with the registration admin token', async () => {
    const metadata = { client_name: 'cron job', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'pm:read' };
    const anonymous = await harness.register(metadata);
    expect(anonymous.status).toBe(400);
    expect(String(anonymous.body.error_description)).toMatch(/registration admin token/);
    const wrongToken = await harness.register(metadata, { authorization: 'Bearer not-the-admin-token' });
    expect(wrongToken.status).toBe(400);

    const admitted = await harness.register(metadata, { authorization: `Bearer ${REGISTRATION_ADMIN_TOKEN}` });
    expect(admitted.status).toBe(201);
    const { status, body } = await clientCredentials(String(admitted.body.client_id), String(admitted.body.client_secret), { scope: 'pm:read' });
    expect(status).toBe(200);
    expect((await harness.callProtected(String(body.access_token))).status).toBe(200);
    const beyond = await clientCredentials(String(admitted.body.client_id), String(admitted.body.client_secret), { scope: 'pm:write' });
    expect(beyond.body.error).toBe('invalid_scope');
  });
});

describe('mintAccessToken (the token command’s engine)', () => {
  it('mints a JWT for a user that the resource server accepts', async () => {
    const token = await harness.auth.mintAccessToken('ada', ['pm:read', 'pm:admin']);
    const answer = await harness.callProtected(token);
    expect(answer.status).toBe(200);
    expect(answer.claims).toMatchObject({
      sub: 'ada',
      scope: 'pm:read pm:admin',
      aud: harness.resource,
      client_id: 'manifold-token-command',
      email: 'ada@example.com',
    });
    expect(decodeJwt(token).header).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });

    const pm = harness.namespaceResource('pm');
    const byEmail = await harness.auth.mintAccessToken('bob@example.com', ['pm:read'], pm);
    expect((await harness.callProtected(byEmail, '/servers/pm/mcp')).claims).toMatchObject({ sub: 'bob', aud: pm });
  });

  it('refuses unknown users, unsupported or unallowed scopes, and foreign resources', async () => {
    await expect(harness.auth.mintAccessToken('mallory', ['pm:read'])).rejects.toMatchObject({ code: 'not_found', field: 'user' });
    await expect(harness.auth.mintAccessToken('ada', ['pm:read', 'root'])).rejects.toMatchObject({ code: 'invalid_input', field: 'scope' });
    await expect(harness.auth.mintAccessToken('bob', ['pm:write'])).rejects.toMatchObject({ code: 'forbidden', field: 'scope' });
    await expect(harness.auth.mintAccessToken('ada', ['pm:read'], 'https://evil.example/mcp')).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'resource',
    });
  });

  it('publishes the signing key it uses', async () => {
    const jwks = (await (await fetch(harness.auth.jwksUri)).json()) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(jwks.keys[0]?.d).toBeUndefined();
    expect(harness.auth.publicJwks.keys).toEqual(jwks.keys);
    expect(decodeJwt(await harness.auth.mintAccessToken('ada', ['pm:read'])).header.kid).toBe(jwks.keys[0]?.kid);
  });
});
