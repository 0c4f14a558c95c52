import type { ServerCapabilities } from '@modelcontextprotocol/sdk/types.js';
import type { CatalogView } from '../catalog/upstreamCatalog.js';
import type { Upstream } from '../upstreams/types.js';

/**
 * The capabilities a client is offered: the union of what its upstreams declared. An
 * upstream that has never initialized is assumed to offer everything, so that a client
 * arriving while it starts still sees its tools once it is up (list_changed is always on).
 */
export function unionCapabilities(upstreams: readonly Upstream[]): ServerCapabilities {
  let prompts = false;
  let resources = false;
  let subscribe = false;
  let completions = false;
  for (const upstream of upstreams) {
    const caps = upstream.capabilities;
    if (!caps) {
      prompts = resources = subscribe = completions = true;
      continue;
    }
    prompts ||= caps.prompts !== undefined;
    resources ||= caps.resources !== undefined;
    subscribe ||= caps.resources?.subscribe === true;
    completions ||= caps.completions !== undefined;
  }
  return {
    tools: { listChanged: true },
    logging: {},
    ...(prompts ? { prompts: { listChanged: true } } : {}),
    ...(resources ? { resources: { listChanged: true, ...(subscribe ? { subscribe: true } : {}) } } : {}),
    ...(completions ? { completions: {} } : {}),
  };
}

/** Concatenated upstream instructions, each under its namespace. */
export function composeInstructions(view: CatalogView, separator: string, upstreams: readonly Upstream[] = view.upstreams()): string | undefined {
  const parts = upstreams
    .filter((upstream) => upstream.instructions)
    .map((upstream) =>
      view.namespace
        ? upstream.instructions!
        : `## ${upstream.namespace} (tools and prompts named "${upstream.namespace}${separator}…")\n${upstream.instructions!}`,
    );
  return parts.length > 0 ? parts.join('\n\n') : undefined;
}
