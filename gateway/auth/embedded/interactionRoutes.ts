import type { IncomingMessage } from 'node:http';
import type Koa from 'koa';
import type Provider from 'oidc-provider';
import { errors, type Grant, type Interaction, type InteractionResults } from 'oidc-provider';
import type { Logger } from '../../../shared/logger.js';
import { consentPage, loginPage, messagePage, PAGE_CSP } from './interactionPages.js';
import { verifyPassword } from './passwords.js';
import { waitInWords, type SignInThrottle } from './signInThrottle.js';
import { redirectTarget } from './redirectUris.js';
import { wordScope } from './scopeWording.js';
import type { EmbeddedUser } from './settings.js';

/**
 * The login and consent steps oidc-provider delegates to us (its "interactions"):
 *
 *   GET  <issuer path>/interaction/<uid>          the page for the pending prompt
 *   POST <issuer path>/interaction/<uid>/login    check the password, finish the login prompt
 *   POST <issuer path>/interaction/<uid>/confirm  record the grant, finish the consent prompt
 *   POST <issuer path>/interaction/<uid>/abort    deny: the client gets `access_denied`
 *
 * CSRF: oidc-provider binds each interaction to the browser with a cookie scoped to this path
 * (SameSite=Lax, HttpOnly), `interactionDetails` refuses a request without it, the uid in the
 * URL must match it, and a POST carrying another Origin is refused.
 */
export interface InteractionRoutesOptions {
  provider: Provider;
  /** The issuer's path, e.g. `/oauth`. */
  basePath: string;
  issuerOrigin: string;
  users: UserDirectory;
  supportedScopes: ReadonlySet<string>;
  /** Resource used when an authorization request names none. */
  defaultResource: string;
  /** The gateway's own client (the operator page): granted what it asks and the user may grant, without a consent page. */
  firstPartyClientId?: string;
  /** Sign-in attempts allowed per account and per address. */
  throttle: SignInThrottle;
  logger: Logger;
}

export interface UserDirectory {
  byLogin(login: string): EmbeddedUser | undefined;
  byId(id: string): EmbeddedUser | undefined;
  /** The scopes this user may grant: supported ∩ the user's configured maximum. */
  grantableScopes(user: EmbeddedUser): Set<string>;
}

const MAX_FORM_BYTES = 16 * 1024;
const MAX_FAILED_LOGINS = 5;
/** OIDC scopes that carry no gateway permission; granted whenever requested. */
const PROTOCOL_SCOPES = new Set(['openid', 'offline_access']);

interface ConsentDetails {
  missingOIDCScope?: string[];
  missingOIDCClaims?: string[];
  missingResourceScopes?: Record<string, string[]>;
}

