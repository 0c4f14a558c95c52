import { ErrorCode, type Progress } from '@modelcontextprotocol/sdk/types.js';
import { DomainError, toolFailure } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { AccessPolicy } from '../auth/accessPolicy.js';
import { INSUFFICIENT_SCOPE } from '../auth/scopeGate.js';
import { missingScopes } from '../auth/scopePolicy.js';
import { paginate } from '../catalog/cursor.js';
import type { ResourceReadHandler } from '../calls/resourceReadPipeline.js';
import type { ToolCallHandler } from '../calls/toolCallPipeline.js';
import type { Cancellation } from '../upstreams/cancellation.js';
import type { Upstream } from '../upstreams/types.js';
import type { CompositeTools } from '../workflows/workflowRegistry.js';
import { fulfilOnSession, isInputRequired, type InputRound } from './inputRequiredOnSession.js';
import type { RelayedInputBinding, RelayedInputState } from './relayedInputState.js';
import { ModernRequestClient } from './modernRequestClient.js';
import type { ParkedCalls, ParkedOutcome, ParkRef } from './parkedCalls.js';
import type { RequestingClient } from '../calls/requestingClient.js';
import { RpcError, toRpcError } from '../calls/rpcError.js';
import { toolResultProblem } from './toolCallHandler.js';
import { listResourcesLive, resolveUriOrThrow, rewriteBlock, rewriteContent } from './aggregatedResources.js';

export interface McpMethodDeps {
  pageSize: number;
  /** Which scopes tools, prompts and resources need: lists show only what the client may use. */
  access: AccessPolicy;
  separator: string;
  toolCall: ToolCallHandler;
  logger: Logger;
  /** resources/read through the policy pipeline (cache, limits, logs); forwarded directly when absent. */
  readResource?: ResourceReadHandler;
  /** Composite tools the gateway lists beside the upstreams' (aggregate view only). */
  composites?: CompositeTools;
  /** Seals the upstream's requestState for 2026 clients (multi round-trip calls). */
  relayedInput: RelayedInputState;
  /** Calls of 2026 clients to 2025-era upstreams, held between rounds for the clients' retries. */
  parkedCalls: ParkedCalls;
  /** For 2025 clients, the gateway asks an upstream's input requests itself: this many rounds, each waiting this long. */
  inputRounds: { maxRounds: number; roundTimeoutMs: number };
}

/** What a method needs of the request it answers, in either protocol era. */
export interface MethodRequest {
  /** The request's JSON-RPC id. */
  requestId: string | number;
  cancellation: Cancellation;
  /** Send a notification on this request's own stream (progress). */
  sendNotification: (notification: { method: string; params: Record<string, unknown> }) => Promise<void>;
  /** A tools/call's `Mcp-Param-*` headers that its tool does not declare, as the client sent them. */
  paramHeaders?: Readonly<Record<string, string>> | undefined;
}

type Params = Record<string, unknown>;
type Result = Record<string, unknown>;

/** A round of a 2026 client's retry: the answers, and the upstream's state or the parked call its requestState carried. */
type IncomingRound = InputRound & { park?: ParkRef };

/** Make a method's upstream call: with the round a retry brings, under `cancellation`, reporting `onprogress`. */
type StartRound = (inputRound: InputRound | undefined, cancellation: Cancellation, onprogress: ((progress: Progress) => void) | undefined) => Promise<Result>;

/**
 * The MCP methods the gateway answers for a client's view, the same for a 2025-era session
 * and a 2026-07-28 request: lists filtered by the caller's scopes, calls, reads and prompts
 * routed to their upstream under the upstream's own names, and namespaced names and URIs in
 * what comes back. Each method throws an RpcError (or returns a tool error result) a client
 * can act on.
 */
export class McpMethods {
  constructor(private readonly deps: McpMethodDeps) {}

  private mayReadNamespace(client: RequestingClient, namespace: string): boolean {
    return this.deps.access.allowsNamespace(client.grantedScopes, namespace);
  }

  listTools(client: RequestingClient, params: Params | undefined): Result {
    const { view } = client;
    const visible = view.tools().filter((tool) => this.deps.access.allowsTool(client.grantedScopes, view, tool.name));
    const { page, nextCursor } = paginate(visible, cursorOf(params), this.deps.pageSize);
    return nextCursor ? { tools: page, nextCursor } : { tools: page };
  }

