import { createHash } from 'node:crypto';
import { escapeHtml } from '../../../shared/html.js';
import type { ScopeWording } from './scopeWording.js';

/**
 * The sign-in and consent pages: server-rendered, no scripts, no external assets. Every
 * value that a user or a registering client controls goes through `escapeHtml`.
 */

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f5f7;color:#1d2330;margin:0;padding:40px 16px}
main{max-width:420px;margin:0 auto;background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.15);padding:24px 28px}
h1{font-size:1.35em;margin:0 0 16px}p{line-height:1.45}label{display:block;margin:12px 0 4px;font-weight:600}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:9px;border:1px solid #b8bfcc;border-radius:4px;font-size:1em}
button{margin-top:18px;padding:9px 18px;border:0;border-radius:4px;font-size:1em;cursor:pointer;background:#2957d6;color:#fff}
button.secondary{background:#e3e6ec;color:#1d2330;margin-left:8px}.error{color:#b3261e;font-weight:600}
ul{padding-left:20px}li{margin:4px 0}code{background:#f0f1f4;padding:1px 4px;border-radius:3px;word-break:break-all}
.muted{color:#5b6272;font-size:.92em}.denied{color:#8a8f99;text-decoration:line-through}
ul.scopes{list-style:none;padding-left:0}label.scope{display:block;font-weight:400;margin:6px 0}
`;

/** `Content-Security-Policy` for these pages: only the inline stylesheet above, no framing. */
export const PAGE_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; frame-ancestors 'none'; base-uri 'none'`;

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="same-origin">
<title>${escapeHtml(title)} · Manifold</title><style>${STYLE}</style></head>
<body><main>
${body}
</main></body>
</html>`;
}

export interface LoginPageInput {
  /** The form action, e.g. `/oauth/interaction/<uid>/login`. */
  action: string;
  clientName: string;
  login?: string | undefined;
  error?: string | undefined;
}

export function loginPage(input: LoginPageInput): string {
  return page(
    'Sign in',
    `<h1>Sign in to Manifold</h1>
<p><strong>${escapeHtml(input.clientName)}</strong> wants to use your Manifold account.</p>
${input.error ? `<p class="error" role="alert">${escapeHtml(input.error)}</p>` : ''}
<form method="post" action="${escapeHtml(input.action)}" autocomplete="on">
<label for="login">User name or email</label>
<input type="text" id="login" name="login" value="${escapeHtml(input.login ?? '')}" autocomplete="username" autofocus required maxlength="320">
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required maxlength="1024">
<button type="submit">Sign in</button>
</form>`,
  );
}

export interface ConsentPageInput {
  action: string;
  abortAction: string;
  clientName: string;
  clientId: string;
  /**
   * Where the code will be sent, from `redirectTarget` (`app.example.com`,
   * `cursor://anysphere.cursor-retrieval`): shown so a user can spot a look-alike application.
   */
  redirectTarget: string;
  /**
   * For a client identified by its metadata document (an https `client_id`): the host that
   * publishes it and every redirect URI it lists, shown in full.
   */
  metadataDocument?: { host: string; redirectUris: readonly string[] } | undefined;
  userName: string;
  resources: string[];
  /** Scopes to decide on now, each a checkbox (admin ones unticked). */
  choices: ScopeWording[];
  /** Scopes this client already holds from an earlier consent. */
  alreadyGranted: ScopeWording[];
  /** Requested but beyond what this user may grant; they will not be in the token. */
  unavailable: string[];
}

export function consentPage(input: ConsentPageInput): string {
  const choices = input.choices.length
    ? `<p>with the permissions you tick (untick any you do not want to give):</p><ul class="scopes">${input.choices
        .map(
          (s) =>
            `<li><label class="scope"><input type="checkbox" name="scope" value="${escapeHtml(s.scope)}"${s.admin ? '' : ' checked'}> <code>${escapeHtml(s.scope)}</code> ${escapeHtml(s.words)}</label></li>`,
        )
        .join('')}</ul>`
    : input.alreadyGranted.length
      ? ''
      : '<p>No permissions that you can grant were requested.</p>';
  const already = input.alreadyGranted.length
    ? `<p class="muted">Already allowed earlier:</p><ul>${input.alreadyGranted.map((s) => `<li><code>${escapeHtml(s.scope)}</code> ${escapeHtml(s.words)}</li>`).join('')}</ul>`
    : '';
  const unavailable = input.unavailable.length
    ? `<p class="muted">Also requested, but not available to your account (they will not be granted):</p><ul>${input.unavailable
        .map((s) => `<li class="denied"><code>${escapeHtml(s)}</code></li>`)
        .join('')}</ul>`
    : '';
  const document = input.metadataDocument
    ? `<p class="muted">This application is described by a document published at <code>${escapeHtml(input.metadataDocument.host)}</code>; it may receive the code at:</p><ul>${input.metadataDocument.redirectUris
        .map((uri) => `<li><code>${escapeHtml(uri)}</code></li>`)
        .join('')}</ul>`
    : '';
  return page(
    'Authorize',
    `<h1>Authorize ${escapeHtml(input.clientName)}</h1>
<p>Signed in as <strong>${escapeHtml(input.userName)}</strong>.</p>
<p><strong>${escapeHtml(input.clientName)}</strong> <span class="muted">(client <code>${escapeHtml(input.clientId)}</code>, returning to <code>${escapeHtml(input.redirectTarget)}</code>)</span> asks to act for you at:</p>
<ul>${input.resources.map((r) => `<li><code>${escapeHtml(r)}</code></li>`).join('')}</ul>
${document}
<form method="post" action="${escapeHtml(input.action)}">
${choices}
${already}
${unavailable}
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny" class="secondary" formaction="${escapeHtml(input.abortAction)}">Deny</button>
</form>`,
  );
}

export function messagePage(title: string, message: string): string {
  return page(title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>`);
}
