import type { Middleware, ParameterizedContext } from 'koa';
import { isLoopbackHost } from '../../shared/config.js';
import { escapeHtml } from '../../shared/html.js';
import type { Logger } from '../../shared/logger.js';
import { SignInFailed, type OperatorAuth } from '../auth/operatorSignIn.js';
import { grants } from '../auth/scopePolicy.js';
import type { ManifoldGateway } from '../session/gatewayCore.js';
import { noteRefusalReason, noteSentError, sendRpcError } from './jsonRpcMessages.js';
import type { GatewayState } from './middlewares.js';
import type { CallRecorder } from '../observability/callRecorder.js';
import type { GatewayMetrics } from '../observability/gatewayMetrics.js';
import type { ObservabilitySettings } from '../observability/observabilitySettings.js';
import type { RefusalLog } from '../observability/refusalLog.js';
import {
  CALLBACK_PATH,
  clearedSessionCookie,
  clearedSignInCookie,
  csrfTokenFor,
  csrfTokenMatches,
  readPendingSignIn,
  safeReturnPath,
  SESSION_COOKIE,
  sessionCookie,
  SIGN_IN_COOKIE,
  signInCookie,
  wantsHtml,
} from './operatorCookies.js';
import { renderOperatorMessage, renderStatusPage } from './statusPage.js';
import { observeRefusals } from './refusalObserver.js';

export interface OperatorRoutes {
  /** First of all: records 401, 403 and 429 answers (the refusal log and its metric). */
  observeRefusals: Middleware<GatewayState>;
  /** Before authentication: `/metrics` for loopback scrapers when configured public; the browser sign-in; the session cookie. */
  public: Middleware<GatewayState>;
  /** After authentication: `/metrics`, the status page at `/` and its forms. */
  authenticated: Middleware<GatewayState>;
}

type Context = ParameterizedContext<GatewayState>;

const SIGN_IN_PATH = '/operator/sign-in';
const SIGN_OUT_PATH = '/operator/sign-out';
const APPROVE_PATH = '/integrity/approve';
const PAGE_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  // same-origin, not no-referrer: with no-referrer a browser sends "Origin: null" on a form post.
  'Referrer-Policy': 'same-origin',
};

function sendPage(ctx: Context, status: number, html: string, headers: Record<string, string | string[]> = {}): void {
  ctx.respond = false;
  ctx.res.writeHead(status, { ...PAGE_HEADERS, ...headers }).end(html);
}

async function readForm(ctx: Context, maxBytes: number): Promise<URLSearchParams | undefined> {
  let body = '';
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    body += chunk.toString('utf8');
    if (body.length > maxBytes) return undefined;
  }
  return new URLSearchParams(body);
}

