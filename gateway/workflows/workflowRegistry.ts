import type { CallToolResult, GetPromptResult, Prompt, Tool } from '@modelcontextprotocol/sdk/types.js';
import { WORKFLOW_PROMPTS } from './workflowPrompts.js';
import { z } from 'zod';
import { DomainError, toolFailure } from '../../shared/errors.js';
import type { VirtualToolScopes } from '../auth/accessPolicy.js';
import type { CatalogView, VirtualToolSource } from '../catalog/upstreamCatalog.js';
import { createTaskFromIssue } from './createTaskFromIssue.js';
import { syncTaskWithIssue } from './syncTaskWithIssue.js';
import { taskContext } from './taskContext.js';
import { triageIssues } from './triageIssues.js';
import { expectedAnnotations, type DomainTool } from './domainTools.js';
import { manifestProblem } from './workflowManifest.js';
import { StepFailure, WorkflowRun, type CompositeOrigin, type Workflow, type WorkflowDeps } from './workflowRun.js';

/** What session handlers need to list and call composite tools. */
export interface CompositeTools {
  handles(view: CatalogView, exposedName: string): boolean;
  call(origin: CompositeOrigin & { arguments: Record<string, unknown> | undefined }): Promise<CallToolResult>;
  /** Prompts that lead to composite tools, each with the exposed name of its tool (aggregate view only). */
  prompts(view: CatalogView): Array<{ prompt: Prompt; tool: string }>;
  /** The prompt's messages, or undefined when `exposedName` is not a composite prompt of this view. */
  getPrompt(view: CatalogView, exposedName: string, args: Record<string, string>): { result: GetPromptResult; tool: string } | undefined;
}

const WORKFLOWS: readonly Workflow[] = [createTaskFromIssue, taskContext, triageIssues, syncTaskWithIssue] as unknown as Workflow[];

/** The `_meta` key listing a composite's steps and required scopes in tools/list. */
export const COMPOSITE_META_KEY = 'io.manifold/composite';

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Tool['inputSchema'] {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, target: 'draft-7', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest as Tool['inputSchema'];
}

/**
 * The composite tools: listed in the aggregate under their own namespace (`flow__…`),
 * authorized with the union of their steps' scopes, and run step by step through the
 * gateway's own tool-call pipeline as the calling session.
 */
export class WorkflowRegistry implements VirtualToolSource, VirtualToolScopes, CompositeTools {
  readonly namespace: string;
  private readonly byName = new Map<string, Workflow>();
  /** Why each workflow that cannot run now is unavailable (its manifest against the catalog). */
  private unavailable = new Map<string, string>();

  constructor(private readonly deps: WorkflowDeps) {
    this.namespace = deps.settings.namespace;
    for (const workflow of WORKFLOWS) this.byName.set(workflow.name, workflow);
    this.checkManifests();
  }

  /**
   * Each workflow's manifest against the catalog: at start (configured upstreams, their tool
   * filters) and again whenever the catalog is rebuilt (tools an upstream lists, or withholds).
   * A workflow whose tools are missing is not listed, a call to it says why, and the gateway
   * logs a warning naming the missing tool each time that changes; the gateway and the other
   * workflows keep running.
   */
  private checkManifests(): void {
    const now = new Map<string, string>();
    for (const workflow of WORKFLOWS) {
      const problem = manifestProblem(workflow.manifest, this.deps.settings, this.deps.catalog, this.deps.separator);
      if (problem) now.set(workflow.name, problem);
    }
    for (const [name, problem] of now) {
      if (this.unavailable.get(name) !== problem)
        this.deps.logger.warn({ composite: this.exposed(name), problem }, `composite tool ${this.exposed(name)} is unavailable: ${problem}`);
    }
    for (const name of this.unavailable.keys()) {
      if (!now.has(name)) this.deps.logger.info({ composite: this.exposed(name) }, `composite tool ${this.exposed(name)} is available again`);
    }
    this.unavailable = now;
  }

  /** Why the workflow cannot run now, or undefined when it can. */
  unavailableReason(name: string): string | undefined {
    return this.unavailable.get(name);
  }

  private stepToolsOf(workflow: Workflow, args: Record<string, unknown> | undefined): readonly DomainTool[] {
    return workflow.stepTools ? workflow.stepTools(args, this.deps.settings) : workflow.manifest.tools;
  }

  tools(): readonly Tool[] {
    // Called by the catalog on every rebuild: the moment to look at what the upstreams offer now.
    this.checkManifests();
    return WORKFLOWS.filter((workflow) => !this.unavailable.has(workflow.name)).map((workflow) => ({
      name: workflow.name,
      title: workflow.title,
      description: workflow.description,
      inputSchema: jsonSchema(workflow.input, 'input'),
      outputSchema: jsonSchema(workflow.output, 'output') as Tool['outputSchema'],
      annotations: workflow.annotations,
      _meta: {
        [COMPOSITE_META_KEY]: {
          steps: [...new Set(this.stepToolsOf(workflow, undefined).map((s) => `${this.deps.settings.upstreams[s.domain]}${this.deps.separator}${s.tool}`))],
        },
      },
    }));
  }

