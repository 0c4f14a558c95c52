import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';

/**
 * Whole lists for stdio clients that never follow `nextCursor` (MCP spec, utilities/pagination):
 * a tools/prompts/resources/templates list request without a cursor of its own is answered with
 * every page, gathered from the gateway one page at a time under the bridge's own request ids.
 * A request that carries a cursor passes through unchanged, so a client that pages still pages.
 */
const LIST_ITEMS: Readonly<Record<string, string>> = {
  'tools/list': 'tools',
  'prompts/list': 'prompts',
  'resources/list': 'resources',
  'resources/templates/list': 'resourceTemplates',
};

export interface ListLimits {
  /** Pages fetched for one list before giving up (a gateway that keeps answering with a cursor). */
  maxPages: number;
  /** Items gathered for one list before giving up. */
  maxItems: number;
}

export const DEFAULT_LIST_LIMITS: ListLimits = { maxPages: 1_000, maxItems: 100_000 };

interface Gathering {
  clientId: RequestId;
  method: string;
  key: string;
  params: Record<string, unknown>;
  items: unknown[];
  pages: number;
}

type Params = Record<string, unknown>;
const isObject = (value: unknown): value is Params => typeof value === 'object' && value !== null && !Array.isArray(value);

export class ListGathering {
  private readonly byUpstreamId = new Map<RequestId, Gathering>();
  private nextId = 0;

  constructor(
    /** Sends a request to the gateway. */
    private readonly toGateway: (message: JSONRPCMessage) => Promise<void>,
    /** Answers the stdio client. */
    private readonly toClient: (message: JSONRPCMessage) => void,
    private readonly limits: ListLimits = DEFAULT_LIST_LIMITS,
  ) {}

  /** Takes over a list request from the client without a cursor; false for every other message. */
  fromClient(message: JSONRPCMessage): boolean {
    if (!('method' in message)) return false;
    if (!('id' in message)) return this.cancelled(message);
    const key = LIST_ITEMS[message.method];
    const params: Params = isObject(message.params) ? message.params : {};
    if (key === undefined || params.cursor !== undefined) return false;
    this.request({ clientId: message.id, method: message.method, key, params, items: [], pages: 0 }, undefined);
    return true;
  }

  /** Consumes the gateway's answer to a page the bridge asked for; false for every other message. */
  fromGateway(message: JSONRPCMessage): boolean {
    if (!('id' in message) || 'method' in message || message.id === undefined) return false;
    const gathering = this.byUpstreamId.get(message.id);
    if (!gathering) return false;
    this.byUpstreamId.delete(message.id);
    if ('error' in message) {
      // The gateway's own error, as it is, under the client's id.
      this.toClient({ ...message, id: gathering.clientId });
      return true;
    }
    const result = message.result as Params;
    const page = result[gathering.key];
    if (!Array.isArray(page)) {
      this.fail(gathering, `The gateway answered ${gathering.method} page ${gathering.pages} without a "${gathering.key}" array.`);
      return true;
    }
    gathering.items.push(...page);
    const cursor = result.nextCursor;
    if (typeof cursor !== 'string') {
      const { nextCursor: _last, ...rest } = result;
      this.toClient({ jsonrpc: '2.0', id: gathering.clientId, result: { ...rest, [gathering.key]: gathering.items } });
      return true;
    }
    if (gathering.pages >= this.limits.maxPages || gathering.items.length >= this.limits.maxItems) {
      this.fail(
        gathering,
        `${gathering.method} is longer than the bridge gathers (${this.limits.maxPages} pages or ${this.limits.maxItems} items; ${gathering.items.length} items in ${gathering.pages} pages so far). ` +
          'Send the request with a cursor to page through it yourself, or narrow the list with a curated view (/views/{name}/mcp).',
      );
      return true;
    }
    this.request(gathering, cursor);
    return true;
  }

  private request(gathering: Gathering, cursor: string | undefined): void {
    const id = `manifold-bridge-list-${this.nextId++}`;
    gathering.pages += 1;
    this.byUpstreamId.set(id, gathering);
    const params = cursor === undefined ? gathering.params : { ...gathering.params, cursor };
    this.toGateway({ jsonrpc: '2.0', id, method: gathering.method, ...(Object.keys(params).length > 0 ? { params } : {}) }).catch((error: unknown) => {
      if (!this.byUpstreamId.delete(id)) return;
      const detail = error instanceof Error ? error.message : String(error);
      this.fail(gathering, `The gateway did not accept the request for ${gathering.method} page ${gathering.pages}: ${detail}`);
    });
  }

  /** notifications/cancelled for a list being gathered: cancel the page in flight under its own id. */
  private cancelled(message: JSONRPCMessage): boolean {
    if (!('method' in message) || message.method !== 'notifications/cancelled' || !isObject(message.params)) return false;
    const { requestId } = message.params;
    for (const [upstreamId, gathering] of this.byUpstreamId) {
      if (gathering.clientId !== requestId) continue;
      this.byUpstreamId.delete(upstreamId);
      void this.toGateway({ ...message, params: { ...message.params, requestId: upstreamId } }).catch(() => undefined);
      return true;
    }
    return false;
  }

  private fail(gathering: Gathering, message: string): void {
    this.toClient({ jsonrpc: '2.0', id: gathering.clientId, error: { code: -32603, message } });
  }
}
