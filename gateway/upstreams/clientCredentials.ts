import * as oauth from 'oauth4webapi';
import type { Logger } from '../../shared/logger.js';
import { discoverIssuer, insecureAllowedFor } from '../oauth/issuerDiscovery.js';

export interface ClientCredentialsSettings {
  /** The authorization server that issues the gateway's own tokens for this upstream. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  scope?: string | undefined;
  /** RFC 8707 resource indicator: the upstream's canonical URI. */
  resource?: string | undefined;
}

/** Renew this long before a token expires, so a call never leaves with a token about to lapse. */
const RENEW_BEFORE_MS = 30_000;

/**
 * The gateway's own access token for a remote upstream, from the client credentials grant
 * (OAuth 2.1 §4.2) through oauth4webapi: fetched on first use, cached until shortly before it
 * expires, fetched again after the upstream refuses it. A client's token is never used here.
 *
 * Why not the SDK's `ClientCredentialsProvider`: it finds the authorization server through the
 * upstream's protected resource metadata (RFC 9728) after a 401, while an upstream entry here
 * names its issuer in the configuration — many remote MCP servers publish no metadata — and
 * the token is wanted before the first request, not after a refusal.
 */
export class ClientCredentialsToken {
  private authorizationServer: oauth.AuthorizationServer | undefined;
  private cached: { token: string; renewAt: number } | undefined;
  private pending: Promise<string> | undefined;

  constructor(
    private readonly settings: ClientCredentialsSettings,
    private readonly logger: Logger,
  ) {}

  async token(): Promise<string> {
    if (this.cached && Date.now() < this.cached.renewAt) return this.cached.token;
    this.pending ??= this.fetchToken().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  invalidate(): void {
    this.cached = undefined;
  }

  private async fetchToken(): Promise<string> {
    this.authorizationServer ??= await discoverIssuer(this.settings.issuer);
    const client: oauth.Client = { client_id: this.settings.clientId };
    const parameters = new URLSearchParams();
    if (this.settings.scope) parameters.set('scope', this.settings.scope);
    if (this.settings.resource) parameters.set('resource', this.settings.resource);
    const response = await oauth.clientCredentialsGrantRequest(
      this.authorizationServer,
      client,
      oauth.ClientSecretBasic(this.settings.clientSecret),
      parameters,
      {
        [oauth.allowInsecureRequests]: insecureAllowedFor(this.settings.issuer),
      },
    );
    const result = await oauth.processClientCredentialsResponse(this.authorizationServer, client, response);
    const lifetimeMs = (result.expires_in ?? 300) * 1000;
    this.cached = { token: result.access_token, renewAt: Date.now() + Math.max(lifetimeMs - RENEW_BEFORE_MS, lifetimeMs / 2) };
    this.logger.debug({ issuer: this.settings.issuer, expiresInSeconds: result.expires_in }, 'obtained an access token for a remote upstream');
    return result.access_token;
  }
}

/** A fetch that sends the gateway's own bearer token, and on 401 renews it once and retries. */
export function fetchWithClientCredentials(source: ClientCredentialsToken): typeof fetch {
  const withToken = async (input: string | URL | Request, init: RequestInit | undefined): Promise<Response> => {
    const headers = new Headers(init?.headers);
    headers.set('authorization', `Bearer ${await source.token()}`);
    return fetch(input, { ...init, headers });
  };
  return async (input, init) => {
    const response = await withToken(input, init);
    if (response.status !== 401) return response;
    await response.body?.cancel();
    source.invalidate();
    return withToken(input, init);
  };
}