  private workflowOf(view: CatalogView, exposedName: string): Workflow | undefined {
    if (view.namespace !== undefined) return undefined;
    // A curated view may show a composite under another name, and shows only what it lists.
    const aggregateName = view.aggregateName ? view.aggregateName(exposedName) : exposedName;
    if (aggregateName === undefined) return undefined;
    const name = this.deps.catalog.resolveVirtualTool(aggregateName);
    if (name !== undefined) return this.byName.get(name);
    // An unavailable workflow is not listed, but a call to it gets its reason, not "unknown tool".
    if (view.aggregateName) return undefined;
    const unlisted = WORKFLOWS.find((workflow) => this.unavailable.has(workflow.name) && this.exposed(workflow.name) === aggregateName);
    return unlisted;
  }

  prompts(view: CatalogView): Array<{ prompt: Prompt; tool: string }> {
    if (view.namespace !== undefined || view.aggregateName) return [];
    return WORKFLOW_PROMPTS.map((p) => ({
      prompt: { name: this.exposed(p.name), ...p.definition },
      tool: this.exposed(p.tool),
    }));
  }

  getPrompt(view: CatalogView, exposedName: string, args: Record<string, string>): { result: GetPromptResult; tool: string } | undefined {
    const entry = this.prompts(view).find((p) => p.prompt.name === exposedName);
    const definition = WORKFLOW_PROMPTS.find((p) => this.exposed(p.name) === exposedName);
    if (!entry || !definition) return undefined;
    const missing = (definition.definition.arguments ?? []).filter((a) => a.required && !args[a.name]?.trim()).map((a) => a.name);
    if (missing.length > 0)
      throw new DomainError('invalid_input', `Prompt ${exposedName} needs ${missing.map((m) => `"${m}"`).join(', ')}.`, {
        action: 'Pass the missing arguments.',
      });
    return { result: definition.build(args, entry.tool), tool: entry.tool };
  }

  /** The name a workflow is listed under (`flow__create_task_from_issue`). */
  exposed(name: string): string {
    return `${this.namespace}${this.deps.separator}${name}`;
  }

  handles(view: CatalogView, exposedName: string): boolean {
    return this.workflowOf(view, exposedName) !== undefined;
  }

  /** The union of the scopes of the steps a call with `args` may run (the defaults when they do not parse). */
  scopesOf(view: CatalogView, exposedName: string, args: Record<string, unknown> | undefined): string[] | undefined {
    const workflow = this.workflowOf(view, exposedName);
    if (!workflow) return undefined;
    const parsed = args === undefined ? undefined : workflow.input.safeParse(args);
    const steps = this.stepToolsOf(workflow, parsed?.success ? parsed.data : undefined);
    const scopes = steps.map((step) => {
      const namespace = this.deps.settings.upstreams[step.domain];
      const listed = this.deps.catalog.upstream(namespace)?.tools.find((tool) => tool.name === step.tool);
      return this.deps.access.toolScope(namespace, listed ?? { name: step.tool, annotations: expectedAnnotations(step.access) });
    });
    return [...new Set(scopes)].sort();
  }

  async call(origin: CompositeOrigin & { arguments: Record<string, unknown> | undefined }): Promise<CallToolResult> {
    const workflow = this.workflowOf(origin.session.view, origin.exposedName);
    if (!workflow) return toolFailure(new DomainError('not_found', `Unknown composite tool "${origin.exposedName}".`));
    const unavailable = this.unavailable.get(workflow.name);
    if (unavailable) {
      return toolFailure(
        new DomainError('unavailable', `${origin.exposedName} is unavailable: ${unavailable}.`, {
          action: 'Nothing was done. An operator can fix the gateway configuration; the other tools work.',
        }),
      );
    }
    const parsed = workflow.input.safeParse(origin.arguments ?? {});
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(arguments)'}: ${issue.message}`).join('; ');
      return toolFailure(
        new DomainError('invalid_input', `Invalid arguments for ${origin.exposedName}: ${problems}.`, { action: 'Fix them and call again; nothing was done.' }),
      );
    }
    const run = new WorkflowRun(this.deps, origin, workflow.manifest, 1);
    const started = Date.now();
    try {
      const outcome = await workflow.run(run, parsed.data);
      this.deps.logger.info({ composite: origin.exposedName, user: origin.session.caller.user, ms: Date.now() - started }, 'composite tool done');
      return { content: [{ type: 'text', text: outcome.summary }], structuredContent: outcome.structured };
    } catch (error) {
      const failure = error instanceof DomainError ? error : new StepFailure('unknown', 'internal', 'an unexpected error');
      if (!(error instanceof DomainError)) this.deps.logger.error({ err: error, composite: origin.exposedName }, 'composite tool failed unexpectedly');
      this.deps.logger.warn(
        { composite: origin.exposedName, user: origin.session.caller.user, step: (failure as StepFailure).step, code: failure.code },
        'composite tool failed',
      );
      const result = toolFailure(failure);
      if (failure instanceof StepFailure) {
        const meta = result._meta as Record<string, Record<string, unknown>>;
        for (const value of Object.values(meta)) Object.assign(value, { step: failure.step, ...(failure.aftermath ? { aftermath: failure.aftermath } : {}) });
      }
      return result;
    }
  }
}
