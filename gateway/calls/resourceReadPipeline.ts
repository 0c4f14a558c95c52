import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { CallerContext } from '../../shared/callerContext.js';
import type { Cancellation } from '../upstreams/cancellation.js';
import type { Upstream } from '../upstreams/types.js';
import type { ClientSessionLink } from '../upstreams/types.js';
import type { CallFacts } from './callFacts.js';

/**
 * One resources/read on its way to an upstream: the same seam as tools/call
 * (toolCallPipeline.ts) for caching, size limits, logs and metrics.
 */
export interface ResourceReadContext {
  session: ClientSessionLink;
  requestId: RequestId;
  caller: CallerContext;
  upstream: Upstream;
  /** The upstream's own URI. */
  uri: string;
  /** The URI the client used. */
  exposedUri: string;
  /** Forwarded params (`uri` already the upstream's). */
  params: Record<string, unknown>;
  cancellation: Cancellation;
  /** What the stages learn about this read (callFacts.ts); set by the recording stage. */
  facts?: CallFacts;
}

export type ResourceReadHandler = (read: ResourceReadContext) => Promise<Record<string, unknown>>;
export type ResourceReadMiddleware = (read: ResourceReadContext, next: ResourceReadHandler) => Promise<Record<string, unknown>>;

export function composeResourceRead(middlewares: readonly ResourceReadMiddleware[], terminal: ResourceReadHandler): ResourceReadHandler {
  return middlewares.reduceRight<ResourceReadHandler>((next, middleware) => (read) => middleware(read, next), terminal);
}
