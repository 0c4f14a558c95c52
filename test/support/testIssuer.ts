import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

interface SigningKey {
  kid: string;
  alg: 'ES256' | 'RS256';
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/**
 * A small but real OAuth issuer on loopback for tests: it publishes OpenID discovery
 * metadata and a JWKS, signs RFC 9068 access tokens with keys it can rotate, and answers
 * RFC 7662 introspection for opaque tokens it issued. Tests use it to produce the good
 * and the hostile tokens a resource server must tell apart.
 */
export class TestIssuer {
  readonly introspectionClient = { id: 'gateway-introspector', secret: randomBytes(16).toString('hex') };
  private keys: SigningKey[] = [];
  private readonly opaque = new Map<string, Record<string, unknown>>();
  /** Client credentials clients: id → secret and the access token they get. */
  readonly machineClients = new Map<string, { secret: string; accessToken: string }>();
  /** Bodies of the token requests received, for assertions. */
  readonly tokenRequests: URLSearchParams[] = [];
  private server?: Server;
  issuer = '';
  jwksFetches = 0;

  async start(): Promise<this> {
    await this.rotate();
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', this.issuer);
      const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (url.pathname === '/.well-known/openid-configuration' || url.pathname === '/.well-known/oauth-authorization-server') {
        return json(200, {
          issuer: this.issuer,
          jwks_uri: `${this.issuer}/jwks`,
          authorization_endpoint: `${this.issuer}/authorize`,
          token_endpoint: `${this.issuer}/token`,
          introspection_endpoint: `${this.issuer}/introspect`,
          response_types_supported: ['code'],
          code_challenge_methods_supported: ['S256'],
        });
      }
      if (url.pathname === '/jwks') {
        this.jwksFetches += 1;
        return json(200, { keys: this.keys.map((k) => k.publicJwk) });
      }
      if (url.pathname === '/token' && req.method === 'POST') {
        const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
        const [id = '', secret] = Buffer.from(basic, 'base64')
          .toString()
          .split(':')
          .map((part) => decodeURIComponent(part.replace(/\+/g, ' ')));
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          const form = new URLSearchParams(body);
          this.tokenRequests.push(form);
          const client = this.machineClients.get(id);
          if (!client || client.secret !== secret) return json(401, { error: 'invalid_client' });
          if (form.get('grant_type') !== 'client_credentials') return json(400, { error: 'unsupported_grant_type' });
          json(200, { access_token: client.accessToken, token_type: 'Bearer', expires_in: 300, ...(form.get('scope') ? { scope: form.get('scope') } : {}) });
        });
        return undefined;
      }
      if (url.pathname === '/introspect' && req.method === 'POST') {
        // RFC 6749 §2.3.1: client id and secret are form-url-encoded before Basic encoding.
        const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
        const [id, secret] = Buffer.from(basic, 'base64')
          .toString()
          .split(':')
          .map((part) => decodeURIComponent(part.replace(/\+/g, ' ')));
        if (id !== this.introspectionClient.id || secret !== this.introspectionClient.secret) return json(401, { error: 'invalid_client' });
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          const token = new URLSearchParams(body).get('token') ?? '';
          json(200, this.opaque.get(token) ?? { active: false });
        });
        return undefined;
      }
      return json(404, { error: 'not_found' });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.issuer = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  /** Publish a new signing key (the old ones stay published) and sign with it from now on. */
  async rotate(alg: 'ES256' | 'RS256' = 'ES256'): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const kid = randomUUID();
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
    this.keys.push({ kid, alg, privateKey, publicJwk });
    return kid;
  }

  /** An unpublished key, for forgeries. */
  async strangerKey(): Promise<SigningKey> {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const kid = randomUUID();
    return { kid, alg: 'ES256', privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid } };
  }

  get currentKey(): SigningKey {
    return this.keys[this.keys.length - 1]!;
  }

  /** Sign an access token; defaults are a valid RFC 9068 token for `audience`. */
  async accessToken(
    audience: string | string[],
    claims: Record<string, unknown> = {},
    options: { key?: SigningKey; typ?: string; kid?: string; expiresInSeconds?: number; issuedAt?: number } = {},
  ): Promise<string> {
    const key = options.key ?? this.currentKey;
    const now = options.issuedAt ?? Math.floor(Date.now() / 1000);
    return new SignJWT({ client_id: 'test-client', scope: 'pm:read', ...claims })
      .setProtectedHeader({ alg: key.alg, typ: options.typ ?? 'at+jwt', kid: options.kid ?? key.kid })
      .setIssuer(typeof claims.iss === 'string' ? claims.iss : this.issuer)
      .setSubject(typeof claims.sub === 'string' ? claims.sub : 'ada')
      .setAudience(audience)
      .setIssuedAt(now)
      .setJti(randomUUID())
      .setExpirationTime(now + (options.expiresInSeconds ?? 600))
      .sign(key.privateKey);
  }

  /** An opaque token known to the introspection endpoint. */
  opaqueToken(claims: Record<string, unknown>): string {
    const token = randomBytes(24).toString('base64url');
    this.opaque.set(token, { iss: this.issuer, client_id: 'test-client', ...claims });
    return token;
  }
}

/** A JWT with `alg: none` and no signature. */
export function unsignedToken(payload: Record<string, unknown>): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'none', typ: 'at+jwt' })}.${encode(payload)}.`;
}
