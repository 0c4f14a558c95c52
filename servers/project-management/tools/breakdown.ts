import { createHash } from 'node:crypto';
import {
  inputRequired,
  inputResponse,
  type CreateMessageRequestParams,
  type CreateMessageResult,
  type CreateMessageResultWithTools,
} from '@modelcontextprotocol/server';
import { z } from 'zod';
import { clientCapabilitiesOf } from '../../../shared/clientCapabilities.js';
import { DomainError } from '../../../shared/errors.js';
import { relatedRequestMeta } from '../../../shared/relatedRequestMeta.js';
import { guardTool, toolSuccess } from '../../../shared/toolResult.js';
import type { PendingInput, ServerContext } from '../context.js';
import { LIMITS, parseTaskId, schemas, TASK_PRIORITIES } from '../domain.js';
import { taskLine, taskView, toTaskView } from '../views.js';

const MAX_SUBTASKS = 10;
const SUBTASK_DESCRIPTION_MAX = 2000;

const suggestedSubtask = z.object({
  title: z.string(),
  description: z.string().optional(),
  priority: z.enum(TASK_PRIORITIES).optional(),
});

/**
 * Pull the JSON array out of a model's answer: it may be bare, fenced in ```json, or
 * wrapped in prose. Anything else is a clear error rather than a guess.
 */
export function parseSuggestedSubtasks(text: string): Array<z.infer<typeof suggestedSubtask>> {
  const fenced = /```(?:json)?\s*([\s\S]*?)```/.exec(text)?.[1];
  const candidate = fenced ?? text.slice(text.indexOf('['), text.lastIndexOf(']') + 1);
  let parsed: unknown;
  try {
    parsed = JSON.parse(candidate);
  } catch {
    throw new DomainError('unavailable', "The client's model did not answer with a JSON array of sub-tasks.", {
      action: 'Try again, or use the task_breakdown prompt and create the tasks with create_task.',
    });
  }
  const list = z.array(z.unknown()).safeParse(parsed);
  if (!list.success) {
    throw new DomainError('unavailable', "The client's model answered with JSON that is not a list of sub-tasks.", {
      action: 'Try again, or create the tasks with create_task.',
    });
  }
  return list.data.flatMap((item) => {
    const one = suggestedSubtask.safeParse(item);
    return one.success ? [one.data] : [];
  });
}

function clip(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex -- control characters are replaced on purpose
  const clean = text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, ' ').trim();
  return clean.length <= max ? clean : `${clean.slice(0, max - 1)}…`;
}

/** The key of the sampling request in `inputRequests` / `inputResponses`. */
const SAMPLING_KEY = 'breakdown';

/** A digest of the arguments, so a state minted for one call cannot finish another. */
function argumentsDigest(args: Record<string, unknown>): string {
  return createHash('sha256')
    .update(JSON.stringify(Object.entries(args).sort(([a], [b]) => a.localeCompare(b))))
    .digest('base64url');
}

/** The text of a sampling answer (a single content block, or the first text block of several). */
function samplingText(result: CreateMessageResult | CreateMessageResultWithTools): string {
  const blocks: ReadonlyArray<{ type: string; text?: unknown }> = Array.isArray(result.content) ? result.content : [result.content];
  const text = blocks.find((block) => block.type === 'text')?.text;
  return typeof text === 'string' ? text : '';
}

