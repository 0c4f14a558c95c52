import type { ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import type { CallerContext } from '../../shared/callerContext.js';
import { DomainError } from '../../shared/errors.js';
import type { CallerIdentity } from '../auth/authenticate.js';
import type { CatalogView } from '../catalog/upstreamCatalog.js';
import { callerOf } from './clientSession.js';
import { relayedExtensionsOf } from './relayedExtensions.js';
import type { RequestingClient } from './requestingClient.js';

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
   * A 2026-07-28 client cannot be sent a request: an upstream that asks for sampling,
   * elicitation or roots during its call must say so with input_required, which 2025 upstreams
   * do not know. Refused at once, with the reason, so the upstream ends the call instead of waiting.
   */
  requestClient(request: { method: string }, _relatedRequestId: unknown, options: { upstream: string }): Promise<Record<string, unknown>> {
    return Promise.reject(
      new DomainError(
        'unsupported',
        `Upstream "${options.upstream}" speaks an MCP revision before 2026-07-28 and sent ${request.method} during this call, but the calling client speaks 2026-07-28, which has no server-to-client requests; the gateway does not bridge that yet.`,
        { action: 'Call the tool from a 2025-11-25 client, or from a client whose requests the upstream does not need to ask back.' },
      ),
    );
  }
}
