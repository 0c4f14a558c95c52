import type { Middleware } from 'koa';
import type { Authenticator } from './authenticate.js';
import type { OperatorAuth } from './operatorSignIn.js';
import type { ProtectedResource } from './protectedResource.js';
import type { ScopeCheck } from './scopeGate.js';

/** What a metadata URL answers. */
export interface MetadataAnswer {
  status: 200 | 404;
  body: object;
}

/** Everything the HTTP layer needs from authentication and authorization: outcomes it turns into responses. */
export interface GatewayAuth {
  authenticator: Authenticator;
  /** Whether a 2026-07-28 request may go on, as an outcome (the challenge names only what the call needs). */
  scopeCheck: ScopeCheck;
  /** The same for 2025-era session traffic, whose step-up challenge names held ∪ needed (scopeGate.ts StepUpChallenge). */
  sessionScopeCheck: ScopeCheck;
  /** The metadata document (RFC 9728), or the documented 404 at the origin's root, for a well-known URL; undefined for any other request. */
  metadataAt(method: string, path: string): MetadataAnswer | undefined;
  /** The embedded authorization server's own routes (oidc-provider), served before authentication; absent with an external issuer. */
  authorizationServerRoutes?: Middleware;
  /** The authorization server tokens must come from, when OAuth is on. */
  issuer?: string;
  /** The protected resource a request path belongs to (for challenges). */
  resourceFor?: (path: string) => { resource: ProtectedResource; audiences: readonly string[]; defaultScopes: readonly string[] };
  /** How the operator page signs browsers in (OAuth mode). */
  operator?: OperatorAuth;
  close(): Promise<void>;
}
