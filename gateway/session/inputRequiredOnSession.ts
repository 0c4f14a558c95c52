import { randomUUID } from 'node:crypto';
import { DomainError } from '../../shared/errors.js';
import type { Cancellation } from '../upstreams/cancellation.js';
import type { RequestingClient } from '../calls/requestingClient.js';

type Result = Record<string, unknown>;

/** One request an upstream embeds in an `input_required` result. */
interface EmbeddedRequest {
  method: string;
  params?: Record<string, unknown>;
}

/** The next round of a multi round-trip call: the answers, and the upstream's state echoed. */
export interface InputRound {
  inputResponses: Record<string, unknown>;
  requestState?: string;
}

export interface SessionRoundsOptions {
  /** The client's request the embedded requests ride on (its stream, on Streamable HTTP). */
  requestId: string | number;
  cancellation: Cancellation;
  upstream: string;
  /** Rounds before giving up (an upstream that never finishes). */
  maxRounds: number;
  /** How long one embedded request waits for the person at the client. */
  roundTimeoutMs: number;
}

const CAPABILITY_OF: Readonly<Record<string, string>> = {
  'sampling/createMessage': 'sampling',
  'elicitation/create': 'elicitation',
  'roots/list': 'roots',
};

export function isInputRequired(result: Result): boolean {
  return result.resultType === 'input_required';
}

/**
 * A 2026-07-28 upstream asks for input with `input_required`; a 2025-era client cannot read
 * that, but it can answer server→client requests. So the gateway asks the client each embedded
 * request (sampling, elicitation, roots) as a real request on the session, on the stream of the
 * client's call, and retries the upstream call with the answers and the upstream's state, round
 * after round, until the upstream answers for good. The same role the SDK's legacy shim plays
 * inside a server, played here across the gateway.
 */
export async function fulfilOnSession(
  client: RequestingClient,
  first: Result,
  retry: (round: InputRound) => Promise<Result>,
  options: SessionRoundsOptions,
): Promise<Result> {
  const declared = (client.clientCapabilities() ?? {}) as Record<string, unknown>;
  let current = first;
  for (let round = 1; isInputRequired(current); round++) {
    if (round > options.maxRounds) {
      throw new DomainError('unavailable', `Upstream "${options.upstream}" asked for input ${options.maxRounds} times without finishing the call.`, {
        action: "Report it to the upstream's maintainers; nothing more was asked of you.",
      });
    }
    const embedded = (current.inputRequests ?? {}) as Record<string, EmbeddedRequest>;
    for (const [key, request] of Object.entries(embedded)) {
      const capability = CAPABILITY_OF[request?.method];
      if (!capability) {
        throw new DomainError(
          'internal',
          `Upstream "${options.upstream}" asked for input "${key}" with ${String(request?.method)}, which is not an input request of MCP 2026-07-28.`,
        );
      }
      if (declared[capability] === undefined) {
        throw new DomainError(
          'unsupported',
          `Upstream "${options.upstream}" needs ${request.method} to go on, and this client did not declare the "${capability}" capability.`,
          {
            action: `Use a client that supports ${capability}, or call something that does not need it.`,
          },
        );
      }
    }
    const inputResponses: Record<string, unknown> = {};
    const abort = new AbortController();
    const stopListening = options.cancellation.onAbort((reason) => abort.abort(reason));
    try {
      await Promise.all(
        Object.entries(embedded).map(async ([key, request]) => {
          inputResponses[key] = await client.requestClient({ method: request.method, params: asLegacyRequest(request) }, options.requestId, {
            signal: abort.signal,
            timeoutMs: options.roundTimeoutMs,
            upstream: options.upstream,
          });
        }),
      );
    } catch (error) {
      abort.abort(error);
      if (options.cancellation.aborted) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new DomainError('unavailable', `The client did not answer what upstream "${options.upstream}" asked for (${reason}).`, {
        action: 'Answer the request in the client, or call again later; the upstream was told nothing more.',
      });
    } finally {
      stopListening();
    }
    current = await retry({ inputResponses, ...(typeof current.requestState === 'string' ? { requestState: current.requestState } : {}) });
  }
  return current;
}

/**
 * An embedded request as a 2025 client must receive it: a 2026-07-28 URL-mode elicitation has no
 * `elicitationId` (the revision correlates with requestState), which the 2025 shape requires, so
 * the gateway mints one (as the SDK's own legacy shim does).
 */
function asLegacyRequest(request: EmbeddedRequest): Record<string, unknown> | undefined {
  const params = request.params;
  if (request.method !== 'elicitation/create' || params?.mode !== 'url' || params.elicitationId !== undefined) return params;
  return { ...params, elicitationId: randomUUID() };
}