export function interactionRoutes(options: InteractionRoutesOptions): Koa.Middleware {
  const { provider, users, logger } = options;
  const pattern = new RegExp(`^${escapeRegExp(options.basePath)}/interaction/([A-Za-z0-9_-]{1,64})(?:/(login|confirm|abort))?$`);
  const failedLogins = new Map<string, number>();

  const html = (ctx: Koa.Context, status: number, body: string): void => {
    ctx.status = status;
    ctx.set({
      'Cache-Control': 'no-store',
      'Content-Security-Policy': PAGE_CSP,
      'X-Frame-Options': 'DENY',
      'X-Content-Type-Options': 'nosniff',
      // same-origin, not no-referrer: with no-referrer a browser sends "Origin: null" on the form posts, which are refused.
      'Referrer-Policy': 'same-origin',
    });
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = body;
  };

  const finish = async (ctx: Koa.Context, result: InteractionResults, merge: boolean): Promise<void> => {
    ctx.respond = false;
    await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge });
  };

  const scopesOf = (interaction: Interaction): string[] =>
    typeof interaction.params.scope === 'string' ? [...new Set(interaction.params.scope.split(' ').filter(Boolean))] : [];

  const resourcesOf = (interaction: Interaction): string[] => {
    const resource = interaction.params.resource;
    if (typeof resource === 'string') return [resource];
    if (Array.isArray(resource)) return resource.filter((r): r is string => typeof r === 'string');
    return [options.defaultResource];
  };

  const clientOf = async (clientId: string) => (clientId ? provider.Client.find(clientId).catch(() => undefined) : undefined);

  /** The scopes the pending consent asks about (those not yet granted or declined), over every resource. */
  const undecidedScopes = (interaction: Interaction): Set<string> =>
    new Set(Object.values((interaction.prompt.details as ConsentDetails).missingResourceScopes ?? {}).flat());

  const renderPrompt = async (ctx: Koa.Context, interaction: Interaction, error?: string, login?: string, status = 200): Promise<void> => {
    const clientId = String(interaction.params.client_id ?? '');
    const client = await clientOf(clientId);
    const name = client?.clientName ?? clientId;
    const base = `${options.basePath}/interaction/${interaction.uid}`;
    if (interaction.prompt.name === 'login') {
      return html(ctx, status, loginPage({ action: `${base}/login`, clientName: name, error, login }));
    }
    if (interaction.prompt.name === 'consent') {
      const user = interaction.session ? users.byId(interaction.session.accountId) : undefined;
      if (!user) return html(ctx, 400, messagePage('Sign-in expired', 'Your account is no longer configured. Go back to the application and start again.'));
      if (options.firstPartyClientId !== undefined && clientId === options.firstPartyClientId) return grantAndFinish(ctx, interaction, null);
      const grantable = users.grantableScopes(user);
      const requested = scopesOf(interaction).filter((s) => options.supportedScopes.has(s));
      const undecided = undecidedScopes(interaction);
      const available = requested.filter((s) => grantable.has(s));
      const fromDocument = (client as { clientIdMetadataDocument?: boolean } | undefined)?.clientIdMetadataDocument === true;
      return html(
        ctx,
        200,
        consentPage({
          action: `${base}/confirm`,
          abortAction: `${base}/abort`,
          clientName: name,
          clientId,
          redirectTarget: redirectTarget(interaction.params.redirect_uri),
          metadataDocument: fromDocument && client ? { host: new URL(clientId).host, redirectUris: client.redirectUris ?? [] } : undefined,
          userName: user.name ?? user.email,
          resources: resourcesOf(interaction),
          choices: available.filter((s) => undecided.has(s)).map(wordScope),
          alreadyGranted: available.filter((s) => !undecided.has(s)).map(wordScope),
          unavailable: requested.filter((s) => !grantable.has(s)),
        }),
      );
    }
    return html(
      ctx,
      400,
      messagePage('Unsupported request', `This server cannot complete the "${interaction.prompt.name}" step. Go back to the application and start again.`),
    );
  };

  const login = async (ctx: Koa.Context, interaction: Interaction): Promise<void> => {
    if (interaction.prompt.name !== 'login') return renderPrompt(ctx, interaction);
    const form = await readForm(ctx.req);
    const loginName = (form.get('login') ?? '').trim().slice(0, 320);
    const password = form.get('password') ?? '';
    // Counted before the password is checked: while held back, not even the right one gets in.
    const admitted = await options.throttle.signIn(loginName, ctx.ip);
    if (!admitted.ok) {
      logger.warn(
        { client: interaction.params.client_id, retryAfterMs: admitted.retryAfterMs },
        'embedded authorization server: sign-in held back (too many attempts)',
      );
      ctx.set('Retry-After', String(Math.ceil(admitted.retryAfterMs / 1000)));
      return renderPrompt(
        ctx,
        interaction,
        `Too many sign-in attempts for this account or from this address. Try again in ${waitInWords(admitted.retryAfterMs)}.`,
        loginName,
        429,
      );
    }
    const user = loginName ? users.byLogin(loginName) : undefined;
    const verified = await verifyPassword(password, user?.passwordHash);
    if (!verified || !user) {
      const failures = (failedLogins.get(interaction.uid) ?? 0) + 1;
      failedLogins.set(interaction.uid, failures);
      logger.warn({ client: interaction.params.client_id, failures }, 'embedded authorization server: failed sign-in');
      if (failures >= MAX_FAILED_LOGINS) {
        failedLogins.delete(interaction.uid);
        return finish(ctx, { error: 'access_denied', error_description: 'Too many failed sign-in attempts.' }, false);
      }
      return renderPrompt(ctx, interaction, 'Wrong user name or password.', loginName);
    }
    failedLogins.delete(interaction.uid);
    if (failedLogins.size > 10_000) failedLogins.clear();
    logger.info({ user: user.id, client: interaction.params.client_id }, 'embedded authorization server: user signed in');
    return finish(ctx, { login: { accountId: user.id, amr: ['pwd'] } }, false);
  };

  const confirm = async (ctx: Koa.Context, interaction: Interaction): Promise<void> => {
    if (interaction.prompt.name !== 'consent') return renderPrompt(ctx, interaction);
    const form = await readForm(ctx.req);
    return grantAndFinish(ctx, interaction, new Set(form.getAll('scope')));
  };

  /** Record the grant: the scopes ticked on the consent page, or (`ticked` null, the gateway's own client) every one the user may grant. */
  const grantAndFinish = async (ctx: Koa.Context, interaction: Interaction, ticked: ReadonlySet<string> | null): Promise<void> => {
    const accountId = interaction.session?.accountId;
    const user = accountId ? users.byId(accountId) : undefined;
    const clientId = String(interaction.params.client_id ?? '');
    if (!user) return finish(ctx, { error: 'access_denied', error_description: 'The account is no longer configured.' }, false);

    const grant: Grant =
      (interaction.grantId ? await provider.Grant.find(interaction.grantId) : undefined) ?? new provider.Grant({ accountId: user.id, clientId });
    const grantable = users.grantableScopes(user);
    const details = interaction.prompt.details as ConsentDetails;

    // Granted = requested ∩ supported ∩ the user's maximum ∩ what the user ticked; the rest is
    // recorded as rejected so that oidc-provider does not ask again within this request (a
    // later request that asks for a declined scope is asked again: see loadExistingGrant).
    const oidcScopes = details.missingOIDCScope ?? [];
    const oidcGranted = oidcScopes.filter((s) => PROTOCOL_SCOPES.has(s) || grantable.has(s));
    const oidcRejected = oidcScopes.filter((s) => !oidcGranted.includes(s));
    if (oidcGranted.length) grant.addOIDCScope(oidcGranted.join(' '));
    if (oidcRejected.length) grant.rejectOIDCScope(oidcRejected.join(' '));
    if (details.missingOIDCClaims?.length) grant.addOIDCClaims(details.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {})) {
      const granted = scopes.filter((s) => grantable.has(s) && (ticked === null || ticked.has(s)));
      const rejected = scopes.filter((s) => !granted.includes(s));
      if (granted.length) grant.addResourceScope(indicator, granted.join(' '));
      if (rejected.length) grant.rejectResourceScope(indicator, rejected.join(' '));
    }
    const grantId = await grant.save();
    logger.info(
      { user: user.id, client: clientId, ticked: ticked ? [...ticked].join(' ') : '(first-party client)' },
      'embedded authorization server: consent given',
    );
    return finish(ctx, { consent: { grantId } }, true);
  };

  const abort = async (ctx: Koa.Context, interaction: Interaction): Promise<void> => {
    await readForm(ctx.req);
    logger.info({ client: interaction.params.client_id }, 'embedded authorization server: request denied by the user');
    return finish(ctx, { error: 'access_denied', error_description: 'The user denied the request.' }, false);
  };

  return async (ctx, next) => {
    const match = pattern.exec(ctx.path);
    if (!match) return next();
    const [, uid, action] = match;
    const method = action ? 'POST' : 'GET';
    if (ctx.method !== method && !(method === 'GET' && ctx.method === 'HEAD')) {
      ctx.set('Allow', method);
      return html(ctx, 405, messagePage('Method not allowed', `Use ${method} here.`));
    }
    if (method === 'POST') {
      const origin = ctx.get('origin');
      if (origin && origin !== 'null' && origin !== options.issuerOrigin && origin !== `${ctx.protocol}://${ctx.host}`) {
        return html(ctx, 403, messagePage('Request refused', 'This form was submitted from another site.'));
      }
      if (origin === 'null') return html(ctx, 403, messagePage('Request refused', 'This form was submitted from an opaque origin.'));
    }
    let interaction: Interaction;
    try {
      interaction = await provider.interactionDetails(ctx.req, ctx.res);
    } catch (error) {
      if (error instanceof errors.SessionNotFound) {
        return html(
          ctx,
          400,
          messagePage('Sign-in expired', 'This sign-in request has expired or was started in another browser. Go back to the application and start again.'),
        );
      }
      throw error;
    }
    if (interaction.uid !== uid) {
      return html(ctx, 400, messagePage('Sign-in mismatch', 'This page belongs to another sign-in request. Go back to the application and start again.'));
    }
    try {
      if (action === 'login') return await login(ctx, interaction);
      if (action === 'confirm') return await confirm(ctx, interaction);
      if (action === 'abort') return await abort(ctx, interaction);
      return await renderPrompt(ctx, interaction);
    } catch (error) {
      if (error instanceof FormError) return html(ctx, error.status, messagePage('Bad request', error.message));
      throw error;
    }
  };
}

class FormError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') throw new FormError(415, 'Submit the form from the page (application/x-www-form-urlencoded).');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new FormError(413, 'The form is too large.');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
