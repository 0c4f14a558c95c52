import { McpError, type Progress, type RequestId, type ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { expectedAnnotations, type Domain, type DomainTool } from './domainTools.js';
import type { WorkflowManifest } from './workflowManifest.js';
import type { z } from 'zod';
import { DomainError, describeFailure, FAILURE_META_KEY, type FailureCode } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { AccessPolicy } from '../auth/accessPolicy.js';
import { grants } from '../auth/scopePolicy.js';
import { exposedName } from '../catalog/naming.js';
import type { UpstreamCatalog } from '../catalog/upstreamCatalog.js';
import { toRpcError } from '../calls/rpcError.js';
import type { ToolCallHandler } from '../calls/toolCallPipeline.js';
import type { RequestingClient } from '../calls/requestingClient.js';
import type { Cancellation } from '../upstreams/cancellation.js';
import type { WorkflowSettings } from './workflowSettings.js';

export interface WorkflowOutcome {
  /** The readable half of the result. */
  summary: string;
  structured: Record<string, unknown>;
}

/** A composite tool: its definition next to its steps and its handler. */
export interface Workflow<S extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  /** Written for a model: what it does, inputs and limits, result, when to use it. */
  description: string;
  input: S;
  output: z.ZodObject;
  annotations: ToolAnnotations;
  /** Every domain tool it may call, and how each acts: checked against the catalog at start. */
  manifest: WorkflowManifest;
  /**
   * The manifest's tools a call with these arguments may use (default: all of them); its
   * required scopes are the union of theirs. Undefined arguments mean the defaults.
   */
  stepTools?(args: z.output<S> | undefined, settings: WorkflowSettings): DomainTool[];
  run(run: WorkflowRun, args: z.output<S>): Promise<WorkflowOutcome>;
}

export function defineWorkflow<S extends z.ZodObject>(workflow: Workflow<S>): Workflow<S> {
  return workflow;
}

/** What a step runner needs from the gateway. */
export interface WorkflowDeps {
  settings: WorkflowSettings;
  catalog: UpstreamCatalog;
  access: AccessPolicy;
  /** The same pipeline every forwarded tools/call goes through. */
  toolCall: ToolCallHandler;
  separator: string;
  logger: Logger;
}

/** The client request that started a composite call. */
export interface CompositeOrigin {
  session: RequestingClient;
  requestId: RequestId;
  /** The composite's exposed name (`flow__create_task_from_issue`). */
  exposedName: string;
  cancellation: Cancellation;
  onprogress: ((progress: Progress) => void) | undefined;
}

/** A step that failed: which one, why (the upstream's own message and code), and what was done about it. */
export class StepFailure extends DomainError {
  constructor(
    readonly step: string,
    code: FailureCode,
    readonly reason: string,
    readonly aftermath?: string,
  ) {
    super(code, `Step "${step}" failed: ${reason}${aftermath ? ` ${aftermath}` : ''}`);
  }

  withAftermath(aftermath: string): StepFailure {
    return new StepFailure(this.step, this.code, this.reason, aftermath);
  }
}

/** A tool answered with `isError`: its message and stable code. */
export class UpstreamToolError extends DomainError {}

export interface ToolAnswer {
  structured: Record<string, unknown>;
  text: string;
}

/**
 * One run of a composite tool. Each step reports progress (when the client asked for it) and
 * calls upstream tools through the gateway's pipeline as the calling session: the caller's
 * identity and scopes, timeouts, concurrency limits and every policy middleware apply to each
 * step exactly as to a direct call.
 */
export class WorkflowRun {
  private done = 0;
  private currentStep = 'start';

  constructor(
    private readonly deps: WorkflowDeps,
    private readonly origin: CompositeOrigin,
    private readonly manifest: WorkflowManifest,
    /** Steps announced in progress notifications; a workflow may raise it once it knows more. */
    public totalSteps: number,
  ) {}

  get settings(): WorkflowSettings {
    return this.deps.settings;
  }

  get logger(): Logger {
    return this.deps.logger;
  }

  /** The gateway URI of an upstream resource (`docs+docs://…`). */
  exposeUri(domain: Domain, uri: string): string {
    return this.deps.catalog.exposeUri(this.deps.settings.upstreams[domain], uri);
  }

  /** Run one named step: progress first, and any failure becomes a StepFailure naming it. */
  async step<T>(name: string, message: string, body: () => Promise<T>): Promise<T> {
    this.currentStep = name;
    this.origin.onprogress?.({ progress: this.done, total: Math.max(this.totalSteps, this.done + 1), message });
    try {
      const value = await body();
      this.done += 1;
      return value;
    } catch (error) {
      throw toStepFailure(name, error);
    }
  }

  /** Report the end of the run. */
  finish(message: string): void {
    this.origin.onprogress?.({ progress: Math.max(this.totalSteps, this.done), total: Math.max(this.totalSteps, this.done), message });
  }

