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

  constructor(private readonly deps: WorkflowDeps) {
    this.namespace = deps.settings.namespace;
    for (const workflow of WORKFLOWS) this.byName.set(workflow.name, workflow);
  }

  tools(): readonly Tool[] {
    return WORKFLOWS.map((workflow) => ({
      name: workflow.name,
      title: workflow.title,
      description: workflow.description,
      inputSchema: jsonSchema(workflow.input, 'input'),
      outputSchema: jsonSchema(workflow.output, 'output') as Tool['outputSchema'],
      annotations: workflow.annotations,
      _meta: {
        [COMPOSITE_META_KEY]: {
          steps: [...new Set(workflow.stepTools(undefined, this.deps.settings).map((s) => `${this.deps.settings.upstreams[s.domain]}${this.deps.separator}${s.tool}`))],
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
    return name === undefined ? undefined : this.byName.get(name);
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
    if (missing.length > 0) throw new DomainError('invalid_input', `Prompt ${exposedName} needs ${missing.map((m) => `"${m}"`).join(', ')}.`, { action: 'Pass the missing arguments.' });
    return { result: definition.build(args, entry.tool), tool: entry.tool };
  }

  private exposed(name: string): string {
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
    const steps = workflow.stepTools(parsed?.success ? parsed.data : undefined, this.deps.settings);
    const scopes = steps.map((step) => {
      const namespace = this.deps.settings.upstreams[step.domain];
      const listed = this.deps.catalog.upstream(namespace)?.tools.find((tool) => tool.name === step.tool);
      return this.deps.access.toolScope(namespace, listed ?? { name: step.tool, annotations: step.expected });
    });
    return [...new Set(scopes)].sort();
  }

  async call(origin: CompositeOrigin & { arguments: Record<string, unknown> | undefined }): Promise<CallToolResult> {
    const workflow = this.workflowOf(origin.session.view, origin.exposedName);
    if (!workflow) return toolFailure(new DomainError('not_found', `Unknown composite tool "${origin.exposedName}".`));
    const parsed = workflow.input.safeParse(origin.arguments ?? {});
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(arguments)'}: ${issue.message}`).join('; ');
      return toolFailure(new DomainError('invalid_input', `Invalid arguments for ${origin.exposedName}: ${problems}.`, { action: 'Fix them and call again; nothing was done.' }));
    }
    const run = new WorkflowRun(this.deps, origin, 1);
    const started = Date.now();
    try {
      const outcome = await workflow.run(run, parsed.data);
      this.deps.logger.info({ composite: origin.exposedName, user: origin.session.caller.user, ms: Date.now() - started }, 'composite tool done');
      return { content: [{ type: 'text', text: outcome.summary }], structuredContent: outcome.structured };
    } catch (error) {
      const failure = error instanceof DomainError ? error : new StepFailure('unknown', 'internal', 'an unexpected error');
      if (!(error instanceof DomainError)) this.deps.logger.error({ err: error, composite: origin.exposedName }, 'composite tool failed unexpectedly');
      this.deps.logger.warn({ composite: origin.exposedName, user: origin.session.caller.user, step: (failure as StepFailure).step, code: failure.code }, 'composite tool failed');
      const result = toolFailure(failure);
      if (failure instanceof StepFailure) {
        const meta = result._meta as Record<string, Record<string, unknown>>;
        for (const value of Object.values(meta)) Object.assign(value, { step: failure.step, ...(failure.aftermath ? { aftermath: failure.aftermath } : {}) });
      }
      return result;
    }
  }
}
