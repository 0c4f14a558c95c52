import { protectedResourceFor, type ProtectedResource } from './protectedResource.js';
import { defaultScopesForNamespaces, scopeFor } from './scopePolicy.js';

const VIEW_PATH = /^\/views\/([a-z][a-z0-9-]{0,31})\//;

/**
 * The gateway's protected resources: `<publicUrl>/mcp` (everything), one per upstream,
 * `<publicUrl>/servers/<ns>/mcp`, and one per curated view, `<publicUrl>/views/<name>/mcp`.
 * Such an endpoint also accepts tokens for the whole gateway; a token for one upstream's or
 * view's endpoint is good nowhere else.
 */
export class GatewayResources {
  readonly main: ProtectedResource;
  private readonly byNamespace: Map<string, ProtectedResource>;
  /** The least-privilege scopes a 401 names: all of them for the gateway, a namespace's own for its endpoint, a view's own for it. */
  private readonly defaultScopes: readonly string[];

  constructor(
    readonly publicUrl: string,
    namespaces: readonly string[],
    defaultScopes: readonly string[] = defaultScopesForNamespaces(namespaces),
    /** Per curated view, what its 401 names (viewDefaultScopes); a view not listed gets the gateway's. */
    private readonly viewDefaults: ReadonlyMap<string, readonly string[]> = new Map(),
  ) {
    this.main = protectedResourceFor(`${publicUrl}/mcp`);
    this.byNamespace = new Map(namespaces.map((ns) => [ns, protectedResourceFor(`${publicUrl}/servers/${ns}/mcp`)]));
    this.defaultScopes = defaultScopes;
  }

  all(): ProtectedResource[] {
    return [this.main, ...this.byNamespace.values()];
  }

  namespaceOf(path: string): string | undefined {
    const match = /^\/servers\/([^/]+)\//.exec(path);
    return match?.[1] !== undefined && this.byNamespace.has(match[1]) ? match[1] : undefined;
  }

  resourceFor = (path: string): { resource: ProtectedResource; audiences: readonly string[]; defaultScopes: readonly string[] } => {
    const view = VIEW_PATH.exec(path)?.[1];
    if (view !== undefined) {
      const own = protectedResourceFor(`${this.publicUrl}/views/${view}/mcp`);
      return { resource: own, audiences: [own.resource, this.main.resource], defaultScopes: this.viewDefaults.get(view) ?? this.defaultScopes };
    }
    const namespace = this.namespaceOf(path);
    const own = namespace === undefined ? undefined : this.byNamespace.get(namespace);
    if (!own) return { resource: this.main, audiences: [this.main.resource], defaultScopes: this.defaultScopes };
    // A namespace the configured default leaves out still gets a challenge: its read scope, the
    // least that makes its endpoint usable (naming none would send clients to scopes_supported).
    const ownDefaults = this.defaultScopes.filter((scope) => scope.startsWith(`${namespace}:`));
    return {
      resource: own,
      audiences: [own.resource, this.main.resource],
      defaultScopes: ownDefaults.length > 0 ? ownDefaults : [scopeFor(namespace!, 'read')],
    };
  };

  /** The resource whose metadata lives at a well-known path (RFC 9728 §3.1). */
  byMetadataPath(path: string): { resource: ProtectedResource; namespace: string | undefined } | undefined {
    if (path === this.main.metadataPath) return { resource: this.main, namespace: undefined };
    for (const [namespace, resource] of this.byNamespace) if (resource.metadataPath === path) return { resource, namespace };
    const view = /^\/\.well-known\/oauth-protected-resource\/views\/([a-z][a-z0-9-]{0,31})\/mcp$/.exec(path)?.[1];
    if (view !== undefined) return { resource: protectedResourceFor(`${this.publicUrl}/views/${view}/mcp`), namespace: undefined };
    return undefined;
  }
}

/**
 * The least-privilege scopes a view's 401 names: the scopes that open it, and of the gateway's
 * defaults those of the namespaces the view draws on (its tools, prompts and resources; a
 * composite tool draws on every namespace the workflows use).
 */
export function viewDefaultScopes(
  view: { tools: ReadonlyArray<string | { tool: string }>; prompts: readonly string[]; resources: readonly string[]; scopes: readonly string[] },
  options: { separator: string; defaultScopes: readonly string[]; workflowNamespace?: string; workflowUpstreams: readonly string[] },
): string[] {
  const namespaces = new Set<string>(view.resources);
  const namespaceOf = (name: string): string => name.slice(0, Math.max(0, name.indexOf(options.separator)));
  for (const reference of [...view.tools.map((t) => (typeof t === 'string' ? t : t.tool)), ...view.prompts]) {
    const namespace = namespaceOf(reference);
    if (namespace !== '' && namespace === options.workflowNamespace) for (const used of options.workflowUpstreams) namespaces.add(used);
    else if (namespace !== '') namespaces.add(namespace);
  }
  const drawn = options.defaultScopes.filter((scope) => namespaces.has(scope.slice(0, scope.lastIndexOf(':'))));
  return [...new Set([...view.scopes, ...drawn])];
}