  async callTool(client: RequestingClient, params: Params, request: MethodRequest): Promise<Result> {
    const { view } = client;
    const { access, composites } = this.deps;
    const name = params.name as string;
    const args = params.arguments as Params | undefined;
    const meta = params._meta as Params | undefined;
    const progressToken = meta?.progressToken;
    const onprogress =
      progressToken === undefined
        ? undefined
        : (progress: Progress) => void request.sendNotification({ method: 'notifications/progress', params: { ...progress, progressToken } });
    if (composites?.handles(view, name)) {
      const missing = missingScopes(client.grantedScopes, access.requirementOf(view, 'tools/call', params)?.scopes ?? []);
      if (missing.length > 0) throw new RpcError(INSUFFICIENT_SCOPE, `Forbidden: calling ${name} needs scope ${missing.join(' ')}.`);
      return composites.call({
        session: client,
        requestId: request.requestId,
        exposedName: name,
        arguments: args,
        cancellation: request.cancellation,
        onprogress,
      });
    }
    const target = view.resolveTool(name);
    const withheld = target ? undefined : view.withheldReason?.(name);
    if (withheld) throw new RpcError(ErrorCode.InvalidParams, `Tool "${name}" is withheld: ${withheld}.`);
    if (!target) {
      throw new RpcError(
        ErrorCode.InvalidParams,
        `Unknown tool "${name}".${view.namespace ? '' : ` Gateway tool names are <namespace>${this.deps.separator}<tool>;`} List them with tools/list.`,
      );
    }
    // Defence in depth: the HTTP layer refuses this with 403 before it gets here.
    if (!access.allowsTool(client.grantedScopes, view, name)) {
      const needed = access.requirementOf(view, 'tools/call', params)?.scopes.join(' ') ?? 'a scope the token lacks';
      throw new RpcError(INSUFFICIENT_SCOPE, `Forbidden: calling ${name} needs scope ${needed}.`);
    }
    try {
      const binding: RelayedInputBinding = { user: client.caller.user, upstream: target.upstream.namespace, method: 'tools/call', target: name };
      const call: StartRound = (inputRound, cancellation, progress) =>
        this.deps.toolCall({
          session: client,
          requestId: request.requestId,
          caller: client.caller,
          exposedName: name,
          target,
          arguments: args,
          meta,
          cancellation,
          onprogress: progress,
          ...(inputRound ? { inputRound } : {}),
          ...(request.paramHeaders ? { paramHeaders: request.paramHeaders } : {}),
        });
      const result = await this.rounds(client, params, binding, request, onprogress, target.upstream, call);
      // A CreateTaskResult (SEP-2663) passes on as it is: the tool's result comes later, inlined in tasks/get.
      if (isInputRequired(result) || result.resultType === 'task') return result;
      const malformed = toolResultProblem(result);
      if (malformed) {
        throw new DomainError('internal', `Upstream "${target.upstream.namespace}" answered ${name} with a malformed result: ${malformed}.`, {
          action: "The call may have taken effect; check before retrying, and report the upstream's result to its maintainers.",
        });
      }
      return rewriteContent(result.content === undefined ? { ...result, content: [] } : result, view, target.upstream.namespace);
    } catch (error) {
      if (error instanceof DomainError) return toolFailure(error);
      throw toRpcError(error);
    }
  }

  listPrompts(client: RequestingClient, params: Params | undefined): Result {
    const { view } = client;
    const visible = view.prompts().filter((prompt) => {
      const target = view.resolvePrompt(prompt.name);
      return target !== undefined && this.mayReadNamespace(client, target.upstream.namespace);
    });
    // Prompts that lead to composite tools show only to clients that may call those tools.
    for (const { prompt, tool } of this.deps.composites?.prompts(view) ?? []) {
      if (this.deps.access.allowsTool(client.grantedScopes, view, tool)) visible.push(prompt);
    }
    const { page, nextCursor } = paginate(visible, cursorOf(params), this.deps.pageSize);
    return nextCursor ? { prompts: page, nextCursor } : { prompts: page };
  }

  async getPrompt(client: RequestingClient, params: Params, request: MethodRequest): Promise<Result> {
    const { view } = client;
    const name = params.name as string;
    let composite;
    try {
      composite = this.deps.composites?.getPrompt(view, name, (params.arguments as Record<string, string> | undefined) ?? {});
    } catch (error) {
      throw toRpcError(error);
    }
    if (composite) {
      if (!this.deps.access.allowsTool(client.grantedScopes, view, composite.tool)) {
        throw new RpcError(INSUFFICIENT_SCOPE, `Forbidden: prompt ${name} leads to ${composite.tool}, which this token may not call.`);
      }
      return composite.result;
    }
    const target = view.resolvePrompt(name);
    if (!target) throw new RpcError(ErrorCode.InvalidParams, `Unknown prompt "${name}". List them with prompts/list.`);
    const binding: RelayedInputBinding = { user: client.caller.user, upstream: target.upstream.namespace, method: 'prompts/get', target: name };
    const get: StartRound = (inputRound, cancellation) =>
      forwardOrRpcError(target.upstream, 'prompts/get', { ...withoutInputRound(params), name: target.name, ...inputRound }, client, {
        ...request,
        cancellation,
      });
    const result = await this.roundsOrRpcError(client, params, binding, request, target.upstream, get);
    if (isInputRequired(result)) return result;
    const messages = result.messages;
    if (Array.isArray(messages) && !view.namespace) {
      result.messages = messages.map((message: { content?: unknown }) => ({
        ...message,
        content: rewriteBlock(message.content, view, target.upstream.namespace),
      }));
    }
    return result;
  }

