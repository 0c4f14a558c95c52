import * as oauth from 'oauth4webapi';
import type { Authenticator } from './authenticate.js';

/** The embedded authorization server's built-in client for the operator page's browser sign-in. */
export const OPERATOR_CLIENT_ID = 'manifold-operator-page';

/** How the operator page authenticates a browser (http/operatorRoutes.ts). */
export interface OperatorAuth {
  authenticator: Authenticator;
  signIn?: OperatorSignIn;
  /** Why there is no browser sign-in (shown to a browser instead of a login form). */
  signInUnavailable?: string;
  /** The gateway's external origin: cookies are Secure behind https. */
  publicUrl: string;
  /** The longest a browser stays signed in. */
  sessionSeconds: number;
}

/** What the browser keeps (in a short-lived cookie) between leaving for the authorization server and coming back. */
export interface PendingSignIn {
  state: string;
  codeVerifier: string;
  /** The operator path to return to (`/` or `/metrics`). */
  returnTo: string;
}

export interface OperatorSignInOptions {
  /** The authorization server's metadata (discovered once, on the first sign-in, for an external issuer). */
  authorizationServer: () => Promise<oauth.AuthorizationServer>;
  clientId: string;
  /** For a confidential client registered at an external issuer (client_secret_basic). */
  clientSecret?: string;
  /** `<publicUrl>/operator/callback`, as registered. */
  redirectUri: string;
  /** The protected resource the token is for (RFC 8707): the gateway's main endpoint. */
  resource: string;
  /** What the page asks for: the scopes that let a user operate. */
  scopes: readonly string[];
  /** Plain http to the issuer (a loopback issuer in development). */
  allowInsecureRequests: boolean;
  /** How to reach the token endpoint (the embedded server is called on this process's own listener). */
  fetch?: typeof fetch;
}

/** Why a sign-in could not finish, in words for the page; `code` is the OAuth error (access_denied…). */
export class SignInFailed extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/**
 * The operator page's browser sign-in: OAuth 2.1 authorization code with PKCE (oauth4webapi),
 * as a client of the gateway's authorization server, for a token for the gateway itself.
 */
export class OperatorSignIn {
  constructor(private readonly options: OperatorSignInOptions) {}

  private client(): oauth.Client {
    return { client_id: this.options.clientId };
  }

  private clientAuth(): oauth.ClientAuth {
    return this.options.clientSecret ? oauth.ClientSecretBasic(this.options.clientSecret) : oauth.None();
  }

  /** Where to send the browser, and what it must bring back. */
  async begin(returnTo: string): Promise<{ location: string; pending: PendingSignIn }> {
    const as = await this.options.authorizationServer();
    if (!as.authorization_endpoint) throw new SignInFailed(`The authorization server ${as.issuer} publishes no authorization endpoint.`);
    const codeVerifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const url = new URL(as.authorization_endpoint);
    url.search = new URLSearchParams({
      client_id: this.options.clientId,
      redirect_uri: this.options.redirectUri,
      response_type: 'code',
      scope: this.options.scopes.join(' '),
      resource: this.options.resource,
      code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
    }).toString();
    return { location: url.href, pending: { state, codeVerifier, returnTo } };
  }

  /** Exchange the code the browser brought back for an access token. */
  async complete(callback: URL, pending: PendingSignIn): Promise<{ accessToken: string; expiresInSeconds: number | undefined }> {
    const as = await this.options.authorizationServer();
    let parameters: URLSearchParams;
    try {
      parameters = oauth.validateAuthResponse(as, this.client(), callback, pending.state);
    } catch (error) {
      if (error instanceof oauth.AuthorizationResponseError)
        throw new SignInFailed(`The authorization server did not sign you in: ${error.error_description ?? error.error}.`, error.error);
      throw new SignInFailed(`The authorization server did not sign you in: ${(error as Error).message}.`);
    }
    try {
      const response = await oauth.authorizationCodeGrantRequest(
        as,
        this.client(),
        this.clientAuth(),
        parameters,
        this.options.redirectUri,
        pending.codeVerifier,
        {
          additionalParameters: { resource: this.options.resource },
          [oauth.allowInsecureRequests]: this.options.allowInsecureRequests,
          ...(this.options.fetch ? { [oauth.customFetch]: this.options.fetch } : {}),
        },
      );
      const tokens = await oauth.processAuthorizationCodeResponse(as, this.client(), response);
      return { accessToken: tokens.access_token, expiresInSeconds: tokens.expires_in };
    } catch (error) {
      const description = error instanceof oauth.ResponseBodyError ? (error.error_description ?? error.error) : (error as Error).message;
      throw new SignInFailed(`The authorization server refused the sign-in code: ${description}.`);
    }
  }
}
