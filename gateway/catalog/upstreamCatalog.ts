import { isDeepStrictEqual } from 'node:util';
import type { Prompt, ResourceTemplate, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../../shared/logger.js';
import type { Upstream } from '../upstreams/types.js';
import { exposedName, exposeUri, nameProblem, parseExposedUri } from './naming.js';

/** Where an exposed tool or prompt lives. */
export interface NameTarget {
  upstream: Upstream;
  /** The name on the upstream. */
  name: string;
}

/**
 * What one client session sees: the whole aggregate (`/mcp`) or a single upstream with its
 * own names (`/servers/{namespace}/mcp`). Session handlers only talk to a view.
 */
export interface CatalogView {
  /** Undefined for the aggregate; the namespace for a single-upstream view. */
  readonly namespace: string | undefined;
  upstreams(): readonly Upstream[];
  includes(namespace: string): boolean;
  tools(): readonly Tool[];
  resolveTool(name: string): NameTarget | undefined;
  prompts(): readonly Prompt[];
  resolvePrompt(name: string): NameTarget | undefined;
  resourceTemplates(): readonly ResourceTemplate[];
  exposeUri(namespace: string, uri: string): string;
  resolveUri(uri: string): { upstream: Upstream; uri: string } | undefined;
  /** Prefix for log notification `logger` fields. */
  loggerName(namespace: string, logger: string | undefined): string | undefined;
  /**
   * For a view that renames what it shows (a curated view): the aggregate's name of a name
   * it shows, or undefined when it does not show it. Absent on views that do not rename.
   */
  aggregateName?(name: string): string | undefined;
  /** Why an exposed tool is held back (a changed definition awaiting approval), if it is. */
  withheldReason?(name: string): string | undefined;
}

/**
 * Decides which of an upstream's tools are served (tool integrity); the rest are withheld,
 * each with a reason for a client that calls it anyway.
 */
export type ToolGate = (upstream: Upstream) => { serve: readonly Tool[]; withheld: ReadonlyArray<{ tool: string; reason: string }> };

/** Tools the gateway provides itself under a namespace of their own (composite tools). */
export interface VirtualToolSource {
  readonly namespace: string;
  /** Their definitions with unprefixed names. */
  tools(): readonly Tool[];
}

interface Indexed<T> {
  items: T[];
  index: Map<string, NameTarget>;
}

/**
 * The aggregate of every upstream's tools, prompts and resource templates under gateway
 * names. Rebuilt whenever an upstream's lists change; names that cannot be exposed (too
 * long, bad characters, or colliding) are left out and reported in `problems` and the log —
 * never dropped silently.
 */
export class UpstreamCatalog implements CatalogView {
  readonly namespace = undefined;
  private toolsIndexed: Indexed<Tool> = { items: [], index: new Map() };
  private promptsIndexed: Indexed<Prompt> = { items: [], index: new Map() };
  private templates: ResourceTemplate[] = [];
  private readonly byNamespace: Map<string, Upstream>;
  problems: string[] = [];
  /** Names two upstreams claim (also in `problems`): a gateway refuses to start with any. */
  collisions: string[] = [];
  private virtualSource: VirtualToolSource | undefined;
  /** Exposed name → unprefixed name of each listed virtual tool. */
  private virtualIndex = new Map<string, string>();

  constructor(
    private readonly all: readonly Upstream[],
    private readonly separator: string,
    private readonly logger: Logger,
  ) {
    this.byNamespace = new Map(all.map((upstream) => [upstream.namespace, upstream]));
  }

  upstream(namespace: string): Upstream | undefined {
    return this.byNamespace.get(namespace);
  }

  upstreams(): readonly Upstream[] {
    return this.all;
  }

  includes(namespace: string): boolean {
    return this.byNamespace.has(namespace);
  }

  private toolGate: ToolGate | undefined;
  private withheld = new Map<string, string>();

  /** Serve only what the gate lets through (tool integrity). */
  setToolGate(gate: ToolGate): void {
    this.toolGate = gate;
  }

  withheldReason(name: string): string | undefined {
    return this.withheld.get(name);
  }

  /** Is this upstream tool (by its own name) held back? */
  isWithheld(namespace: string, toolName: string): boolean {
    return this.withheld.has(exposedName(namespace, this.separator, toolName));
  }

  /** Why this upstream tool (by its own name) is held back, if it is. */
  withheldReasonOf(namespace: string, toolName: string): string | undefined {
    return this.withheld.get(exposedName(namespace, this.separator, toolName));
  }

  /** List the gateway's own tools beside the upstreams' (in the aggregate only). */
  setVirtualTools(source: VirtualToolSource): void {
    this.virtualSource = source;
    this.rebuild();
  }

  /** The unprefixed name of a virtual tool, or undefined when `name` is not one. */
  resolveVirtualTool(name: string): string | undefined {
    return this.virtualIndex.get(name);
  }

  /** Recompute the aggregate; returns which aggregate lists changed. */
  rebuild(): { tools: boolean; prompts: boolean; resourceTemplates: boolean } {
    const problems: string[] = [];
    const collisions: string[] = [];
    const withheld = new Map<string, string>();
    const servedTools = (u: Upstream): readonly Tool[] => {
      if (!this.toolGate) return u.tools;
      const gated = this.toolGate(u);
      for (const entry of gated.withheld) withheld.set(exposedName(u.namespace, this.separator, entry.tool), entry.reason);
      return gated.serve;
    };
    const tools = this.index('tool', servedTools, (tool, name) => ({ ...tool, name }), problems, collisions);
    this.withheld = withheld;
    const virtualIndex = this.indexVirtual(tools, problems);
    const prompts = this.index(
      'prompt',
      (u) => u.prompts,
      (prompt, name) => ({ ...prompt, name }),
      problems,
      collisions,
    );
    const templates = this.all.flatMap((u) =>
      u.resourceTemplates.map((template) => ({ ...template, uriTemplate: exposeUri(u.namespace, template.uriTemplate) })),
    );
    const changed = {
      tools: !isDeepStrictEqual(tools.items, this.toolsIndexed.items),
      prompts: !isDeepStrictEqual(prompts.items, this.promptsIndexed.items),
      resourceTemplates: !isDeepStrictEqual(templates, this.templates),
    };
    this.toolsIndexed = tools;
    this.virtualIndex = virtualIndex;
    this.promptsIndexed = prompts;
    this.templates = templates;
    const fresh = problems.filter((p) => !this.problems.includes(p));
    for (const problem of fresh) this.logger.error({ problem }, `catalog: ${problem}`);
    this.problems = problems;
    this.collisions = collisions;
    return changed;
  }

  /** Add the virtual tools to `tools`; a name an upstream tool already has is reported, not shadowed. */
  private indexVirtual(tools: Indexed<Tool>, problems: string[]): Map<string, string> {
    const index = new Map<string, string>();
    if (!this.virtualSource) return index;
    for (const tool of this.virtualSource.tools()) {
      const name = exposedName(this.virtualSource.namespace, this.separator, tool.name);
      const problem = nameProblem(name) ?? (tools.index.has(name) || index.has(name) ? 'is already taken' : undefined);
      if (problem) {
        problems.push(`composite tool "${tool.name}" is not exposed: its gateway name "${name}" ${problem}.`);
        continue;
      }
      tools.items.push({ ...tool, name });
      index.set(name, tool.name);
    }
    return index;
  }

  private index<T extends { name: string }>(
    kind: 'tool' | 'prompt',
    list: (upstream: Upstream) => readonly T[],
    rename: (item: T, name: string) => T,
    problems: string[],
    collisions: string[],
  ): Indexed<T> {
    const candidates = new Map<string, Array<{ upstream: Upstream; item: T }>>();
    for (const upstream of this.all) {
      for (const item of list(upstream)) {
        const name = exposedName(upstream.namespace, this.separator, item.name);
        const problem = nameProblem(name);
        if (problem) {
          problems.push(
            `${kind} "${item.name}" of upstream "${upstream.namespace}" is not exposed: its gateway name "${name}" ${problem}. ` +
              `Shorten the namespace or the ${kind} name, or deny it in the configuration.`,
          );
          continue;
        }
        const entry = candidates.get(name);
        if (entry) entry.push({ upstream, item });
        else candidates.set(name, [{ upstream, item }]);
      }
    }
    const items: T[] = [];
    const index = new Map<string, NameTarget>();
    for (const [name, entries] of candidates) {
      if (entries.length > 1) {
        const collision =
          `${kind} name "${name}" is claimed by ${entries.map((e) => `"${e.item.name}" of "${e.upstream.namespace}"`).join(' and ')}; ` +
          `none of them is exposed. Use a separator that cannot occur in namespaces (the default "__"), or deny one.`;
        problems.push(collision);
        collisions.push(collision);
        continue;
      }
      const { upstream, item } = entries[0]!;
      items.push(rename(item, name));
      index.set(name, { upstream, name: item.name });
    }
    return { items, index };
  }

  tools(): readonly Tool[] {
    return this.toolsIndexed.items;
  }

  resolveTool(name: string): NameTarget | undefined {
    return this.toolsIndexed.index.get(name);
  }

  prompts(): readonly Prompt[] {
    return this.promptsIndexed.items;
  }

  resolvePrompt(name: string): NameTarget | undefined {
    return this.promptsIndexed.index.get(name);
  }

  resourceTemplates(): readonly ResourceTemplate[] {
    return this.templates;
  }

  exposeUri(namespace: string, uri: string): string {
    return exposeUri(namespace, uri);
  }

  resolveUri(uri: string): { upstream: Upstream; uri: string } | undefined {
    const parsed = parseExposedUri(uri);
    const upstream = parsed && this.byNamespace.get(parsed.namespace);
    return upstream && parsed ? { upstream, uri: parsed.uri } : undefined;
  }

  loggerName(namespace: string, logger: string | undefined): string {
    return logger ? `${namespace}/${logger}` : namespace;
  }
}

/** One upstream alone, with its own names and URIs (`/servers/{namespace}/mcp`). */
export class SingleUpstreamView implements CatalogView {
  readonly namespace: string;

  constructor(
    private readonly upstream: Upstream,
    private readonly aggregate?: UpstreamCatalog,
  ) {
    this.namespace = upstream.namespace;
  }

  upstreams(): readonly Upstream[] {
    return [this.upstream];
  }

  includes(namespace: string): boolean {
    return namespace === this.namespace;
  }

  tools(): readonly Tool[] {
    const aggregate = this.aggregate;
    return aggregate ? this.upstream.tools.filter((tool) => !aggregate.isWithheld(this.namespace, tool.name)) : this.upstream.tools;
  }

  resolveTool(name: string): NameTarget | undefined {
    if (this.aggregate?.isWithheld(this.namespace, name)) return undefined;
    return this.upstream.tools.some((tool) => tool.name === name) ? { upstream: this.upstream, name } : undefined;
  }

  withheldReason(name: string): string | undefined {
    return this.aggregate?.withheldReasonOf(this.namespace, name);
  }

  prompts(): readonly Prompt[] {
    return this.upstream.prompts;
  }

  resolvePrompt(name: string): NameTarget | undefined {
    return this.upstream.prompts.some((prompt) => prompt.name === name) ? { upstream: this.upstream, name } : undefined;
  }

  resourceTemplates(): readonly ResourceTemplate[] {
    return this.upstream.resourceTemplates;
  }

  exposeUri(_namespace: string, uri: string): string {
    return uri;
  }

  resolveUri(uri: string): { upstream: Upstream; uri: string } {
    return { upstream: this.upstream, uri };
  }

  loggerName(_namespace: string, logger: string | undefined): string | undefined {
    return logger;
  }
}