  listResources(client: RequestingClient, params: Params | undefined, request: MethodRequest): Promise<Result> {
    return listResourcesLive(client, cursorOf(params), request.cancellation, this.deps.logger, (namespace) => this.mayReadNamespace(client, namespace));
  }

  listResourceTemplates(client: RequestingClient, params: Params | undefined): Result {
    const { view } = client;
    const visible = view.resourceTemplates().filter((template) => {
      const target = view.resolveUri(template.uriTemplate);
      return target !== undefined && this.mayReadNamespace(client, target.upstream.namespace);
    });
    const { page, nextCursor } = paginate(visible, cursorOf(params), this.deps.pageSize);
    return nextCursor ? { resourceTemplates: page, nextCursor } : { resourceTemplates: page };
  }

  async readResource(client: RequestingClient, params: Params, request: MethodRequest): Promise<Result> {
    const { view } = client;
    const exposedUri = params.uri as string;
    const target = resolveUriOrThrow(view, exposedUri, client.era);
    const binding: RelayedInputBinding = { user: client.caller.user, upstream: target.upstream.namespace, method: 'resources/read', target: exposedUri };
    const read: StartRound = (inputRound, cancellation) => {
      const forwarded = { ...withoutInputRound(params), uri: target.uri, ...inputRound };
      return this.deps.readResource
        ? this.deps
            .readResource({
              session: client,
              requestId: request.requestId,
              caller: client.caller,
              upstream: target.upstream,
              uri: target.uri,
              exposedUri,
              params: forwarded,
              cancellation,
            })
            .catch((error: unknown) => {
              throw toRpcError(error);
            })
        : forwardOrRpcError(target.upstream, 'resources/read', forwarded, client, { ...request, cancellation });
    };
    const result = await this.roundsOrRpcError(client, params, binding, request, target.upstream, read);
    if (isInputRequired(result)) return result;
    if (Array.isArray(result.contents) && !view.namespace) {
      result.contents = result.contents.map((content: { uri?: unknown }) =>
        typeof content.uri === 'string' ? { ...content, uri: view.exposeUri(target.upstream.namespace, content.uri) } : content,
      );
    }
    return result;
  }

  async complete(client: RequestingClient, params: Params, request: MethodRequest): Promise<Result> {
    const { view } = client;
    const ref = params.ref as { type: string; name?: string; uri?: string };
    if (ref.type === 'ref/prompt') {
      const target = view.resolvePrompt(ref.name ?? '');
      if (!target) throw new RpcError(ErrorCode.InvalidParams, `Unknown prompt "${ref.name ?? ''}".`);
      return forwardOrRpcError(target.upstream, 'completion/complete', { ...params, ref: { ...ref, name: target.name } }, client, request);
    }
    const target = resolveUriOrThrow(view, ref.uri ?? '', client.era);
    return forwardOrRpcError(target.upstream, 'completion/complete', { ...params, ref: { ...ref, uri: target.uri } }, client, request);
  }

  /** An extension method relayed as it is to the upstream of a single-upstream view (relayedExtensions.ts). */
  relay(client: RequestingClient, upstream: Upstream, method: string, params: Params, request: MethodRequest): Promise<Result> {
    if (!this.mayReadNamespace(client, upstream.namespace))
      throw new RpcError(INSUFFICIENT_SCOPE, `Forbidden: ${method} needs a scope that lets this token use "${upstream.namespace}".`);
    return forwardOrRpcError(upstream, method, params, client, request);
  }

  /**
   * A 2026 client's retry of a multi round-trip call carries the answers and the state the
   * gateway sealed: the upstream gets its own state back only if the seal holds for this
   * caller, upstream, method and target.
   */
  private incomingRound(client: RequestingClient, params: Params, binding: RelayedInputBinding): IncomingRound | undefined {
    if (client.era !== 'modern' || (params.requestState === undefined && params.inputResponses === undefined)) return undefined;
    const inputResponses = params.inputResponses;
    if (inputResponses !== undefined && (typeof inputResponses !== 'object' || inputResponses === null || Array.isArray(inputResponses))) {
      throw new RpcError(ErrorCode.InvalidParams, 'params.inputResponses must be an object of answers keyed as the inputRequests were.');
    }
    const round: IncomingRound = { inputResponses: (inputResponses ?? {}) as Record<string, unknown> };
    if (params.requestState === undefined) return round;
    if (typeof params.requestState !== 'string')
      throw new RpcError(ErrorCode.InvalidParams, 'params.requestState must be the string the previous answer gave, unchanged.');
    const opened = this.deps.relayedInput.open(params.requestState, binding);
    if (!opened.ok) {
      throw new RpcError(
        ErrorCode.InvalidParams,
        `Invalid or expired requestState (${opened.reason === 'expired' ? 'it has expired' : opened.reason === 'binding' ? 'it was issued for another call, upstream or user' : 'it is not one this gateway issued, or it was altered'}). Call again without requestState to start over.`,
        { reason: 'invalid_request_state' },
      );
    }
    if (opened.park) return { ...round, park: opened.park };
    return opened.inner === undefined ? round : { ...round, requestState: opened.inner };
  }

