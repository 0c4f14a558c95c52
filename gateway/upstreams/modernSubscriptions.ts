import type { Client, McpSubscription, ServerCapabilities } from '@modelcontextprotocol/client';
import type { Logger } from '../../shared/logger.js';

/** How long to wait before listening again after an upstream closed a stream unexpectedly. */
const RELISTEN_DELAY_MS = 1_000;

/**
 * What a 2026-07-28 upstream announces reaches the gateway only on `subscriptions/listen`
 * streams it opened (MCP 2026-07-28 removed unsolicited notifications and resources/subscribe):
 * one stream for list changes, held for the life of the connection, and one for the resources
 * the gateway's clients watch, opened again with the new set whenever it changes (the new one
 * before the old one closes, so no update falls between them). The notifications reach the
 * client's notification handlers like any other.
 */
export class ModernSubscriptions {
  private lists: McpSubscription | undefined;
  private resources: McpSubscription | undefined;
  private readonly uris = new Set<string>();
  /** Serialises re-listening: each change of the URI set waits for the previous one. */
  private pending: Promise<void> = Promise.resolve();
  private running = true;
  private relistenTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: Client,
    private readonly capabilities: ServerCapabilities,
    private readonly log: Logger,
  ) {}

  /** Open the list-changes stream (when the upstream announces any list changes). */
  async start(): Promise<void> {
    const filter = {
      ...(this.capabilities.tools?.listChanged ? { toolsListChanged: true } : {}),
      ...(this.capabilities.prompts?.listChanged ? { promptsListChanged: true } : {}),
      ...(this.capabilities.resources?.listChanged ? { resourcesListChanged: true } : {}),
    };
    if (Object.keys(filter).length === 0) return;
    this.lists = await this.client.listen(filter);
    this.watch(this.lists, () => this.start());
  }

  async addResource(uri: string): Promise<void> {
    if (this.uris.has(uri)) return;
    this.uris.add(uri);
    await this.relisten();
  }

  async removeResource(uri: string): Promise<void> {
    if (!this.uris.delete(uri)) return;
    await this.relisten();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.relistenTimer);
    void this.lists?.close().catch(() => undefined);
    void this.resources?.close().catch(() => undefined);
    this.lists = undefined;
    this.resources = undefined;
  }

  private relisten(): Promise<void> {
    this.pending = this.pending.then(() => this.replaceResourceStream());
    return this.pending;
  }

  private async replaceResourceStream(): Promise<void> {
    if (!this.running) return;
    const previous = this.resources;
    this.resources = this.uris.size > 0 ? await this.client.listen({ resourceSubscriptions: [...this.uris] }) : undefined;
    if (this.resources) this.watch(this.resources, () => this.relisten());
    await previous?.close().catch(() => undefined);
  }

  /** Listen again when the upstream ends a stream that is still wanted. */
  private watch(subscription: McpSubscription, again: () => Promise<void>): void {
    void subscription.closed.then((reason) => {
      if (reason === 'local' || !this.running || (subscription !== this.lists && subscription !== this.resources)) return;
      this.log.warn({ reason }, 'the upstream closed a listen stream; listening again');
      this.relistenTimer = setTimeout(() => void again().catch((error: unknown) => this.log.warn({ err: error }, 'listening again failed')), RELISTEN_DELAY_MS);
      this.relistenTimer.unref();
    });
  }
}
