import { SignInThrottle } from '../../gateway/auth/embedded/signInThrottle.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Koa from 'koa';
import * as oauth from 'oauth4webapi';
import { createEmbeddedAuthServer, type EmbeddedAuthServer, type EmbeddedAuthServerOptions } from '../../gateway/auth/embedded/embeddedAuthServer.js';
import { hashPassword } from '../../gateway/auth/embedded/passwords.js';
import type { EmbeddedClient, EmbeddedUser } from '../../gateway/auth/embedded/settings.js';
import { createLogger } from '../../shared/logger.js';

export const SCOPES = ['pm:read', 'pm:write', 'pm:admin', 'github:read'];
export const PASSWORDS = { ada: 'correct horse battery staple', bob: 'hunter2-but-longer' } as const;
export const SCRIPT_CLIENT = { clientId: 'nightly-report', clientSecret: 's3cret-'.repeat(6), scopes: ['pm:read', 'github:read'] };
export const REGISTRATION_ADMIN_TOKEN = 'admin-registration-token-0123456789';
export const REDIRECT_URI = 'http://127.0.0.1:33418/callback';
const UNTHROTTLED = { windowMs: 60_000, max: 1_000_000 };

export async function testUsers(): Promise<EmbeddedUser[]> {
  return [
    { id: 'ada', email: 'ada@example.com', name: 'Ada <Lovelace>', passwordHash: await hashPassword(PASSWORDS.ada) },
    { id: 'bob', email: 'bob@example.com', passwordHash: await hashPassword(PASSWORDS.bob), scopes: ['pm:read', 'github:read'] },
  ];
}

/** What the protected route answers: the validated claims, or the validation error. */
export interface ProtectedAnswer {
  status: number;
  claims?: oauth.JWTAccessTokenClaims & { email?: string; scope?: string };
  error?: string;
}

/**
 * A Koa app on 127.0.0.1 that mounts the embedded authorization server and a trivial protected
 * resource (`GET /mcp`, `GET /servers/:ns/mcp`) validating bearer JWTs with oauth4webapi, as a
 * resource server would. `restart()` closes the authorization server and creates a new one on
 * the same data directory behind the same URL, as a gateway restart would.
 */
export class EmbeddedAuthHarness {
  baseUrl = '';
  dataDir = '';
  auth!: EmbeddedAuthServer;
  private server!: Server;
  private handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(503).end();
  private users: EmbeddedUser[] = [];
  private authorizationServer: oauth.AuthorizationServer | undefined;

  get resource(): string {
    return `${this.baseUrl}/mcp`;
  }

  get issuer(): string {
    return `${this.baseUrl}/oauth`;
  }

  namespaceResource(ns: string): string {
    return `${this.baseUrl}/servers/${ns}/mcp`;
  }

