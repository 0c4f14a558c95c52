import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import * as oauth from 'oauth4webapi';

/** What a valid access token says about its bearer. */
export interface VerifiedAccess {
  subject: string;
  clientId: string;
  scopes: string[];
  email?: string;
  name?: string;
  /** Seconds since the epoch. */
  expiresAt: number;
  audience: string;
  /** Milliseconds since the epoch after which the token must be checked again (set by cachedVerifier). */
  recheckAt?: number;
}

/** The token is not acceptable; `reason` is safe to tell the client. */
export class TokenRejected extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'TokenRejected';
  }
}

/** The token could not be checked (authorization server unreachable); not the client's fault. */
export class VerifierUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VerifierUnavailable';
  }
}

export interface AccessTokenVerifier {
  /** Verify a token for one of the acceptable audiences (resource URIs), in order. */
  verify(token: string, audiences: readonly string[]): Promise<VerifiedAccess>;
}

/** Scopes from RFC 9068 `scope` (space-separated) or the `scp` array some providers use. */
export function scopesOf(claims: Record<string, unknown>): string[] {
  if (typeof claims.scope === 'string') return claims.scope.split(' ').filter(Boolean);
  if (Array.isArray(claims.scp)) return claims.scp.filter((s): s is string => typeof s === 'string');
  if (typeof claims.scp === 'string') return claims.scp.split(' ').filter(Boolean);
  return [];
}

