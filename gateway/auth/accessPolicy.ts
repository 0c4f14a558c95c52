import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { CatalogView } from '../catalog/upstreamCatalog.js';
import { accessLevelFor, grants, scopeFor } from './scopePolicy.js';

/** What one JSON-RPC request needs, and a phrase naming it for error messages. */
export interface ScopeRequirement {
  scopes: string[];
  what: string;
}

/** Tools the gateway provides itself (composite tools): each needs the union of its steps' scopes. */
export interface VirtualToolScopes {
  /** The scopes a call needs with these arguments (undefined: the defaults), or undefined when `exposedName` is not such a tool. */
  scopesOf(view: CatalogView, exposedName: string, args: Record<string, unknown> | undefined): string[] | undefined;
}

/**
 * Which scope each tool, prompt and resource needs. Tools: from annotations (read-only →
 * read, non-destructive → write, otherwise admin), unless configuration overrides the tool.
 * Resources, prompts and completions of a namespace need its read scope.
 */
export class AccessPolicy {
  constructor(private readonly toolScopes: Readonly<Record<string, Readonly<Record<string, string>>>> = {}) {}

  private virtualTools: VirtualToolScopes | undefined;

  /** Let composite tools be authorized like the upstream tools they call. */
  attachVirtualTools(virtualTools: VirtualToolScopes): void {
    this.virtualTools = virtualTools;
  }

  toolScope(namespace: string, tool: Pick<Tool, 'name' | 'annotations'>): string {
    return this.toolScopes[namespace]?.[tool.name] ?? scopeFor(namespace, accessLevelFor(tool.annotations));
  }

  readScope(namespace: string): string {
    return scopeFor(namespace, 'read');
  }

  /** The upstream tool behind an exposed name, with its namespace. */
  private toolTarget(view: CatalogView, exposedName: string): { namespace: string; tool: Pick<Tool, 'name' | 'annotations'> } | undefined {
    const target = view.resolveTool(exposedName);
    if (!target) return undefined;
    const tool = target.upstream.tools.find((t) => t.name === target.name);
    return { namespace: target.upstream.namespace, tool: tool ?? { name: target.name } };
  }

  /** May a caller with `granted` see and call this exposed tool? */
  allowsTool(granted: ReadonlySet<string>, view: CatalogView, exposedName: string): boolean {
    const composite = this.virtualTools?.scopesOf(view, exposedName, undefined);
    if (composite) return composite.every((scope) => grants(granted, scope));
    const target = this.toolTarget(view, exposedName);
    return target !== undefined && grants(granted, this.toolScope(target.namespace, target.tool));
  }

  allowsNamespace(granted: ReadonlySet<string>, namespace: string): boolean {
    return grants(granted, this.readScope(namespace));
  }

  /**
   * The scopes a request needs on a view; undefined for requests that need none here
   * (initialize, lists — which are filtered instead — and unknown names, which fail later
   * with their own error).
   */
  requirementOf(view: CatalogView, method: string, params: Record<string, unknown> | undefined): ScopeRequirement | undefined {
    const name = typeof params?.name === 'string' ? params.name : undefined;
    const uri = typeof params?.uri === 'string' ? params.uri : undefined;
    switch (method) {
      case 'tools/call': {
        const args = params?.arguments;
        const composite = name
          ? this.virtualTools?.scopesOf(view, name, typeof args === 'object' && args !== null ? (args as Record<string, unknown>) : undefined)
          : undefined;
        if (composite) return { scopes: composite, what: `calling ${name}` };
        const target = name ? this.toolTarget(view, name) : undefined;
        return target ? { scopes: [this.toolScope(target.namespace, target.tool)], what: `calling ${name}` } : undefined;
      }
      case 'prompts/get': {
        const target = name ? view.resolvePrompt(name) : undefined;
        return target ? { scopes: [this.readScope(target.upstream.namespace)], what: `getting prompt ${name}` } : undefined;
      }
      case 'resources/read':
      case 'resources/subscribe': {
        const target = uri ? view.resolveUri(uri) : undefined;
        return target ? { scopes: [this.readScope(target.upstream.namespace)], what: `reading ${uri}` } : undefined;
      }
      case 'completion/complete': {
        const ref = params?.ref as { type?: unknown; name?: unknown; uri?: unknown } | undefined;
        const namespace =
          ref?.type === 'ref/prompt' && typeof ref.name === 'string'
            ? view.resolvePrompt(ref.name)?.upstream.namespace
            : typeof ref?.uri === 'string'
              ? view.resolveUri(ref.uri)?.upstream.namespace
              : undefined;
        return namespace ? { scopes: [this.readScope(namespace)], what: 'completing an argument' } : undefined;
      }
      default:
        return undefined;
    }
  }
}
