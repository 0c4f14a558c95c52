import {
  inputRequired,
  inputResponse,
  type CallToolResult,
  type InputRequiredResult,
  type ServerContext as RequestContext,
} from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { CallerContext } from '../../../shared/callerContext.js';
import { clientCapabilitiesOf } from '../../../shared/clientCapabilities.js';
import { DomainError, invalidInput } from '../../../shared/errors.js';
import { relatedRequestMeta } from '../../../shared/relatedRequestMeta.js';
import { guardTool, toolSuccess } from '../../../shared/toolResult.js';
import type { PendingInput, ServerContext } from '../context.js';
import { LIMITS, parseTaskId, schemas, STATUS_TRANSITIONS, TASK_PRIORITIES, TASK_STATUSES } from '../domain.js';
import { activityView, taskLine, taskView, toActivityView, toTaskView } from '../views.js';

const transitionsText = Object.entries(STATUS_TRANSITIONS)
  .map(([from, to]) => `${from} → ${to.join('|')}`)
  .join('; ');

export function registerTaskTools(ctx: ServerContext): void {
  const { server, store, logger } = ctx;

  server.registerTool(
    'create_task',
    {
      title: 'Create task',
      description:
        'Create a task in a project. Required: title (1-200 characters). Optional: project key (default "' +
        ctx.defaultProject +
        '"; list_projects shows keys), description (up to 10,000 characters), priority (low|medium|high|urgent, default medium), ' +
        'assignee email, external_ref (a URL such as the GitHub issue the task tracks; unique per project, so creating a second task for the same URL fails and names the existing task), ' +
        'parent (a task id, to make this a sub-task; one level only). Returns the created task with its id (e.g. "T-101"). ' +
        'Use when the user wants something tracked; use update_task to change an existing task.',
      inputSchema: z.strictObject({
        title: schemas.title.describe('Short summary of the work, 1-200 characters.'),
        project: schemas.projectKey.optional().describe(`Project key; defaults to "${ctx.defaultProject}".`),
        description: schemas.description.optional().describe('Details, acceptance criteria, links. Up to 10,000 characters.'),
        priority: schemas.priority.optional().describe('low, medium (default), high or urgent.'),
        assignee: schemas.assignee.optional().describe('Email of the person responsible.'),
        external_ref: schemas.externalRef.optional().describe('URL of what this task tracks, e.g. a GitHub issue URL.'),
        parent: schemas.taskId.optional().describe('Id of the parent task, to create a sub-task.'),
      }),
      outputSchema: z.object({ task: taskView }),
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    guardTool(logger, 'create_task', async (args, extra) => {
      const caller = ctx.callerOf(extra.mcpReq._meta);
      const task = await store.createTask(
        {
          project: args.project ?? ctx.defaultProject,
          title: args.title,
          description: args.description,
          priority: args.priority,
          assignee: args.assignee,
          externalRef: args.external_ref,
          ...(args.parent ? { parentId: parseTaskId(args.parent, 'parent') } : {}),
        },
        caller.user,
      );
      return toolSuccess(`Created ${taskLine(task)}.`, { task: toTaskView(task) });
    }),
  );

  server.registerTool(
    'update_task',
    {
      title: 'Update task',
      description:
        'Change fields of an existing task. Required: id (e.g. "T-101") and at least one of title, description, status, priority, assignee, external_ref. ' +
        `Status moves allowed: ${transitionsText}. Pass assignee or external_ref as null to clear them. ` +
        'Returns the updated task and the list of fields that changed (empty if the values were already set). Previous values are kept in the activity log.',
      inputSchema: z.strictObject({
        id: schemas.taskId,
        title: schemas.title.optional().describe('New title, 1-200 characters.'),
        description: schemas.description.optional().describe('New description, up to 10,000 characters.'),
        status: schemas.status.optional().describe(`New status: ${TASK_STATUSES.join(', ')}.`),
        priority: schemas.priority.optional().describe(`New priority: ${TASK_PRIORITIES.join(', ')}.`),
        assignee: schemas.assignee.nullable().optional().describe('New assignee email, or null to unassign.'),
        external_ref: schemas.externalRef.nullable().optional().describe('New external reference URL, or null to clear it.'),
      }),
      outputSchema: z.object({ task: taskView, changed: z.array(z.string()) }),
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    guardTool(logger, 'update_task', async (args, extra) => {
      const { id, ...fields } = args;
      if (Object.values(fields).every((v) => v === undefined)) {
        throw invalidInput('fields', 'nothing to update.', 'Pass at least one of title, description, status, priority, assignee, external_ref.');
      }
      const caller = ctx.callerOf(extra.mcpReq._meta);
      const { task, changed } = await store.updateTask(
        parseTaskId(id),
        {
          title: fields.title,
          description: fields.description,
          status: fields.status,
          priority: fields.priority,
          assignee: fields.assignee,
          externalRef: fields.external_ref,
        },
        caller.user,
      );
      const summary = changed.length ? `Updated ${changed.join(', ')} of ${taskLine(task)}.` : `No change: ${task.id} already had those values.`;
      return toolSuccess(summary, { task: toTaskView(task), changed });
    }),
  );

  server.registerTool(
    'assign_task',
    {
      title: 'Assign task',
      description:
        'Assign a task to a person, or unassign it. Required: id (e.g. "T-101") and assignee (an email, or null to unassign). ' +
        'Returns the task. Use team workload (resource project://team-workload) to balance assignments.',
      inputSchema: z.strictObject({
        id: schemas.taskId,
        assignee: schemas.assignee.nullable().describe('Email of the new assignee, or null to unassign.'),
      }),
      outputSchema: z.object({ task: taskView, changed: z.array(z.string()) }),
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    guardTool(logger, 'assign_task', async (args, extra) => {
      const caller = ctx.callerOf(extra.mcpReq._meta);
      const { task, changed } = await store.updateTask(parseTaskId(args.id), { assignee: args.assignee }, caller.user, 'task.assigned');
      const summary = task.assignee ? `Assigned ${task.id} to ${task.assignee}.` : `${task.id} is now unassigned.`;
      return toolSuccess(changed.length ? summary : `No change: ${summary}`, { task: toTaskView(task), changed });
    }),
  );

  server.registerTool(
    'list_tasks',
    {
      title: 'List tasks',
      description:
        'List tasks, newest first, with optional filters: status (one or several of open, in_progress, done), assignee (an email, or "unassigned"), ' +
        'project key, text (case-insensitive match in title or description, up to 200 characters), external_ref (exact URL, to find the task tracking an issue). ' +
        `limit: 1-${LIMITS.listMax}, default ${LIMITS.listDefault}. Returns tasks and next_cursor; pass next_cursor back as cursor, with the same filters, for the next page (null when there are no more).`,
      inputSchema: z.strictObject({
        status: z
          .union([schemas.status, z.array(schemas.status).min(1).max(3)])
          .optional()
          .describe('Status or list of statuses to include.'),
        assignee: z
          .union([schemas.assignee, z.literal('unassigned')])
          .optional()
          .describe('Only tasks of this email, or "unassigned".'),
        project: schemas.projectKey.optional().describe('Only tasks of this project key.'),
        text: z
          .string()
          .min(1)
          .max(LIMITS.textFilterMax, `text must be at most ${LIMITS.textFilterMax} characters`)
          .optional()
          .describe('Words to find in title or description.'),
        external_ref: z.string().max(LIMITS.externalRefMax).optional().describe('Exact external reference URL.'),
        limit: z
          .number()
          .int('limit must be a whole number')
          .min(1, 'limit must be at least 1')
          .max(LIMITS.listMax, `limit must be at most ${LIMITS.listMax}`)
          .optional()
          .describe(`Page size, default ${LIMITS.listDefault}.`),
        cursor: z.string().max(500).optional().describe('next_cursor from the previous page.'),
      }),
      outputSchema: z.object({ tasks: z.array(taskView), next_cursor: z.string().nullable(), count: z.number() }),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    guardTool(logger, 'list_tasks', async (args) => {
      const filter = {
        status: args.status === undefined ? undefined : Array.isArray(args.status) ? args.status : [args.status],
        assignee: args.assignee === undefined ? undefined : args.assignee === 'unassigned' ? null : args.assignee,
        project: args.project,
        text: args.text,
        externalRef: args.external_ref,
      };
      const page = await store.listTasks(filter, args.limit ?? LIMITS.listDefault, args.cursor);
      const lines = page.tasks.map(taskLine);
      const more = page.nextCursor ? `\nMore tasks: call again with cursor "${page.nextCursor}".` : '';
      const summary = lines.length ? `${lines.length} task(s):\n${lines.join('\n')}${more}` : 'No tasks match.';
      return toolSuccess(summary, { tasks: page.tasks.map(toTaskView), next_cursor: page.nextCursor, count: page.tasks.length });
    }),
  );

  server.registerTool(
    'get_task_details',
    {
      title: 'Get task details',
      description:
        'Get one task with everything known about it: all fields, its parent and sub-tasks, and its activity history (who changed what, newest first, up to 50 entries). ' +
        'Required: id (e.g. "T-101"). Use before changing or discussing a specific task.',
      inputSchema: z.strictObject({ id: schemas.taskId }),
      outputSchema: z.object({ task: taskView, parent: taskView.nullable(), subtasks: z.array(taskView), activity: z.array(activityView) }),
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    guardTool(logger, 'get_task_details', async (args) => {
      const details = await store.getTaskDetails(parseTaskId(args.id));
      const { task } = details;
      const text = [
        taskLine(task),
        task.description ? `\n${task.description}\n` : '',
        task.externalRef ? `Tracks: ${task.externalRef}` : '',
        details.parent ? `Parent: ${taskLine(details.parent)}` : '',
        details.subtasks.length ? `Sub-tasks:\n${details.subtasks.map((s) => `  ${taskLine(s)}`).join('\n')}` : '',
        `History:\n${details.activity.map((a) => `  ${a.at} ${a.actor}: ${a.summary}`).join('\n')}`,
      ]
        .filter(Boolean)
        .join('\n');
      return toolSuccess(text, {
        task: toTaskView(task),
        parent: details.parent ? toTaskView(details.parent) : null,
        subtasks: details.subtasks.map(toTaskView),
        activity: details.activity.map(toActivityView),
      });
    }),
  );

  server.registerTool(
    'delete_task',
    {
      title: 'Delete task',
      description:
        'Delete a task and its sub-tasks, in two steps. First call with just id: nothing is deleted; the result describes what would be deleted and returns confirm_token (valid 5 minutes). ' +
        'Show that to the user; only if they agree, call again with id and confirm set to that token to delete. The deletion is recorded in the activity log with a snapshot of the task. ' +
        'A token stops working if the task changes in between.',
      inputSchema: z.strictObject({
        id: schemas.taskId,
        confirm: z.string().min(8).max(100).optional().describe('confirm_token from the first call. Omit to get one.'),
      }),
      outputSchema: z.object({
        status: z.enum(['confirmation_required', 'deleted']),
        task: taskView,
        subtasks: z.array(taskView).optional(),
        confirm_token: z.string().optional(),
        expires_at: z.string().optional(),
        deleted_ids: z.array(z.string()).optional(),
      }),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    },
    guardTool(logger, 'delete_task', async (args, extra): Promise<CallToolResult | InputRequiredResult> => {
      const caller = ctx.callerOf(extra.mcpReq._meta);
      const id = parseTaskId(args.id);
      if (args.confirm === undefined && clientCapabilitiesOf(extra, caller).elicitation) return confirmByElicitation(ctx, args.id, extra, caller);
      if (args.confirm === undefined) {
        const pending = await store.requestDeletion(id, caller.user);
        const also = pending.subtasks.length ? ` and its ${pending.subtasks.length} sub-task(s) ${pending.subtasks.map((s) => s.id).join(', ')}` : '';
        return toolSuccess(
          `Not deleted yet. This would delete ${taskLine(pending.task)}${also}. To confirm, call delete_task again with id "${pending.task.id}" and confirm "${pending.token}" (valid until ${pending.expiresAt}).`,
          {
            status: 'confirmation_required',
            task: toTaskView(pending.task),
            subtasks: pending.subtasks.map(toTaskView),
            confirm_token: pending.token,
            expires_at: pending.expiresAt,
          },
        );
      }
      const { task, deletedIds } = await store.confirmDeletion(id, args.confirm, caller.user);
      return toolSuccess(`Deleted ${deletedIds.join(', ')}.`, { status: 'deleted', task: toTaskView(task), deleted_ids: deletedIds });
    }),
  );
}

/** The key of the confirmation in `inputRequests` / `inputResponses`. */
const CONFIRM_KEY = 'confirm';
const confirmationSchema = {
  type: 'object' as const,
  properties: { confirm: { type: 'boolean' as const, title: 'Delete', description: 'Check to delete; leave unchecked to keep the task.' } },
  required: ['confirm'],
};

/**
 * delete_task for a client that can ask its user (elicitation): the first round returns
 * input_required with a confirmation form and a signed state naming the pending deletion; the
 * retry with the user's answer deletes, or leaves everything as it was. Same store checks as
 * the two-step token: the deletion is refused if the task changed in between.
 */
async function confirmByElicitation(
  ctx: ServerContext,
  taskId: string,
  extra: RequestContext,
  caller: CallerContext,
): Promise<CallToolResult | InputRequiredResult> {
  const { store } = ctx;
  const id = parseTaskId(taskId);
  const pending = extra.mcpReq.requestState<PendingInput>();
  if (pending !== undefined && (pending.tool !== 'delete_task' || pending.id !== taskId)) {
    throw new DomainError('invalid_input', 'The requestState of this call was issued for another call, so nothing was deleted.', {
      action: `Call delete_task again with id "${taskId}" and no requestState.`,
    });
  }
  const answer = inputResponse(extra.mcpReq.inputResponses, CONFIRM_KEY);
  if (pending === undefined || answer.kind === 'missing') {
    // First round (or a retry without the answer): the pending deletion is made once and named by the state.
    const token = pending?.token ?? (await store.requestDeletion(id, caller.user)).token;
    const { task, subtasks } = await store.getTaskDetails(id);
    const also = subtasks.length ? ` and its ${subtasks.length} sub-task(s) ${subtasks.map((s) => s.id).join(', ')}` : '';
    return inputRequired({
      inputRequests: {
        [CONFIRM_KEY]: inputRequired.elicit({
          message: `Delete ${taskLine(task)}${also}? This cannot be undone.`,
          requestedSchema: confirmationSchema,
          _meta: relatedRequestMeta(extra.mcpReq._meta),
        }),
      },
      requestState: await ctx.pendingInput.mint({ tool: 'delete_task', id: taskId, token }, extra),
    });
  }
  const confirmed = answer.kind === 'elicit' && answer.action === 'accept' && answer.content?.confirm === true;
  if (!confirmed) {
    throw new DomainError('confirmation_required', `Not deleted: the user did not confirm deleting ${taskId}.`, {
      action: 'Nothing was changed. Call delete_task again if the user still wants it deleted.',
    });
  }
  const { task, deletedIds } = await store.confirmDeletion(id, pending.token, caller.user);
  return toolSuccess(`Deleted ${deletedIds.join(', ')}.`, { status: 'deleted', task: toTaskView(task), deleted_ids: deletedIds });
}