export function operatorRoutes(options: {
  gateway: ManifoldGateway;
  settings: ObservabilitySettings;
  metrics: GatewayMetrics | undefined;
  recorder: CallRecorder;
  refusals: RefusalLog;
  auth: OperatorAuth | undefined;
  logger: Logger;
  cacheEntries: () => number | undefined;
  /** Told of each approval made on the page (for the audit log). */
  onApproval?: (approval: { user: string; namespace: string; tools: string[] }) => void;
}): OperatorRoutes {
  const { gateway, settings, metrics, recorder, refusals, auth, logger } = options;
  const secure = auth?.publicUrl.startsWith('https:') ?? false;
  const pageEnabled = settings.statusPage.enabled;
  const serveMetrics = async (ctx: Context): Promise<void> => {
    const { contentType, body } = await metrics!.exposition();
    ctx.respond = false;
    ctx.res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' }).end(body);
  };
  const isMetrics = (ctx: { method: string; path: string }): boolean => metrics !== undefined && ctx.method === 'GET' && ctx.path === '/metrics';
  const isPage = (ctx: { method: string; path: string }): boolean => pageEnabled && ctx.method === 'GET' && ctx.path === '/';
  const isApproval = (ctx: { method: string; path: string }): boolean => pageEnabled && ctx.method === 'POST' && ctx.path === APPROVE_PATH;
  const operatorScopes = settings.statusPage.scopes;
  const mayOperate = (scopes: readonly string[]): boolean => {
    const granted = new Set(scopes);
    if (granted.has('*')) return true;
    if (operatorScopes.length > 0) return operatorScopes.some((scope) => grants(granted, scope));
    return gateway.upstreams.some((u) => grants(granted, `${u.namespace}:admin`));
  };
  const needed = (): string => (operatorScopes.length > 0 ? operatorScopes.join(' or ') : 'an admin scope (<namespace>:admin)');
  const signInLocation = (returnTo: string): string => `${SIGN_IN_PATH}?return=${encodeURIComponent(returnTo)}`;

  const signInUnavailable = (ctx: Context): void =>
    sendPage(ctx, 404, renderOperatorMessage('Browser sign-in is not available', escapeHtml(auth?.signInUnavailable ?? 'This gateway does not use OAuth.')));

  /** GET /operator/sign-in: off to the authorization server, with PKCE and state in a short-lived cookie. */
  const beginSignIn = async (ctx: Context): Promise<void> => {
    if (!auth?.signIn) return signInUnavailable(ctx);
    try {
      const { location, pending } = await auth.signIn.begin(safeReturnPath(ctx.query.return as string | undefined));
      sendPage(ctx, 303, '', { Location: location, 'Set-Cookie': signInCookie(pending, secure) });
    } catch (error) {
      logger.warn({ err: error }, 'operator page: cannot start a sign-in');
      sendPage(ctx, 502, renderOperatorMessage('Sign-in is unavailable', 'The authorization server could not be reached. Retry in a moment.'));
    }
  };

  /** GET /operator/callback: the code for a token, the token in the session cookie, then back to the page. */
  const completeSignIn = async (ctx: Context): Promise<void> => {
    if (!auth?.signIn) return signInUnavailable(ctx);
    const pending = readPendingSignIn(ctx.cookies.get(SIGN_IN_COOKIE));
    const again = `<p><a href="${SIGN_IN_PATH}">Sign in again</a></p>`;
    if (!pending)
      return sendPage(ctx, 400, renderOperatorMessage('Sign-in expired', `This sign-in was started more than ten minutes ago, or in another browser.${again}`));
    const callback = new URL(ctx.originalUrl, auth.publicUrl);
    try {
      const { accessToken, expiresInSeconds } = await auth.signIn.complete(callback, pending);
      const maxAge = Math.max(1, Math.min(auth.sessionSeconds, expiresInSeconds ?? auth.sessionSeconds));
      // A page that sends the browser on, rather than a redirect: the next request starts on this
      // site, so the SameSite=Strict cookie goes with it even when the issuer is on another site.
      sendPage(ctx, 200, renderOperatorMessage('Signed in', `<p><a href="${pending.returnTo}">Continue</a></p>`, pending.returnTo), {
        'Set-Cookie': [sessionCookie(accessToken, maxAge, secure), clearedSignInCookie(secure)],
      });
    } catch (error) {
      if (error instanceof SignInFailed && error.code === 'access_denied') {
        // Signed in, but granted none of the page's scopes (or the user said no).
        const message = `${error.message} The status page is for operators and needs ${needed()}: sign in with an account that has one.`;
        noteSentError(ctx.res, { code: -32000, message });
        noteRefusalReason(ctx.res, 'not_an_operator');
        return sendPage(ctx, 403, renderOperatorMessage('Not an operator', `${escapeHtml(message)}${again}`), { 'Set-Cookie': clearedSignInCookie(secure) });
      }
      if (!(error instanceof SignInFailed)) logger.warn({ err: error }, 'operator page: sign-in failed');
      const reason = error instanceof SignInFailed ? error.message : 'The authorization server could not be reached.';
      sendPage(ctx, 400, renderOperatorMessage('Sign-in failed', `${escapeHtml(reason)}${again}`), { 'Set-Cookie': clearedSignInCookie(secure) });
    }
  };

  /** POST /operator/sign-out (the page's button, with its CSRF token). */
  const signOut = async (ctx: Context): Promise<void> => {
    const token = ctx.cookies.get(SESSION_COOKIE);
    const form = await readForm(ctx, 4096);
    if (token && !csrfTokenMatches(token, form?.get('csrf') ?? null)) return refuseForgedForm(ctx);
    sendPage(ctx, 200, renderOperatorMessage('Signed out', `<p><a href="${SIGN_IN_PATH}">Sign in again</a></p>`), {
      'Set-Cookie': clearedSessionCookie(secure),
    });
  };

  /**
   * An operator page without an Authorization header: the session cookie stands in for one.
   * A browser with none (or an expired one) is sent to sign in.
   */
  const cookieAuthentication = async (ctx: Context, next: () => Promise<unknown>): Promise<unknown> => {
    const browser = ctx.method === 'GET' && wantsHtml(ctx.req);
    const token = ctx.cookies.get(SESSION_COOKIE);
    if (token && auth) {
      ctx.req.headers.authorization = `Bearer ${token}`;
      const outcome = await auth.authenticator.authenticate(ctx.req, ctx.path);
      if (outcome.ok) {
        ctx.state.operatorSession = token;
        return next();
      }
      delete ctx.req.headers.authorization;
      if (browser && auth.signIn) return sendPage(ctx, 303, '', { Location: signInLocation(ctx.path), 'Set-Cookie': clearedSessionCookie(secure) });
      ctx.set('Set-Cookie', clearedSessionCookie(secure));
      return next();
    }
    if (browser && auth?.signIn) return sendPage(ctx, 303, '', { Location: signInLocation(ctx.path) });
    if (browser && auth?.signInUnavailable) {
      noteSentError(ctx.res, { code: -32001, message: auth.signInUnavailable });
      return sendPage(ctx, 401, renderOperatorMessage('Sign-in required', escapeHtml(auth.signInUnavailable)));
    }
    return next();
  };

  return {
    observeRefusals: observeRefusals(refusals, {
      isKnown: (namespace) => gateway.upstreams.some((u) => u.namespace === namespace),
      ofTool: (name) =>
        gateway.catalog.resolveTool(name)?.upstream.namespace ?? (gateway.workflows?.handles(gateway.catalog, name) ? gateway.workflows.namespace : undefined),
    }),
    public: async (ctx, next) => {
      if (isMetrics(ctx) && settings.metrics.publicOnLoopback && isLoopbackHost(ctx.req.socket.remoteAddress ?? '')) return serveMetrics(ctx);
      if (pageEnabled && ctx.method === 'GET' && ctx.path === SIGN_IN_PATH) return beginSignIn(ctx);
      if (pageEnabled && ctx.method === 'GET' && ctx.path === CALLBACK_PATH) return completeSignIn(ctx);
      if (pageEnabled && ctx.method === 'POST' && ctx.path === SIGN_OUT_PATH) return signOut(ctx);
      const operatorPath = isMetrics(ctx) || isPage(ctx) || isApproval(ctx);
      if (operatorPath && ctx.req.headers.authorization === undefined) return cookieAuthentication(ctx, next);
      return next();
    },
    authenticated: async (ctx, next) => {
      if (!isMetrics(ctx) && !isPage(ctx) && !isApproval(ctx)) {
        // Another method on a page's path: 405 with Allow (the JSON-RPC error is written by statusOnlyAsRpcError).
        const readOnlyPath = (metrics !== undefined && ctx.path === '/metrics') || (pageEnabled && ctx.path === '/');
        if (!readOnlyPath || ctx.method === 'GET') return next();
        ctx.set('Allow', 'GET');
        ctx.status = 405;
        return;
      }
      const identity = ctx.state.identity;
      if (!identity || !mayOperate(identity.scopes)) {
        const message = `Forbidden: ${ctx.path} is for operators and needs ${needed()}.`;
        noteRefusalReason(ctx.res, 'not_an_operator');
        if (ctx.state.operatorSession !== undefined || (ctx.method === 'GET' && wantsHtml(ctx.req))) {
          const signOutForm = ctx.state.operatorSession ? signOutButton(ctx.state.operatorSession) : '';
          noteSentError(ctx.res, { code: -32000, message });
          return sendPage(
            ctx,
            403,
            renderOperatorMessage('Not an operator', `Signed in as ${escapeHtml(identity?.user ?? 'nobody')}. ${escapeHtml(message)}${signOutForm}`),
          );
        }
        ctx.respond = false;
        return sendRpcError(ctx.res, 403, -32000, message);
      }
      if (isApproval(ctx)) return approveToolChange(ctx, gateway, identity.user, options.onApproval);
      if (!isPage(ctx)) return serveMetrics(ctx);
      sendPage(
        ctx,
        200,
        renderStatusPage({
          gateway,
          recentCalls: recorder.recentCalls,
          recentErrors: recorder.recentErrors,
          refusals: refusals.recent,
          cacheEntries: options.cacheEntries(),
          viewer: identity.user,
          ...(ctx.state.operatorSession ? { csrfToken: csrfTokenFor(ctx.state.operatorSession) } : {}),
        }),
      );
    },
  };
}

