import { escapeHtml } from '../../shared/html.js';
import type { ManifoldGateway } from '../session/gatewayCore.js';
import type { CallRecord } from '../observability/callRecorder.js';
import type { Refusal } from '../observability/refusalLog.js';
import { COMPOSITE_META_KEY } from '../workflows/workflowRegistry.js';

export interface StatusPageData {
  gateway: ManifoldGateway;
  recentCalls: readonly CallRecord[];
  recentErrors: readonly CallRecord[];
  refusals: readonly Refusal[];
  cacheEntries: number | undefined;
  viewer: string;
  /** Signed in with the page's cookie: the token its forms carry, and a sign-out button. */
  csrfToken?: string;
}

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1b1b1b}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.6rem}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #ddd;vertical-align:top}
th{background:#f4f4f4}.ready{color:#11661a}.down{color:#a30000;font-weight:600}.muted{color:#666}
code{font-size:12px}ul.tools{columns:3;margin:.2rem 0}pre{white-space:pre-wrap;margin:0;font-size:12px}
.badge{font-size:11px;padding:0 .3rem;border-radius:.2rem;margin-left:.2rem}.admin{background:#fde2e2;color:#8a0000}
.destructive{background:#fff1cc;color:#6b4a00}.write{background:#e5eefc;color:#123f8c}header{display:flex;justify-content:space-between;align-items:baseline}`;

/** A small page of the operator's (signed in, signed out, refused), in the status page's style. `continueTo`: go there at once. */
export function renderOperatorMessage(title: string, bodyHtml: string, continueTo?: string): string {
  const refresh = continueTo ? `<meta http-equiv="refresh" content="0;url=${escapeHtml(continueTo)}">` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">${refresh}<title>${escapeHtml(title)} · Manifold</title><style>${STYLE}</style></head>
<body><h1>${escapeHtml(title)}</h1><div id="message">${bodyHtml}</div></body></html>`;
}

/** How much a tool can do: the scope it needs and what its annotations say. */
function toolBadges(scope: string, annotations: { readOnlyHint?: boolean; destructiveHint?: boolean } | undefined): string {
  const badges: string[] = [];
  if (scope.endsWith(':admin')) badges.push(`<span class="badge admin" title="needs ${escapeHtml(scope)}">admin only</span>`);
  // MCP: a tool that is not read-only is destructive unless it says otherwise.
  if (!annotations?.readOnlyHint && annotations?.destructiveHint !== false) badges.push('<span class="badge destructive">destructive</span>');
  else if (!annotations?.readOnlyHint) badges.push('<span class="badge write">write</span>');
  return badges.join('');
}

/** The operator's page at `/`: server-rendered, no scripts or external assets, every value escaped. */
export function renderStatusPage(data: StatusPageData): string {
  const { gateway } = data;
  const readiness = gateway.readiness();
  const upstreamRows = readiness.upstreams
    .map(
      (u) =>
        `<tr data-upstream="${escapeHtml(u.namespace)}"><td>${escapeHtml(u.namespace)}</td><td class="${u.state === 'ready' ? 'ready' : 'down'}">${escapeHtml(u.state)}</td>` +
        `<td>${escapeHtml(u.transport)}${u.pid ? ` (pid ${u.pid})` : ''}</td><td>${u.restarts}</td><td>${u.inFlight}</td><td>${u.queued}</td><td>${u.tools}</td>` +
        `<td class="muted">${escapeHtml(u.lastError ?? '')}${u.nextRestartInMs !== undefined ? ` — restart in ${u.nextRestartInMs} ms` : ''}</td></tr>`,
    )
    .join('');
  const toolSections = gateway.upstreams
    .map(
      (u) =>
        `<h3>${escapeHtml(u.namespace)} <span class="muted">(${u.tools.length})</span></h3><ul class="tools">${u.tools
          .map(
            (t) =>
              `<li data-tool="${escapeHtml(u.namespace)}/${escapeHtml(t.name)}"><code>${escapeHtml(t.name)}</code>${toolBadges(gateway.access.toolScope(u.namespace, t), t.annotations)}</li>`,
          )
          .join('')}</ul>`,
    )
    .join('');
  const workflows = gateway.workflows;
  const compositeRows = workflows
    ? workflows
        .tools()
        .map((tool) => {
          const exposed = workflows.exposed(tool.name);
          const steps = ((tool._meta?.[COMPOSITE_META_KEY] as { steps?: string[] } | undefined)?.steps ?? []).map((step) => `<code>${escapeHtml(step)}</code>`);
          const scopes = workflows.scopesOf(gateway.catalog, exposed, undefined) ?? [];
          return (
            `<tr data-composite="${escapeHtml(exposed)}"><td><code>${escapeHtml(exposed)}</code>${toolBadges(scopes.find((scope) => scope.endsWith(':admin')) ?? '', tool.annotations)}</td>` +
            `<td>${steps.join(' → ')}</td><td>${scopes.map((scope) => `<code>${escapeHtml(scope)}</code>`).join(' ')}</td></tr>`
          );
        })
        .join('')
    : '';
  const compositeSection = workflows
    ? `<h2>Composite tools</h2><table id="composite-tools"><tr><th>tool</th><th>steps</th><th>scopes a caller needs</th></tr>${compositeRows || '<tr><td colspan="3" class="muted">none available</td></tr>'}</table>`
    : '';
  const refusalRows =
    data.refusals.length === 0
      ? '<tr><td colspan="7" class="muted">none yet</td></tr>'
      : [...data.refusals]
          .reverse()
          .map(
            (r) =>
              `<tr><td>${escapeHtml(r.time)}</td><td class="down">${r.status}</td><td><code>${escapeHtml(r.reason)}</code></td><td>${escapeHtml(r.namespace ?? '')}</td>` +
              `<td>${escapeHtml(r.user ?? '')}</td><td><code>${escapeHtml(r.request)}</code></td><td class="muted">${escapeHtml(r.detail)}</td></tr>`,
          )
          .join('');
  const csrfField = data.csrfToken ? `<input type="hidden" name="csrf" value="${escapeHtml(data.csrfToken)}">` : '';
  const signOut = data.csrfToken
    ? `<form method="post" action="/operator/sign-out" id="sign-out">${csrfField}<button type="submit">Sign out</button></form>`
    : '';
  const callRows = (records: readonly CallRecord[]): string =>
    records.length === 0
      ? '<tr><td colspan="8" class="muted">none yet</td></tr>'
      : [...records]
          .reverse()
          .map(
            (r) =>
              `<tr><td>${escapeHtml(r.time)}</td><td>${escapeHtml(r.user)}</td><td>${escapeHtml(r.method)}</td><td><code>${escapeHtml(r.name)}</code></td><td>${escapeHtml(r.upstream)}</td>` +
              `<td class="${r.outcome === 'ok' ? 'ready' : 'down'}">${escapeHtml(r.outcome)}</td><td>${r.durationMs} ms${r.cache === 'hit' ? ' (cached)' : ''}</td><td class="muted">${escapeHtml(r.message ?? '')}</td></tr>`,
          )
          .join('');
  const pending = gateway.toolPins?.pending() ?? [];
  const pendingSection = pending.length
    ? `<h2>Tool changes awaiting approval</h2><table id="tool-changes"><tr><th>upstream</th><th>tool</th><th>what changed</th><th></th></tr>${pending
        .map(
          (p) =>
            `<tr data-tool="${escapeHtml(p.namespace)}/${escapeHtml(p.tool)}"><td>${escapeHtml(p.namespace)}</td><td><code>${escapeHtml(p.tool)}</code></td><td><pre>${escapeHtml(p.changes.join('\n'))}</pre></td>` +
            `<td><form method="post" action="/integrity/approve">${csrfField}<input type="hidden" name="namespace" value="${escapeHtml(p.namespace)}"><input type="hidden" name="tool" value="${escapeHtml(p.tool)}"><button type="submit">Approve</button></form></td></tr>`,
        )
        .join('')}</table>`
    : '';
  const head = '<tr><th>time</th><th>user</th><th>method</th><th>name</th><th>upstream</th><th>outcome</th><th>duration</th><th>detail</th></tr>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Manifold gateway status</title><style>${STYLE}</style></head>
<body>
<header><h1>Manifold gateway</h1>${signOut}</header>
<p id="summary">${readiness.ready ? '<span class="ready">ready</span>' : '<span class="down">not ready</span>'} · ${readiness.sessions} sessions${
    data.cacheEntries !== undefined ? ` · ${data.cacheEntries} cache entries` : ''
  } · signed in as ${escapeHtml(data.viewer)}</p>
<h2>Upstreams</h2>
<table id="upstreams"><tr><th>namespace</th><th>state</th><th>transport</th><th>restarts</th><th>in flight</th><th>queued</th><th>tools</th><th>last error</th></tr>${upstreamRows}</table>
${pendingSection}
${readiness.catalogProblems.length ? `<h2>Catalog problems</h2><ul>${readiness.catalogProblems.map((p) => `<li>${escapeHtml(p)}</li>`).join('')}</ul>` : ''}
<h2>Tools per namespace</h2>
<div id="tools">${toolSections}</div>
${compositeSection}
<h2>Recent refusals</h2>
<table id="recent-refusals"><tr><th>time</th><th>status</th><th>reason</th><th>namespace</th><th>user</th><th>request</th><th>detail</th></tr>${refusalRows}</table>
<h2>Recent errors</h2>
<table id="recent-errors">${head}${callRows(data.recentErrors)}</table>
<h2>Recent calls</h2>
<table id="recent-calls">${head}${callRows(data.recentCalls)}</table>
</body></html>`;
}
