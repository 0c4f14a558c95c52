import { exposedName } from '../catalog/naming.js';
import type { UpstreamCatalog } from '../catalog/upstreamCatalog.js';
import type { DomainTool } from './domainTools.js';
import type { WorkflowSettings } from './workflowSettings.js';

/**
 * What a workflow needs from the domain servers, declared in one place: every tool it may call
 * (compensation included) and how each acts, which gives the scopes a caller needs. A step may
 * call only a tool its manifest names (WorkflowRun refuses others), so the manifest stays true.
 */
export interface WorkflowManifest {
  tools: readonly DomainTool[];
}

/**
 * Why a workflow cannot run with this catalog, naming the first missing tool; undefined when
 * every tool is there or may still come (an upstream that has not listed its tools yet counts
 * as offering them, so a slow start does not hide a workflow).
 */
export function manifestProblem(manifest: WorkflowManifest, settings: WorkflowSettings, catalog: UpstreamCatalog, separator: string): string | undefined {
  for (const need of manifest.tools) {
    const namespace = settings.upstreams[need.domain];
    const name = exposedName(namespace, separator, need.tool);
    const upstream = catalog.upstream(namespace);
    if (!upstream)
      return `it needs ${name}, but no upstream "${namespace}" is configured (set workflows.upstreams.${need.domain} to the namespace of the ${need.domain} server)`;
    if (!upstream.isToolAllowed(need.tool))
      return `it needs ${name}, but the configuration of upstream "${namespace}" does not allow that tool (its tools allow/deny lists)`;
    if (upstream.state === 'ready' && !upstream.tools.some((tool) => tool.name === need.tool))
      return `it needs ${name}, but upstream "${namespace}" does not offer that tool`;
    const withheld = catalog.withheldReasonOf(namespace, need.tool);
    if (withheld) return `it needs ${name}, which is withheld: ${withheld}`;
  }
  return undefined;
}