const FORGED_FORM = 'This form did not come from the status page (its CSRF token is missing or wrong). Reload the page and try again.';

function refuseForgedForm(ctx: Context): void {
  noteSentError(ctx.res, { code: -32000, message: FORGED_FORM });
  noteRefusalReason(ctx.res, 'csrf_token');
  sendPage(ctx, 403, renderOperatorMessage('Request refused', FORGED_FORM));
}

function signOutButton(session: string): string {
  return `<form method="post" action="${SIGN_OUT_PATH}"><input type="hidden" name="csrf" value="${csrfTokenFor(session)}"><button type="submit">Sign out</button></form>`;
}

/**
 * POST /integrity/approve (operators): approve a withheld tool change from the status page,
 * then send the browser back to it. Signed in with the page's cookie, the form must carry the
 * page's CSRF token; a bearer token (a script) needs none, since no browser sends one by itself.
 */
async function approveToolChange(
  ctx: Context,
  gateway: ManifoldGateway,
  user: string,
  onApproval: ((approval: { user: string; namespace: string; tools: string[] }) => void) | undefined,
): Promise<void> {
  ctx.respond = false;
  if (!gateway.toolPins) return sendRpcError(ctx.res, 404, -32000, 'Tool integrity is not enabled on this gateway.');
  const form = await readForm(ctx, 4096);
  if (!form) return sendRpcError(ctx.res, 413, -32600, 'Approval form too large.');
  const session = ctx.state.operatorSession;
  if (session !== undefined && !csrfTokenMatches(session, form.get('csrf'))) return refuseForgedForm(ctx);
  const namespace = form.get('namespace') ?? '';
  const tool = form.get('tool') ?? undefined;
  const approved = gateway.toolPins.approve(namespace, tool);
  if (approved.length === 0) return sendRpcError(ctx.res, 404, -32000, `Nothing is waiting for approval for ${namespace}${tool ? `/${tool}` : ''}.`);
  onApproval?.({ user, namespace, tools: approved });
  gateway.refreshTools();
  ctx.res.writeHead(303, { Location: '/', 'Cache-Control': 'no-store' }).end();
}
