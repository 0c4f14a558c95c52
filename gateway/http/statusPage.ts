import type { ManifoldGateway } from '../session/gatewayCore.js';
import type { CallRecord } from '../observability/callRecorder.js';

export interface StatusPageData {
  gateway: ManifoldGateway;
  recentCalls: readonly CallRecord[];
  recentErrors: readonly CallRecord[];
  cacheEntries: number | undefined;
  viewer: string;
}

const escape = (value: unknown): string =>
  String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1b1b1b}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.6rem}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #ddd;vertical-align:top}
th{background:#f4f4f4}.ready{color:#11661a}.down{color:#a30000;font-weight:600}.muted{color:#666}
code{font-size:12px}ul.tools{columns:3;margin:.2rem 0}pre{white-space:pre-wrap;margin:0;font-size:12px}`;

/** The operator's page at `/`: server-rendered, no scripts or external assets, every value escaped. */
export function renderStatusPage(data: StatusPageData): string {
  const { gateway } = data;
  const readiness = gateway.readiness();
  const upstreamRows = readiness.upstreams
    .map(
      (u) =>
        `<tr data-upstream="${escape(u.namespace)}"><td>${escape(u.namespace)}</td><td class="${u.state === 'ready' ? 'ready' : 'down'}">${escape(u.state)}</td>` +
        `<td>${escape(u.transport)}${u.pid ? ` (pid ${u.pid})` : ''}</td><td>${u.restarts}</td><td>${u.inFlight}</td><td>${u.queued}</td><td>${u.tools}</td>` +
        `<td class="muted">${escape(u.lastError ?? '')}${u.nextRestartInMs !== undefined ? ` — restart in ${u.nextRestartInMs} ms` : ''}</td></tr>`,
    )
    .join('');
  const toolSections = gateway.upstreams
    .map(
      (u) =>
        `<h3>${escape(u.namespace)} <span class="muted">(${u.tools.length})</span></h3><ul class="tools">${u.tools.map((t) => `<li><code>${escape(t.name)}</code>${t.annotations?.readOnlyHint ? '' : ' <span class="muted">write</span>'}</li>`).join('')}</ul>`,
    )
    .join('');
  const callRows = (records: readonly CallRecord[]): string =>
    records.length === 0
      ? '<tr><td colspan="8" class="muted">none yet</td></tr>'
      : [...records]
          .reverse()
          .map(
            (r) =>
              `<tr><td>${escape(r.time)}</td><td>${escape(r.user)}</td><td>${escape(r.method)}</td><td><code>${escape(r.name)}</code></td><td>${escape(r.upstream)}</td>` +
              `<td class="${r.outcome === 'ok' ? 'ready' : 'down'}">${escape(r.outcome)}</td><td>${r.durationMs} ms${r.cache === 'hit' ? ' (cached)' : ''}</td><td class="muted">${escape(r.message ?? '')}</td></tr>`,
          )
          .join('');
  const pending = gateway.toolPins?.pending() ?? [];
  const pendingSection = pending.length
    ? `<h2>Tool changes awaiting approval</h2><table id="tool-changes"><tr><th>upstream</th><th>tool</th><th>what changed</th><th></th></tr>${pending
        .map(
          (p) =>
            `<tr data-tool="${escape(p.namespace)}/${escape(p.tool)}"><td>${escape(p.namespace)}</td><td><code>${escape(p.tool)}</code></td><td><pre>${escape(p.changes.join('\n'))}</pre></td>` +
            `<td><form method="post" action="/integrity/approve"><input type="hidden" name="namespace" value="${escape(p.namespace)}"><input type="hidden" name="tool" value="${escape(p.tool)}"><button type="submit">Approve</button></form></td></tr>`,
        )
        .join('')}</table>`
    : '';
  const head = '<tr><th>time</th><th>user</th><th>method</th><th>name</th><th>upstream</th><th>outcome</th><th>duration</th><th>detail</th></tr>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Manifold gateway status</title><style>${STYLE}</style></head>
<body>
<h1>Manifold gateway</h1>
<p id="summary">${readiness.ready ? '<span class="ready">ready</span>' : '<span class="down">not ready</span>'} · ${readiness.sessions} sessions${
    data.cacheEntries !== undefined ? ` · ${data.cacheEntries} cache entries` : ''
  } · signed in as ${escape(data.viewer)}</p>
<h2>Upstreams</h2>
<table id="upstreams"><tr><th>namespace</th><th>state</th><th>transport</th><th>restarts</th><th>in flight</th><th>queued</th><th>tools</th><th>last error</th></tr>${upstreamRows}</table>
${pendingSection}
${readiness.catalogProblems.length ? `<h2>Catalog problems</h2><ul>${readiness.catalogProblems.map((p) => `<li>${escape(p)}</li>`).join('')}</ul>` : ''}
<h2>Tools per namespace</h2>
<div id="tools">${toolSections}</div>
<h2>Recent errors</h2>
<table id="recent-errors">${head}${callRows(data.recentErrors)}</table>
<h2>Recent calls</h2>
<table id="recent-calls">${head}${callRows(data.recentCalls)}</table>
</body></html>`;
}
