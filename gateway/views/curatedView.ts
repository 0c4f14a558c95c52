import type { Prompt, ResourceTemplate, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { CatalogView, NameTarget, UpstreamCatalog } from '../catalog/upstreamCatalog.js';
import { parseExposedUri } from '../catalog/naming.js';
import type { Upstream } from '../upstreams/types.js';
import { toolEntries, type ViewSettings } from './viewSettings.js';

/**
 * One curated view over the aggregate catalog. It holds only references; what it shows is
 * computed from the catalog on each list, so upstream changes flow through, and settings can
 * be replaced in place on a configuration reload (sessions keep their view object).
 */
export class CuratedView implements CatalogView {
  readonly namespace = undefined;
  /** False once the view was removed from the configuration; its sessions then see nothing. */
  active = true;

  constructor(
    public settings: ViewSettings,
    private readonly catalog: UpstreamCatalog,
  ) {}

  get name(): string {
    return this.settings.name;
  }

  /** The aggregate's name for a name this view shows (a renamed tool), if the view has it. */
  aggregateName(shown: string): string | undefined {
    if (!this.active) return undefined;
    return toolEntries(this.settings).find((entry) => entry.shown === shown)?.source;
  }

  upstreams(): readonly Upstream[] {
    const namespaces = new Set<string>();
    for (const entry of toolEntries(this.settings)) {
      const target = this.catalog.resolveTool(entry.source);
      if (target) namespaces.add(target.upstream.namespace);
    }
    for (const name of this.settings.prompts) {
      const target = this.catalog.resolvePrompt(name);
      if (target) namespaces.add(target.upstream.namespace);
    }
    for (const namespace of this.settings.resources) namespaces.add(namespace);
    return this.catalog.upstreams().filter((u) => namespaces.has(u.namespace));
  }

  includes(namespace: string): boolean {
    return this.upstreams().some((u) => u.namespace === namespace);
  }

  tools(): readonly Tool[] {
    if (!this.active) return [];
    const byName = new Map(this.catalog.tools().map((tool) => [tool.name, tool]));
    return toolEntries(this.settings).flatMap((entry) => {
      const tool = byName.get(entry.source);
      return tool ? [{ ...tool, name: entry.shown, ...(entry.description ? { description: entry.description } : {}) }] : [];
    });
  }

  resolveTool(name: string): NameTarget | undefined {
    const source = this.aggregateName(name);
    return source === undefined ? undefined : this.catalog.resolveTool(source);
  }

  withheldReason(name: string): string | undefined {
    const source = this.aggregateName(name);
    return source === undefined ? undefined : this.catalog.withheldReason(source);
  }

  prompts(): readonly Prompt[] {
    if (!this.active) return [];
    const wanted = new Set(this.settings.prompts);
    return this.catalog.prompts().filter((prompt) => wanted.has(prompt.name));
  }

  resolvePrompt(name: string): NameTarget | undefined {
    return this.active && this.settings.prompts.includes(name) ? this.catalog.resolvePrompt(name) : undefined;
  }

  resourceTemplates(): readonly ResourceTemplate[] {
    if (!this.active) return [];
    return this.catalog.resourceTemplates().filter((template) => {
      const parsed = parseExposedUri(template.uriTemplate);
      return parsed !== undefined && this.settings.resources.includes(parsed.namespace);
    });
  }

  exposeUri(namespace: string, uri: string): string {
    return this.catalog.exposeUri(namespace, uri);
  }

  resolveUri(uri: string): { upstream: Upstream; uri: string } | undefined {
    const target = this.catalog.resolveUri(uri);
    return this.active && target && this.settings.resources.includes(target.upstream.namespace) ? target : undefined;
  }

  loggerName(namespace: string, logger: string | undefined): string | undefined {
    return this.catalog.loggerName(namespace, logger);
  }
}

/**
 * References of a view that do not exist in the catalog, each with its exact place in the
 * configuration (`views[0].tools[2]: …`). Only upstreams that are up can be checked.
 */
export function viewProblems(views: readonly ViewSettings[], catalog: UpstreamCatalog, separator: string, isChecked: (namespace: string) => boolean): string[] {
  const problems: string[] = [];
  const namespaces = new Set(catalog.upstreams().map((u) => u.namespace));
  const toolNames = new Set(catalog.tools().map((t) => t.name));
  const promptNames = new Set(catalog.prompts().map((p) => p.name));
  // A reference to an upstream that is not up yet cannot be checked now; it is checked when it is.
  const namespaceOf = (name: string): string | undefined => (name.includes(separator) ? name.slice(0, name.indexOf(separator)) : undefined);
  views.forEach((view, v) => {
    for (const entry of toolEntries(view)) {
      if (toolNames.has(entry.source)) continue;
      const namespace = namespaceOf(entry.source);
      if (namespace !== undefined && namespaces.has(namespace) && !isChecked(namespace)) continue;
      problems.push(
        `views[${v}].tools[${entry.index}]: "${entry.source}" does not exist; views name tools as tools/list on /mcp shows them (e.g. "pm__create_task").`,
      );
    }
    view.prompts.forEach((name, p) => {
      if (promptNames.has(name)) return;
      const namespace = namespaceOf(name);
      if (namespace !== undefined && namespaces.has(namespace) && !isChecked(namespace)) return;
      problems.push(`views[${v}].prompts[${p}]: "${name}" does not exist; use a name prompts/list on /mcp shows.`);
    });
    view.resources.forEach((namespace, r) => {
      if (!namespaces.has(namespace))
        problems.push(`views[${v}].resources[${r}]: "${namespace}" is not an upstream namespace (known: ${[...namespaces].join(', ')}).`);
    });
  });
  return problems;
}