  async start(options: { dataDir?: string; adjust?: (options: EmbeddedAuthServerOptions) => EmbeddedAuthServerOptions } = {}): Promise<this> {
    this.dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'manifold-embedded-auth-'));
    this.users = await testUsers();
    this.server = createServer((req, res) => this.handler(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    await this.boot(options.adjust);
    return this;
  }

  authOptions(): EmbeddedAuthServerOptions {
    const scriptClient: EmbeddedClient = { ...SCRIPT_CLIENT, authMethod: 'client_secret_basic' };
    return {
      publicUrl: this.baseUrl,
      resource: this.resource,
      extraResources: [this.namespaceResource('pm'), this.namespaceResource('github')],
      scopes: SCOPES,
      users: this.users,
      clients: [scriptClient],
      registrationAdminToken: REGISTRATION_ADMIN_TOKEN,
      dataDir: this.dataDir,
      // These suites sign in and register many times a minute from one address; throttling has its own test.
      signInThrottle: new SignInThrottle({ perAccount: [UNTHROTTLED], perAddress: [UNTHROTTLED], registrationsPerAddress: [UNTHROTTLED] }),
      logger: createLogger('embedded-auth-test', 'silent'),
    };
  }

  private async boot(adjust: (options: EmbeddedAuthServerOptions) => EmbeddedAuthServerOptions = (o) => o): Promise<void> {
    this.auth = await createEmbeddedAuthServer(adjust(this.authOptions()));
    const app = new Koa<{ user?: string }>();
    app.use(this.auth.mount);
    app.use(async (ctx, next) => {
      const match = /^\/(?:mcp|servers\/([a-z-]+)\/mcp)$/.exec(ctx.path);
      if (!match || ctx.method !== 'GET') return next();
      const answer = await this.validate(ctx.req, `${this.baseUrl}${ctx.path}`);
      ctx.status = answer.status;
      ctx.body = answer;
    });
    this.handler = app.callback();
  }

  /** The resource server check: RFC 9068 validation by oauth4webapi against discovered metadata. */
  private async validate(req: IncomingMessage, audience: string): Promise<ProtectedAnswer> {
    const options = { [oauth.allowInsecureRequests]: true };
    try {
      if (!this.authorizationServer) {
        const issuer = new URL(this.issuer);
        this.authorizationServer = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, options));
      }
      const headers = new Headers();
      if (req.headers.authorization) headers.set('authorization', req.headers.authorization);
      const request = new Request(audience, { headers });
      const claims = await oauth.validateJwtAccessToken(this.authorizationServer, request, audience, options);
      return { status: 200, claims };
    } catch (error) {
      return { status: 401, error: `${(error as { code?: string }).code ?? ''} ${(error as Error).message}` };
    }
  }

  /** Close the authorization server and start a new one on the same data directory, optionally reconfigured. */
  async restart(adjust?: (options: EmbeddedAuthServerOptions) => EmbeddedAuthServerOptions): Promise<void> {
    await this.auth.close();
    await this.boot(adjust);
  }

  /** Dynamic client registration (RFC 7591) with exactly this request body. */
  async register(metadata: Record<string, unknown>, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(`${this.issuer}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(metadata),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  /** Ask the protected resource at `path` with a bearer token. */
  async callProtected(token: string, path = '/mcp'): Promise<ProtectedAnswer> {
    const response = await fetch(`${this.baseUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return (await response.json()) as ProtectedAnswer;
  }

  async stop(): Promise<void> {
    await this.auth?.close();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** A minimal cookie jar for driving the login pages with fetch (all cookies sent to this one host). */
export class Browser {
  private readonly cookies = new Map<string, string>();

  constructor(private readonly origin: string) {}

  private remember(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1] ?? '') < Date.now()));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  cookieNames(): string[] {
    return [...this.cookies.keys()];
  }

  async get(url: string): Promise<Response> {
    const response = await fetch(new URL(url, this.origin), { redirect: 'manual', headers: this.cookieHeader() });
    this.remember(response);
    return response;
  }

  async post(url: string, form: Record<string, string> | [string, string][], headers: Record<string, string> = {}): Promise<Response> {
    const response = await fetch(new URL(url, this.origin), {
      method: 'POST',
      redirect: 'manual',
      headers: { ...this.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded', origin: this.origin, ...headers },
      body: new URLSearchParams(form).toString(),
    });
    this.remember(response);
    return response;
  }

  private cookieHeader(): Record<string, string> {
    if (this.cookies.size === 0) return {};
    return { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
  }
}

export interface AuthorizeResult {
  /** Where the server finally sent the browser (the client's redirect URI with code or error). */
  callback: URL;
  loginPages: string[];
  consentPages: string[];
}

/**
 * Play the user in a browser: open the authorization URL, sign in with each password in turn
 * (wrong ones first, if given), then allow or deny on the consent page, following redirects
 * until the browser lands on the client's redirect URI.
 */
export async function authorizeInBrowser(
  browser: Browser,
  authorizationUrl: URL | string,
  options: {
    login: string;
    passwords: string[];
    consent?: 'allow' | 'deny';
    redirectUri?: string;
    /** Boxes to tick (e.g. an admin scope) or untick on the consent page; the rest stay as the page sets them. */
    tick?: string[];
    untick?: string[];
  },
): Promise<AuthorizeResult> {
  const redirectUri = options.redirectUri ?? REDIRECT_URI;
  const passwords = [...options.passwords];
  const loginPages: string[] = [];
  const consentPages: string[] = [];
  let response = await browser.get(String(authorizationUrl));
  for (let step = 0; step < 20; step++) {
    if (response.status === 303 || response.status === 302) {
      const location = new URL(response.headers.get('location') ?? '', authorizationUrl);
      if (location.href.startsWith(redirectUri)) return { callback: location, loginPages, consentPages };
      response = await browser.get(location.href);
      continue;
    }
    const html = await response.text();
    if (response.status !== 200) throw new Error(`unexpected ${response.status}: ${html.slice(0, 500)}`);
    const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
    if (!action) throw new Error(`no form on page: ${html.slice(0, 500)}`);
    if (action.endsWith('/login')) {
      loginPages.push(html);
      const password = passwords.shift();
      if (password === undefined) throw new Error('login page shown again, but no password left to try');
      response = await browser.post(action, { login: options.login, password });
    } else if (action.endsWith('/confirm')) {
      consentPages.push(html);
      const abort = /formaction="([^"]+)"/.exec(html)?.[1];
      if (options.consent === 'deny' && abort) {
        response = await browser.post(abort, { decision: 'deny' });
      } else {
        // As a browser submits the form: every ticked box, after the user's changes.
        const ticked = consentChoices(html)
          .filter((box) => (box.checked || options.tick?.includes(box.scope)) && !options.untick?.includes(box.scope))
          .map((box): [string, string] => ['scope', box.scope]);
        response = await browser.post(action, [...ticked, ['decision', 'allow']]);
      }
    } else {
      throw new Error(`unknown form action ${action}`);
    }
  }
  throw new Error('too many steps');
}

/** The scope checkboxes of a consent page, and whether the page ticks each one. */
export function consentChoices(html: string): { scope: string; checked: boolean }[] {
  return [...html.matchAll(/<input type="checkbox" name="scope" value="([^"]+)"( checked)?>/g)].map((m) => ({
    scope: m[1] ?? '',
    checked: m[2] !== undefined,
  }));
}

/** Decode a JWT's header and payload without verifying (for asserting on what was issued). */
export function decodeJwt(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [header = '', payload = ''] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString()) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>,
  };
}
