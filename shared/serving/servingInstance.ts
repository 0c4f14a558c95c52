import type { ProtocolEra } from '@modelcontextprotocol/server';

/**
 * How a server instance hears about resource and list changes, which depends on what it serves:
 *
 * - `subscribed`: a 2025-era connection (stdio, or one Streamable HTTP session). The instance keeps
 *   the client's `resources/subscribe` set, sends `notifications/resources/updated` for those URIs and
 *   the `list_changed` notifications unsolicited (MCP 2025-11-25, server/resources "Subscriptions").
 * - `all`: a 2026-07-28 stdio connection. The instance sends every change and the SDK's stdio entry
 *   delivers each to the `subscriptions/listen` streams whose filter asks for it.
 * - `none`: one 2026-07-28 HTTP request. The HTTP entry feeds listen streams from the change bus
 *   itself; the per-request instance needs no listener.
 */
export type ChangeDelivery = 'subscribed' | 'all' | 'none';

/** What a serving entry tells a server factory about the instance it asks for. */
export interface ServingInstance {
  era: ProtocolEra;
  changes: ChangeDelivery;
}

/** A 2025-era connection: the default for in-process clients (linked in-memory transports). */
export const LEGACY_CONNECTION: ServingInstance = { era: 'legacy', changes: 'subscribed' };