  /**
   * A call's rounds, up to the answer this request gets. A retry naming a parked call resumes
   * it (wherever it is parked); a 2026 client's call to a 2025-era upstream is bridged
   * (BridgedCall: what the upstream asks becomes an input_required round); any other call is
   * made once, an upstream's input_required sealed for a 2026 client or asked of a 2025 session.
   */
  private async rounds(
    client: RequestingClient,
    params: Params,
    binding: RelayedInputBinding,
    request: MethodRequest,
    onprogress: ((progress: Progress) => void) | undefined,
    upstream: Upstream,
    start: StartRound,
  ): Promise<Result> {
    const parked = this.deps.parkedCalls;
    const round = this.incomingRound(client, params, binding);
    if (round?.park) {
      return this.parkedAnswer(
        await parked.resume(round.park, client.caller.user, round.inputResponses, { cancellation: request.cancellation, onprogress }),
        binding,
      );
    }
    if (!(client instanceof ModernRequestClient) || upstream.era !== 'legacy') {
      const first = await start(round, request.cancellation, onprogress);
      return this.settleInputRequired(client, first, binding, request, (next) => start(next, request.cancellation, onprogress));
    }
    const call = parked.open(client.caller.user, { namespace: upstream.namespace, maxParked: Math.max(1, Math.floor(upstream.config.maxConcurrency / 2)) });
    client.inputs = call;
    call.run((cancellation, progress) => start(undefined, cancellation, progress));
    return this.parkedAnswer(await parked.drive(call, { cancellation: request.cancellation, onprogress }), binding);
  }

  /** The same, with any failure as a JSON-RPC error (prompts/get, resources/read). */
  private async roundsOrRpcError(
    client: RequestingClient,
    params: Params,
    binding: RelayedInputBinding,
    request: MethodRequest,
    upstream: Upstream,
    start: StartRound,
  ): Promise<Result> {
    try {
      return await this.rounds(client, params, binding, request, undefined, upstream, start);
    } catch (error) {
      throw toRpcError(error);
    }
  }

  /** A bridged call's round as the client's answer: the call's result, its failure, or input_required naming the parked call. */
  private parkedAnswer(outcome: ParkedOutcome, binding: RelayedInputBinding): Result {
    if (outcome.kind === 'done') return outcome.result;
    if (outcome.kind === 'failed') throw outcome.error;
    return { resultType: 'input_required', inputRequests: outcome.inputRequests, requestState: this.deps.relayedInput.seal(binding, undefined, outcome.call) };
  }

  /** An upstream's input_required: sealed for a 2026 client to answer itself; asked by the gateway of a 2025 session. */
  private async settleInputRequired(
    client: RequestingClient,
    result: Result,
    binding: RelayedInputBinding,
    request: MethodRequest,
    retry: (round: InputRound) => Promise<Result>,
  ): Promise<Result> {
    if (!isInputRequired(result)) return result;
    if (client.era === 'modern') {
      return { ...result, requestState: this.deps.relayedInput.seal(binding, typeof result.requestState === 'string' ? result.requestState : undefined) };
    }
    return fulfilOnSession(client, result, retry, {
      requestId: request.requestId,
      cancellation: request.cancellation,
      upstream: binding.upstream,
      ...this.deps.inputRounds,
    });
  }
}

/** Params without a client's round fields (the upstream gets its own, see incomingRound). */
function withoutInputRound(params: Params): Params {
  if (params.requestState === undefined && params.inputResponses === undefined) return params;
  const { requestState: _state, inputResponses: _responses, ...rest } = params;
  return rest;
}

function cursorOf(params: Params | undefined): string | undefined {
  const cursor = params?.cursor;
  return typeof cursor === 'string' ? cursor : undefined;
}

async function forwardOrRpcError(upstream: Upstream, method: string, params: Params, client: RequestingClient, request: MethodRequest): Promise<Result> {
  try {
    return await upstream.forward(
      method,
      params,
      { caller: client.caller, session: client, requestId: request.requestId },
      { cancellation: request.cancellation },
    );
  } catch (error) {
    throw toRpcError(error);
  }
}
