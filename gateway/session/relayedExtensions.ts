import type { CatalogView } from '../catalog/upstreamCatalog.js';
import type { Upstream } from '../upstreams/types.js';

/**
 * Protocol extensions (SEP-2133, `capabilities.extensions`) the gateway relays to 2026-07-28
 * clients of one upstream alone (`/servers/{ns}/mcp`): the upstream's declaration is shown in
 * `server/discover`, the extension's methods are forwarded to it as they are, and a client's
 * own declaration of the extension reaches it in the request's clientCapabilities. Only there:
 * the methods name things by the upstream's own identifiers (task ids, skill:// URIs), which
 * the aggregate and curated views, serving many upstreams under gateway names, cannot route.
 *
 * - Tasks (SEP-2663): a tools/call may answer with a CreateTaskResult (`resultType: "task"`),
 *   then `tasks/get` (result inlined), `tasks/update` (input responses) and `tasks/cancel`.
 * - Skills (SEP-2640): `skills/list`, `skills/get`, `resources/directory/read` (the skill://
 *   files themselves are ordinary resources).
 */
export const RELAYED_EXTENSION_METHODS: ReadonlyMap<string, string> = new Map([
  ['tasks/get', 'io.modelcontextprotocol/tasks'],
  ['tasks/update', 'io.modelcontextprotocol/tasks'],
  ['tasks/cancel', 'io.modelcontextprotocol/tasks'],
  ['skills/list', 'io.modelcontextprotocol/skills'],
  ['skills/get', 'io.modelcontextprotocol/skills'],
  ['resources/directory/read', 'io.modelcontextprotocol/skills'],
]);

const RELAYED = new Set(RELAYED_EXTENSION_METHODS.values());

/** The relayed extensions among `declared` (an upstream's or a client's `capabilities.extensions`), or undefined when none. */
export function relayedExtensionsOf(declared: unknown): Record<string, object> | undefined {
  if (typeof declared !== 'object' || declared === null) return undefined;
  const out: Record<string, object> = {};
  for (const [id, settings] of Object.entries(declared)) {
    if (RELAYED.has(id) && typeof settings === 'object' && settings !== null) out[id] = settings as object;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The upstream a relayed extension method goes to on `view`: its single upstream, when that declared the extension. */
export function relayTarget(view: CatalogView, method: string): Upstream | undefined {
  const extension = RELAYED_EXTENSION_METHODS.get(method);
  if (extension === undefined || view.namespace === undefined) return undefined;
  const upstream = view.upstreams()[0];
  return upstream?.capabilities?.extensions?.[extension] !== undefined ? upstream : undefined;
}
