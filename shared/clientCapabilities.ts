import { CLIENT_CAPABILITIES_META_KEY, type ClientCapabilities, type McpServer, type ServerContext } from '@modelcontextprotocol/server';
import type { CallerContext } from './callerContext.js';
import { servingInstanceOf } from './serving/serverSurface.js';

/**
 * What the client behind a request can be asked for. On protocol revision 2026-07-28 every
 * request carries its client's capabilities in the `_meta` envelope; on a 2025 connection they
 * were declared at `initialize`. Behind the gateway the connection's client is the gateway, so a
 * trusted caller's `clientCapabilities` (shared/callerContext.ts) name the end client's instead.
 * `instance` is the server answering (found on the context for surfaces built by ServerSurface).
 */
export function clientCapabilitiesOf(
  ctx: ServerContext,
  trustedCaller?: CallerContext,
  instance: McpServer | undefined = servingInstanceOf(ctx),
): ClientCapabilities {
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  const fromEnvelope = envelope?.[CLIENT_CAPABILITIES_META_KEY];
  if (typeof fromEnvelope === 'object' && fromEnvelope !== null) return fromEnvelope as ClientCapabilities;
  if (trustedCaller?.clientCapabilities) return trustedCaller.clientCapabilities as ClientCapabilities;
  return instance?.server.getClientCapabilities() ?? {};
}