export function registerBreakdownTool(ctx: ServerContext): void {
  const { server, store, logger } = ctx;

  server.registerTool(
    'generate_task_breakdown',
    {
      title: 'Generate task breakdown',
      description:
        "Break an objective into concrete sub-tasks using the client's model (MCP sampling; the user may be asked to approve) and store them. " +
        'Required: objective (1-2,000 characters). Optional: project key, parent (an existing top-level task id to attach the sub-tasks to; otherwise a parent task is created from the objective), ' +
        `max_subtasks (1-${MAX_SUBTASKS}, default 5). One level of nesting only. Returns the parent and the created sub-tasks. ` +
        'If the client cannot sample, it fails with a clear message: then use the task_breakdown prompt and create_task instead.',
      inputSchema: z.strictObject({
        objective: z
          .string()
          .trim()
          .min(1, 'objective must not be empty')
          .max(2000, 'objective must be at most 2,000 characters')
          .describe('What should be achieved.'),
        project: schemas.projectKey.optional().describe(`Project key; defaults to "${ctx.defaultProject}" or the parent's project.`),
        parent: schemas.taskId.optional().describe('Existing top-level task to put the sub-tasks under.'),
        max_subtasks: z
          .number()
          .int()
          .min(1)
          .max(MAX_SUBTASKS, `max_subtasks must be at most ${MAX_SUBTASKS}`)
          .optional()
          .describe('Most sub-tasks to create, default 5.'),
      }),
      outputSchema: z.object({ parent: taskView, subtasks: z.array(taskView) }),
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    guardTool(logger, 'generate_task_breakdown', async (args, extra) => {
      const caller = ctx.callerOf(extra.mcpReq._meta);
      const max = args.max_subtasks ?? 5;
      const parentTask = args.parent ? await store.getTask(parseTaskId(args.parent, 'parent')) : undefined;
      const project = args.project ?? parentTask?.project ?? ctx.defaultProject;
      const digest = argumentsDigest(args);

      // Written once for both protocol eras (MCP 2026-07-28 multi round-trip requests): the first
      // round returns input_required with a sampling request, and the retry brings the answer.
      // A 2025 client gets the same request as a real sampling/createMessage (the SDK's legacy shim).
      const pending = extra.mcpReq.requestState<PendingInput>();
      const answer = pending === undefined ? undefined : inputResponse(extra.mcpReq.inputResponses, SAMPLING_KEY);
      if (pending !== undefined && (pending.tool !== 'generate_task_breakdown' || pending.arguments !== digest)) {
        throw new DomainError('invalid_input', 'The requestState of this call was issued for another call, so nothing was created.', {
          action: 'Call generate_task_breakdown again without requestState to start over.',
        });
      }
      if (answer === undefined || answer.kind === 'missing') {
        if (!clientCapabilitiesOf(extra, caller).sampling) {
          throw new DomainError('unsupported', 'This client does not support sampling, so the server cannot ask its model for a breakdown.', {
            action: "Use the task_breakdown prompt to plan the sub-tasks, then create each with create_task (parent set to the objective's task).",
          });
        }
        const request: CreateMessageRequestParams = {
          systemPrompt:
            'You plan software work. Answer with only a JSON array, no prose. Each element: ' +
            '{"title": string (at most 200 characters, imperative), "description": string (at most 2 sentences), "priority": "low"|"medium"|"high"|"urgent"}.',
          messages: [
            {
              role: 'user',
              content: { type: 'text', text: `Break this objective into at most ${max} concrete, independent sub-tasks:\n\n${args.objective}` },
            },
          ],
          maxTokens: 1200,
          includeContext: 'none',
          // Echo the gateway's correlation keys so it routes this request to the session whose call caused it.
          _meta: relatedRequestMeta(extra.mcpReq._meta),
        };
        return inputRequired({
          inputRequests: { [SAMPLING_KEY]: inputRequired.createMessage(request) },
          requestState: await ctx.pendingInput.mint({ tool: 'generate_task_breakdown', arguments: digest }, extra),
        });
      }
      if (answer.kind !== 'sampling') {
        throw new DomainError(
          'unavailable',
          `The client answered the sampling request with ${answer.kind === 'elicit' ? 'an elicitation' : 'roots'}, so nothing was created.`,
          {
            action: 'Approve the sampling request in the client, or use the task_breakdown prompt and create_task instead.',
          },
        );
      }
      const suggestions = parseSuggestedSubtasks(samplingText(answer.result))
        .map((s) => ({ ...s, title: clip(s.title, LIMITS.titleMax) }))
        .filter((s) => s.title.length > 0)
        .slice(0, max);
      if (suggestions.length === 0) {
        throw new DomainError('unavailable', "The client's model suggested no usable sub-tasks.", {
          action: 'Rephrase the objective more concretely and try again.',
        });
      }

      const { parent, subtasks } = await store.createBreakdown(
        parentTask ? { existingId: parseTaskId(parentTask.id) } : { project, title: clip(args.objective, LIMITS.titleMax), description: args.objective },
        suggestions.map((s) => ({ title: s.title, description: clip(s.description ?? '', SUBTASK_DESCRIPTION_MAX), priority: s.priority })),
        caller.user,
      );
      return toolSuccess(`Created ${subtasks.length} sub-task(s) under ${parent.id}:\n${subtasks.map(taskLine).join('\n')}`, {
        parent: toTaskView(parent),
        subtasks: subtasks.map(toTaskView),
      });
    }),
  );
}