  /**
   * The calling client as its steps present it upstream: a composite's steps are the gateway's
   * calls on the user's behalf, with their own confirmations (tokens), so an upstream is told the
   * client can be asked for nothing: it then answers as it would to a client without sampling or
   * elicitation (delete_task gives a confirmation token) instead of asking mid-step.
   */
  private get stepSession(): RequestingClient {
    const session = this.origin.session;
    return {
      id: session.id,
      era: session.era,
      view: session.view,
      caller: session.caller,
      grantedScopes: session.grantedScopes,
      clientCapabilities: () => ({}),
      requestClient: (request, relatedRequestId, options) => session.requestClient(request, relatedRequestId, options),
    };
  }

  /**
   * Call a domain tool the manifest names. `fresh`: the answer decides a write, so it must be
   * the upstream's current one; the gateway's response cache is not consulted for it.
   */
  async tool(step: DomainTool, args: Record<string, unknown>, options: { fresh?: boolean } = {}): Promise<ToolAnswer> {
    const namespace = this.deps.settings.upstreams[step.domain];
    const upstream = this.deps.catalog.upstream(namespace);
    const name = exposedName(namespace, this.deps.separator, step.tool);
    if (!this.manifest.tools.some((t) => t.domain === step.domain && t.tool === step.tool)) {
      throw new DomainError('internal', `${this.origin.exposedName} called ${name}, which its manifest does not name.`);
    }
    if (!upstream)
      throw new DomainError('unavailable', `No upstream "${namespace}" is configured for ${name}.`, {
        action: 'Set workflows.upstreams in the gateway configuration.',
      });
    const listed = upstream.tools.find((tool) => tool.name === step.tool);
    if (!upstream.isToolAllowed(step.tool) || (!listed && upstream.state === 'ready')) {
      throw new DomainError('unavailable', `Tool ${name} is not available on upstream "${namespace}".`);
    }
    // Defence in depth: the composite's required scopes were checked before it started.
    const scope = this.deps.access.toolScope(namespace, listed ?? { name: step.tool, annotations: expectedAnnotations(step.access) });
    const { session } = this.origin;
    if (!grants(session.grantedScopes, scope)) throw new DomainError('forbidden', `Calling ${name} needs scope ${scope}.`);
    if (this.origin.cancellation.aborted) throw new DomainError('unavailable', 'The call was cancelled.');
    let result: Record<string, unknown>;
    try {
      result = await this.deps.toolCall({
        session: this.stepSession,
        requestId: this.origin.requestId,
        caller: session.caller,
        exposedName: name,
        target: { upstream, name: step.tool },
        arguments: args,
        meta: undefined,
        cancellation: this.origin.cancellation,
        onprogress: undefined,
        via: { tool: this.origin.exposedName, step: this.currentStep },
        ...(options.fresh ? { freshRead: true } : {}),
      });
    } catch (error) {
      if (error instanceof DomainError) throw error;
      if (error instanceof McpError || (error instanceof Error && typeof (error as { code?: unknown }).code === 'number')) {
        // The JSON-RPC error's own words, without the SDK's "MCP error <code>:" prefix (the client adds its own).
        throw new DomainError('unavailable', `${name}: ${toRpcError(error).message}`);
      }
      this.deps.logger.error({ err: error, tool: name, composite: this.origin.exposedName }, 'composite step failed unexpectedly');
      throw new DomainError('internal', `${name}: ${describeFailure(error).message}`);
    }
    const text = Array.isArray(result.content)
      ? (result.content as Array<{ type?: unknown; text?: unknown }>)
          .map((block) => (block.type === 'text' && typeof block.text === 'string' ? block.text : ''))
          .join('\n')
      : '';
    if (result.isError === true) {
      const failure = (result._meta as Record<string, unknown> | undefined)?.[FAILURE_META_KEY] as { code?: FailureCode; message?: string } | undefined;
      throw new UpstreamToolError(failure?.code ?? 'unavailable', `${name} answered: ${failure?.message ?? text.replace(/^Error \([a-z_]+\): /, '')}`);
    }
    if (result.resultType === 'input_required') {
      throw new UpstreamToolError('unsupported', `${name} asked for input in the middle of ${this.origin.exposedName}, which a composite step cannot pass on.`);
    }
    const structured = result.structuredContent;
    return { structured: typeof structured === 'object' && structured !== null ? (structured as Record<string, unknown>) : {}, text };
  }
}

function toStepFailure(step: string, error: unknown): StepFailure {
  if (error instanceof StepFailure) return error;
  if (error instanceof DomainError) return new StepFailure(step, error.code, error.clientMessage);
  const failure = describeFailure(error);
  return new StepFailure(step, failure.code, failure.message);
}