function stringClaim(claims: Record<string, unknown>, name: string): string | undefined {
  const value = claims[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** oauth4webapi names the claim that failed its comparison in the error's cause. */
function isAudienceMismatch(error: unknown): boolean {
  return error instanceof oauth.OperationProcessingError && error.code === oauth.JWT_CLAIM_COMPARISON && causeField(error, 'claim') === 'aud';
}

function causeField(error: Error, field: string): unknown {
  const cause = error.cause;
  return typeof cause === 'object' && cause !== null ? (cause as Record<string, unknown>)[field] : undefined;
}

/** Client-safe description of why oauth4webapi refused a token. */
function rejectionReason(error: unknown): string {
  if (error instanceof oauth.OperationProcessingError || error instanceof oauth.UnsupportedOperationError) {
    return error.message.replace(/\s+/g, ' ').slice(0, 200);
  }
  if (error instanceof TypeError) return 'the access token is not a well-formed JWT';
  return 'the access token could not be validated';
}

export interface JwtVerifierOptions {
  /** Issuer metadata with `issuer` and `jwks_uri` (from discovery). */
  authorizationServer: oauth.AuthorizationServer;
  /** JWS algorithms accepted; `none` and symmetric algorithms are never accepted. */
  algorithms: string[];
  /** Tolerated clock difference for exp/nbf/iat, in seconds. */
  clockToleranceSeconds: number;
  /** Plain-http issuers are allowed only on loopback (development, tests). */
  allowInsecureRequests: boolean;
  /**
   * A token naming a key id the cached key set lacks makes the verifier refetch the key
   * set at once (key rotation), at most this often, so forged kids cannot hammer the issuer.
   */
  minKeyRefreshIntervalMs?: number;
  /** Replaces fetch for the issuer's key set (the embedded server hands its keys over directly). */
  customFetch?: typeof fetch;
}

function isUnknownKey(error: unknown): boolean {
  if (!(error instanceof oauth.OperationProcessingError) || error.code !== oauth.KEY_SELECTION) return false;
  const candidates = causeField(error, 'candidates');
  return Array.isArray(candidates) && candidates.length === 0;
}

/**
 * JWT access tokens (RFC 9068) checked by oauth4webapi against the issuer's published
 * keys: signature, `typ: at+jwt`, `iss`, `aud`, `exp`/`nbf`/`iat` with skew, algorithm
 * allow-list. The key set is cached and refetched when a token names an unknown `kid`.
 */
export function jwtAccessTokenVerifier(options: JwtVerifierOptions): AccessTokenVerifier {
  const jwks = {} as oauth.JWKSCacheInput;
  // oauth4webapi keeps its key cache per metadata object; a fresh copy plus an emptied
  // cache input forces a refetch (it otherwise refetches on an unknown kid only after 60 s).
  let authorizationServer = options.authorizationServer;
  let lastForcedRefresh = 0;
  const minRefreshMs = options.minKeyRefreshIntervalMs ?? 10_000;
  const check = (token: string, audience: string) => {
    // validateJwtAccessToken reads the token from a Request's Authorization header.
    const request = new Request('http://gateway.invalid/', { headers: { authorization: `Bearer ${token}` } });
    return oauth.validateJwtAccessToken(authorizationServer, request, audience, {
      signingAlgorithms: options.algorithms,
      [oauth.clockTolerance]: options.clockToleranceSeconds,
      [oauth.jwksCache]: jwks,
      [oauth.allowInsecureRequests]: options.allowInsecureRequests,
      ...(options.customFetch ? { [oauth.customFetch]: options.customFetch } : {}),
    });
  };
  const validate = async (token: string, audience: string): Promise<VerifiedAccess> => {
    let claims: oauth.JWTAccessTokenClaims;
    try {
      claims = await check(token, audience);
    } catch (error) {
      if (!isUnknownKey(error) || Date.now() - lastForcedRefresh < minRefreshMs) throw error;
      lastForcedRefresh = Date.now();
      authorizationServer = { ...authorizationServer };
      const cache = jwks as { jwks?: unknown; uat?: unknown };
      delete cache.jwks;
      delete cache.uat;
      claims = await check(token, audience);
    }
    const record = claims as unknown as Record<string, unknown>;
    const email = stringClaim(record, 'email');
    const name = stringClaim(record, 'preferred_username') ?? stringClaim(record, 'name');
    return {
      subject: claims.sub,
      clientId: claims.client_id,
      scopes: scopesOf(record),
      expiresAt: claims.exp,
      audience,
      ...(email ? { email } : {}),
      ...(name ? { name } : {}),
    };
  };
  return {
    async verify(token, audiences) {
      let lastError: unknown;
      for (const audience of audiences) {
        try {
          return await validate(token, audience);
        } catch (error) {
          lastError = error;
          if (!isAudienceMismatch(error)) break;
        }
      }
      if (lastError instanceof oauth.ResponseBodyError || isNetworkFailure(lastError)) {
        throw new VerifierUnavailable("could not fetch the issuer's signing keys", { cause: lastError });
      }
      throw new TokenRejected(rejectionReason(lastError));
    },
  };
}

export interface IntrospectionVerifierOptions {
  authorizationServer: oauth.AuthorizationServer;
  clientId: string;
  clientSecret: string;
  allowInsecureRequests: boolean;
  clockToleranceSeconds: number;
}

/**
 * Opaque tokens checked by token introspection (RFC 7662) with the gateway's own client
 * credentials. An inactive token, another issuer or another audience is refused.
 */
export function introspectionVerifier(options: IntrospectionVerifierOptions): AccessTokenVerifier {
  const client: oauth.Client = { client_id: options.clientId };
  const auth = oauth.ClientSecretBasic(options.clientSecret);
  return {
    async verify(token, audiences) {
      let claims: oauth.IntrospectionResponse;
      try {
        const response = await oauth.introspectionRequest(options.authorizationServer, client, auth, token, {
          [oauth.allowInsecureRequests]: options.allowInsecureRequests,
        });
        claims = await oauth.processIntrospectionResponse(options.authorizationServer, client, response);
      } catch (error) {
        throw new VerifierUnavailable('token introspection failed', { cause: error });
      }
      if (!claims.active) throw new TokenRejected('the access token is not active (expired, revoked or unknown)');
      if (claims.iss !== undefined && claims.iss !== options.authorizationServer.issuer)
        throw new TokenRejected('the access token was issued by another authorization server');
      const tokenAudiences = claims.aud === undefined ? [] : Array.isArray(claims.aud) ? claims.aud : [claims.aud];
      const audience = audiences.find((a) => tokenAudiences.includes(a));
      if (!audience) throw new TokenRejected('the access token was issued for another resource');
      const now = Math.floor(Date.now() / 1000);
      if (typeof claims.exp === 'number' && claims.exp + options.clockToleranceSeconds < now) throw new TokenRejected('the access token has expired');
      if (typeof claims.nbf === 'number' && claims.nbf - options.clockToleranceSeconds > now) throw new TokenRejected('the access token is not valid yet');
      if (typeof claims.sub !== 'string') throw new TokenRejected('the access token names no subject');
      const record = claims as unknown as Record<string, unknown>;
      const email = stringClaim(record, 'email');
      const name = stringClaim(record, 'username') ?? stringClaim(record, 'preferred_username');
      return {
        subject: claims.sub,
        clientId: claims.client_id ?? '',
        scopes: scopesOf(record),
        expiresAt: typeof claims.exp === 'number' ? claims.exp : now + 60,
        audience,
        ...(email ? { email } : {}),
        ...(name ? { name } : {}),
      };
    },
  };
}

/**
 * Remember verified tokens until they expire (at most `maxAgeMs`), keyed by a hash of
 * the token so the cache never holds a usable credential. Rejections are not cached.
 */
export function cachedVerifier(inner: AccessTokenVerifier, options: { maxEntries?: number; maxAgeMs?: number } = {}): AccessTokenVerifier {
  const maxAgeMs = options.maxAgeMs ?? 5 * 60_000;
  const cache = new LRUCache<string, VerifiedAccess>({ max: options.maxEntries ?? 10_000 });
  return {
    async verify(token, audiences) {
      const key = `${hash('sha256', token, 'base64url')} ${audiences.join(' ')}`;
      const hit = cache.get(key);
      const nowSeconds = Date.now() / 1000;
      if (hit && hit.expiresAt > nowSeconds) return hit;
      const verified = await inner.verify(token, audiences);
      const ttl = Math.min(maxAgeMs, Math.max(0, (verified.expiresAt - nowSeconds) * 1000));
      if (ttl <= 0) return verified;
      const remembered = { ...verified, recheckAt: nowSeconds * 1000 + ttl };
      cache.set(key, remembered, { ttl });
      return remembered;
    },
  };
}

/** fetch() rejects with a TypeError whose cause is the network error (ECONNREFUSED, UND_ERR_…). */
function isNetworkFailure(error: unknown): boolean {
  return error instanceof TypeError && error.cause instanceof Error && typeof (error.cause as NodeJS.ErrnoException).code === 'string';
}
