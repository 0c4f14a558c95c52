import type { ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import type { CallerContext } from '../../shared/callerContext.js';
import { DomainError } from '../../shared/errors.js';
import type { CallerIdentity } from '../auth/authenticate.js';
import type { CatalogView } from '../catalog/upstreamCatalog.js';
import { callerOf } from './clientSession.js';
import { relayedExtensionsOf } from './relayedExtensions.js';
import type { BridgedCall } from './bridgedCall.js';
import type { RequestingClient } from '../calls/requestingClient.js';

let nextRequest = 0;

/**
 * The caller and scope set of an identity, made once per identity: the authenticator hands a
 * keep-alive connection presenting the same token the same identity object, so a client's
 * requests do not each build them again.
 */
const derived = new WeakMap<CallerIdentity, { caller: CallerContext; grantedScopes: ReadonlySet<string> }>();

function derivedFrom(identity: CallerIdentity): { caller: CallerContext; grantedScopes: ReadonlySet<string> } {
  let found = derived.get(identity);
  if (!found) {
    found = { caller: callerOf(identity, undefined), grantedScopes: new Set(identity.scopes) };
    derived.set(identity, found);
  }
  return found;
}

/**
 * The client behind one 2026-07-28 request: there is no session, so it is made for the request
 * and gone with its answer. Its capabilities are those its request declared in `_meta`.
 */
export class ModernRequestClient implements RequestingClient {
  readonly era = 'modern' as const;
  readonly id: string;
  readonly caller: CallerContext;
  readonly grantedScopes: ReadonlySet<string>;
  /**
   * The bridged call this request runs (tools/call, prompts/get or resources/read on a
   * 2025-era upstream): what the upstream asks during it waits there for an input_required round.
   */
  inputs: BridgedCall | undefined = undefined;

  constructor(
    readonly view: CatalogView,
    identity: CallerIdentity,
    private readonly declared: Record<string, unknown>,
  ) {
    this.id = `r${(++nextRequest).toString(36)}`;
    ({ caller: this.caller, grantedScopes: this.grantedScopes } = derivedFrom(identity));
  }

  clientCapabilities(): ClientCapabilities {
    return this.declared as ClientCapabilities;
  }

  /** On one upstream alone, the extensions the client declared that the gateway relays (relayedExtensions.ts). */
  relayedClientExtensions(): Record<string, object> | undefined {
    return this.view.namespace === undefined ? undefined : relayedExtensionsOf(this.declared.extensions);
  }

  /**
   * A 2026-07-28 client cannot be sent a request: what a 2025-era upstream asks during a bridged
   * call waits in the call for the client's next round. Outside one (a step of a composite tool,
   * completion) it is refused at once, with the reason, so the upstream ends the call instead of waiting.
   */
  requestClient(
    request: { method: string; params?: Record<string, unknown> | undefined },
    _relatedRequestId: unknown,
    options: { upstream: string; signal?: AbortSignal },
  ): Promise<Record<string, unknown>> {
    if (this.inputs)
      return this.inputs.ask(request.params === undefined ? { method: request.method } : { method: request.method, params: request.params }, options.signal);
    return Promise.reject(
      new DomainError(
        'unsupported',
        `Upstream "${options.upstream}" speaks an MCP revision before 2026-07-28 and sent ${request.method} during this call, but the calling client speaks 2026-07-28, which has no server-to-client requests, and the gateway holds such requests only for tools/call, prompts/get and resources/read.`,
        { action: 'Call the tool directly rather than through this request, or from a 2025-11-25 client.' },
      ),
    );
  }
}
