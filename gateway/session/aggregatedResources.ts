import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../../shared/logger.js';
import { decodeCursor, encodeCursor } from '../catalog/cursor.js';
import type { CatalogView } from '../catalog/upstreamCatalog.js';
import type { RequestingClient } from '../calls/requestingClient.js';
import { RESOURCE_NOT_FOUND, RpcError } from '../calls/rpcError.js';
import type { Cancellation } from '../upstreams/cancellation.js';
import type { Upstream } from '../upstreams/types.js';

/*
 * Resources across the upstreams of a view: a gateway URI resolved to its upstream, resources
 * listed live one upstream page at a time, and URIs in results namespaced.
 */

/**
 * The upstream of a resource URI, or the revision's resource-not-found error with `data.uri`:
 * -32602 for a 2026-07-28 client (SEP-2164), -32002 for a 2025-era one (its revision's code).
 */
export function resolveUriOrThrow(view: CatalogView, uri: string, era: RequestingClient['era'] = 'legacy'): { upstream: Upstream; uri: string } {
  const target = view.resolveUri(uri);
  if (!target) {
    throw new RpcError(
      era === 'modern' ? ErrorCode.InvalidParams : RESOURCE_NOT_FOUND,
      `Resource "${uri}" not found: gateway resource URIs start with "<namespace>+" (for example "pm+project://…"). List them with resources/list.`,
      { uri },
    );
  }
  return target;
}

interface ResourcesCursor extends Record<string, unknown> {
  /** Index of the upstream in the view. */
  u: number;
  /** That upstream's own cursor. */
  c?: string;
}

const isResourcesCursor = (value: Record<string, unknown>): value is ResourcesCursor =>
  typeof value.u === 'number' && Number.isInteger(value.u) && value.u >= 0 && (value.c === undefined || typeof value.c === 'string');

/**
 * resources/list is forwarded live (servers may list resources they never announce with
 * list_changed), one upstream page at a time; the gateway cursor carries the upstream's.
 * An upstream that is down is skipped, and said so in the log.
 */
export async function listResourcesLive(
  client: RequestingClient,
  cursor: string | undefined,
  cancellation: Cancellation,
  logger: Logger,
  mayReadNamespace: (namespace: string) => boolean,
): Promise<{ resources: unknown[]; nextCursor?: string }> {
  const { view } = client;
  const upstreams = view.upstreams();
  let position: ResourcesCursor = decodeCursor(cursor, isResourcesCursor) ?? { u: 0 };
  for (;;) {
    const upstream = upstreams[position.u];
    if (!upstream) return { resources: [] };
    const following: ResourcesCursor | undefined = position.u + 1 < upstreams.length ? { u: position.u + 1 } : undefined;
    if (upstream.state !== 'ready' || !upstream.capabilities?.resources || !mayReadNamespace(upstream.namespace)) {
      if (upstream.state !== 'ready') logger.debug({ upstream: upstream.namespace, client: client.id }, 'resources/list skips an upstream that is down');
      if (!following) return { resources: [] };
      position = following;
      continue;
    }
    let result: Record<string, unknown>;
    try {
      result = await upstream.forward('resources/list', position.c ? { cursor: position.c } : {}, undefined, { cancellation });
    } catch (error) {
      logger.warn({ err: error, upstream: upstream.namespace }, 'resources/list failed upstream; skipping it');
      if (!following) return { resources: [] };
      position = following;
      continue;
    }
    const items = Array.isArray(result.resources) ? (result.resources as Array<{ uri?: unknown }>) : [];
    const resources = view.namespace
      ? items
      : items.map((item) => (typeof item.uri === 'string' ? { ...item, uri: view.exposeUri(upstream.namespace, item.uri) } : item));
    const next: ResourcesCursor | undefined = typeof result.nextCursor === 'string' ? { u: position.u, c: result.nextCursor } : following;
    if (resources.length > 0 || !next) return next ? { resources, nextCursor: encodeCursor(next) } : { resources };
    position = next;
  }
}

/** Resource links and embedded resources in results carry URIs that must be namespaced too. */
export function rewriteContent(result: Record<string, unknown>, view: CatalogView, namespace: string): Record<string, unknown> {
  if (view.namespace || !Array.isArray(result.content)) return result;
  let changed = false;
  const content = (result.content as unknown[]).map((block) => {
    const rewritten = rewriteBlock(block, view, namespace);
    if (rewritten !== block) changed = true;
    return rewritten;
  });
  return changed ? { ...result, content } : result;
}

export function rewriteBlock(block: unknown, view: CatalogView, namespace: string): unknown {
  if (typeof block !== 'object' || block === null) return block;
  const typed = block as { type?: unknown; uri?: unknown; resource?: { uri?: unknown } };
  if (typed.type === 'resource_link' && typeof typed.uri === 'string') return { ...typed, uri: view.exposeUri(namespace, typed.uri) };
  if (typed.type === 'resource' && typed.resource && typeof typed.resource.uri === 'string') {
    return { ...typed, resource: { ...typed.resource, uri: view.exposeUri(namespace, typed.resource.uri) } };
  }
  return block;
}
