import { CLIENT_CAPABILITIES_META_KEY, type ClientCapabilities, type McpServer, type ServerContext } from '@modelcontextprotocol/server';
import type { CallerContext } from './callerContext.js';

/**
 * What the client behind a request can be asked for. On protocol revision 2026-07-28 every
 * request carries its client's capabilities in the `_meta` envelope; on a 2025 connection they
 * were declared at `initialize`. Behind the gateway the connection's client is the gateway, so a
 * trusted caller's `clientCapabilities` (shared/callerContext.ts) name the end client's instead.
 */
export function clientCapabilitiesOf(server: McpServer, ctx: ServerContext, trustedCaller?: CallerContext): ClientCapabilities {
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  const fromEnvelope = envelope?.[CLIENT_CAPABILITIES_META_KEY];
  if (typeof fromEnvelope === 'object' && fromEnvelope !== null) return fromEnvelope as ClientCapabilities;
  if (trustedCaller?.clientCapabilities) return trustedCaller.clientCapabilities as ClientCapabilities;
  return server.server.getClientCapabilities() ?? {};
}
