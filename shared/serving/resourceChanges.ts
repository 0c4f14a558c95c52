import type { McpServer, ServerEvent, ServerEventBus } from '@modelcontextprotocol/server';
import { asMcpErrors } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ServingInstance } from './servingInstance.js';

/** Which of a server's resources a client may subscribe to, and how URIs are compared. */
export interface SubscribableResources {
  /**
   * The key a client's subscription to `uri` is kept under. Throws a DomainError that says what to
   * subscribe to instead when the server has no such resource.
   */
  subscriptionKey(uri: string): string;
  /** The key an updated resource falls under: the same normalisation, without the existence check. */
  updateKey(uri: string): string;
}

/**
 * Connect one server instance to the process's change bus, as its serving entry asks
 * (see `ChangeDelivery`). The bus carries one event per changed resource URI and per changed
 * list; publishers need not know who listens or in which protocol era.
 */
export function deliverResourceChanges(
  server: McpServer,
  instance: ServingInstance,
  bus: ServerEventBus,
  resources: SubscribableResources,
  logger: Logger,
): void {
  // Declared in every era: the 2026 listen router honours `resourceSubscriptions` only when
  // `resources.subscribe` is advertised.
  server.server.registerCapabilities({ resources: { subscribe: true, listChanged: true } });
  if (instance.changes === 'none') return;

  const notDelivered = (err: unknown): void => logger.debug({ err }, 'change notification not delivered');
  const send = (event: ServerEvent, uri?: string): void => {
    switch (event.kind) {
      case 'resource_updated':
        server.server.sendResourceUpdated({ uri: uri ?? event.uri }).catch(notDelivered);
        return;
      case 'resources_list_changed':
        server.sendResourceListChanged();
        return;
      case 'tools_list_changed':
        server.sendToolListChanged();
        return;
      case 'prompts_list_changed':
        server.sendPromptListChanged();
        return;
    }
  };

  let listener: (event: ServerEvent) => void;
  if (instance.changes === 'all') {
    listener = (event) => send(event);
  } else {
    // key → the URIs as the client wrote them (a client hears about a resource under the URI it subscribed with).
    const subscribed = new Map<string, Set<string>>();
    server.server.setRequestHandler(
      'resources/subscribe',
      asMcpErrors(async (request) => {
        const { uri } = request.params;
        const key = resources.subscriptionKey(uri);
        const uris = subscribed.get(key) ?? new Set<string>();
        uris.add(uri);
        subscribed.set(key, uris);
        return {};
      }),
    );
    server.server.setRequestHandler('resources/unsubscribe', async (request) => {
      const { uri } = request.params;
      const key = resources.updateKey(uri);
      const uris = subscribed.get(key);
      uris?.delete(uri);
      if (uris?.size === 0) subscribed.delete(key);
      return {};
    });
    listener = (event) => {
      if (event.kind !== 'resource_updated') return send(event);
      for (const uri of subscribed.get(resources.updateKey(event.uri)) ?? []) send(event, uri);
    };
  }

  const unsubscribe = bus.subscribe((event) => {
    if (server.isConnected()) listener(event);
  });
  const previousOnClose = server.server.onclose;
  server.server.onclose = () => {
    unsubscribe();
    previousOnClose?.();
  };
}
