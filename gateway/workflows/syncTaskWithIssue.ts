import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { DomainError } from '../../shared/errors.js';
import { issueOutput, taskOutput, toIssueOutput, toTaskOutput } from './createTaskFromIssue.js';
import { commentOnIssue, issueArgs, readIssue, type IssueFacts, type TaskFacts } from './issueContext.js';
import { readTask, taskIdInput, trackedIssueUrl } from './taskContext.js';
import { DOMAIN_TOOLS } from './domainTools.js';
import { defineWorkflow, type StepFailure, type WorkflowRun } from './workflowRun.js';

const CONFIRM_TTL_MS = 5 * 60_000;
/** Confirmation tokens are signed with a key that lives as long as the process. */
const TOKEN_KEY = randomBytes(32);

const ACTIONS = ['close_task', 'reopen_task', 'close_issue', 'none'] as const;
type Action = (typeof ACTIONS)[number];

/** What keeping the two in step means for their current states. */
export function planSync(task: TaskFacts, issue: IssueFacts): { action: Action; reason: string } {
  const taskDone = task.status === 'done';
  if (issue.state === 'closed' && !taskDone) return { action: 'close_task', reason: `the issue is closed but ${task.id} is ${task.status}` };
  if (issue.state === 'open' && taskDone) {
    // Reopened after the task was finished: the issue is the newer word.
    if (issue.updatedAt && Date.parse(issue.updatedAt) > Date.parse(task.updated_at)) {
      return { action: 'reopen_task', reason: `the issue is open again (updated after ${task.id} was done)` };
    }
    return { action: 'close_issue', reason: `${task.id} is done but the issue is still open` };
  }
  return { action: 'none', reason: `already in step (task ${task.status}, issue ${issue.state})` };
}

function sign(payload: string): string {
  return createHmac('sha256', TOKEN_KEY).update(payload).digest('base64url');
}

/** A token bound to the task, the planned action and both current states: any change voids it. */
function confirmToken(task: TaskFacts, issue: IssueFacts, action: Action, expires: number): string {
  return `${expires.toString(36)}.${sign(JSON.stringify([task.id, task.updated_at, task.status, issue.url, issue.state, action, expires]))}`;
}

function tokenMatches(token: string, task: TaskFacts, issue: IssueFacts, action: Action, now: number): boolean {
  const [expiresText] = token.split('.');
  const expires = parseInt(expiresText ?? '', 36);
  if (!Number.isFinite(expires) || expires < now) return false;
  const expected = Buffer.from(confirmToken(task, issue, action, expires));
  const given = Buffer.from(token);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

const output = z.object({
  status: z.enum(['in_sync', 'confirmation_required', 'applied']),
  action: z
    .enum(ACTIONS)
    .describe(
      'close_task: mark the task done; reopen_task: set it open again; close_issue: comment on the issue and close it as completed; none: already in step.',
    ),
  reason: z.string(),
  task: taskOutput,
  issue: issueOutput,
  confirm_token: z.string().optional().describe('Pass back as confirm to apply the action (valid 5 minutes, void if either side changes).'),
  expires_at: z.string().optional(),
  comment_url: z.string().nullable().optional().describe('The comment naming the task, posted on the issue before closing it (close_issue).'),
});

/**
 * Close the issue of a done task: first a comment naming the task, then the close (as completed).
 * When GitHub or the gateway refuses the close, the failure says the comment is already there.
 */
async function closeCompletedIssue(run: WorkflowRun, task: TaskFacts, issue: IssueFacts): Promise<{ commentUrl: string; issue: IssueFacts }> {
  const commentUrl = await run.step('comment_on_issue', 'Commenting on the issue', () =>
    commentOnIssue(run, issue.url, `Task **${task.id}** (project \`${task.project}\`) is done, which completes this issue.`),
  );
  try {
    const answer = await run.step('close_issue', 'Closing the issue as completed', () =>
      run.tool(DOMAIN_TOOLS.updateIssue, { ...issueArgs(issue.url, undefined), state: 'closed', state_reason: 'completed' }),
    );
    const closed = answer.structured.issue as { state?: string; updated_at?: string } | undefined;
    return { commentUrl, issue: { ...issue, state: closed?.state ?? 'closed', updatedAt: closed?.updated_at ?? issue.updatedAt } };
  } catch (error) {
    throw (error as StepFailure).withAftermath(
      `The comment naming ${task.id} was posted (${commentUrl || issue.url}), but ${issue.repository}#${issue.number} is still open. ` +
        "Close it on GitHub, or let the GitHub server's token close issues and call again (that posts the comment once more).",
    );
  }
}

export const syncTaskWithIssue = defineWorkflow({
  name: 'sync_task_with_issue',
  title: 'Keep a task and its GitHub issue in step',
  description:
    'Compare a task with the GitHub issue it tracks (its external reference) and bring them in step, in two calls. When the issue is closed and the task is not done, ' +
    'the task is marked done; when the issue was reopened after the task was done, the task is reopened; when the task is done and the issue is still open, ' +
    'a comment naming the task is posted on the issue and the issue is closed as completed (if GitHub refuses the close, the call fails saying the comment was posted ' +
    'and the issue is still open). First call with task only: nothing changes; the result describes the action and ' +
    'returns confirm_token. Show it to the user; only if they agree, call again with task and confirm set to that token. A token is void once the task or issue changes.',
  input: z.strictObject({
    task: taskIdInput,
    confirm: z.string().min(8).max(200).optional().describe('confirm_token from the first call. Omit to see what would change.'),
  }),
  output,
  annotations: { title: 'Keep a task and its GitHub issue in step', readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  manifest: { tools: [DOMAIN_TOOLS.getTaskDetails, DOMAIN_TOOLS.getIssue, DOMAIN_TOOLS.updateTask, DOMAIN_TOOLS.commentOnIssue, DOMAIN_TOOLS.updateIssue] },
  stepTools: (args) => [
    DOMAIN_TOOLS.getTaskDetails,
    DOMAIN_TOOLS.getIssue,
    ...(args?.confirm ? [DOMAIN_TOOLS.updateTask, DOMAIN_TOOLS.commentOnIssue, DOMAIN_TOOLS.updateIssue] : []),
  ],
  run: async (run, args) => {
    run.totalSteps = args.confirm ? 4 : 3;
    // Both reads decide a write (or the token that allows one): the current state, never a cached one.
    const task = await run.step('read_task', `Reading task ${args.task}`, () => readTask(run, args.task, { fresh: true }));
    const url = trackedIssueUrl(task);
    if (!url) {
      throw new DomainError('invalid_input', `${task.id} tracks no GitHub issue (external_ref: ${task.external_ref ?? 'none'}).`, {
        action: 'Set its external_ref to the issue URL with update_task, or use create_task_from_issue.',
      });
    }
    const issue = await run.step('read_issue', 'Reading the issue', () => readIssue(run, url, { fresh: true }));
    const plan = await run.step('plan', 'Comparing task and issue', async () => planSync(task, issue));
    const base = { action: plan.action, reason: plan.reason, task: toTaskOutput(task), issue: toIssueOutput(issue) };
    if (plan.action === 'none') {
      run.finish('Already in step');
      return { summary: `${task.id} and ${issue.repository}#${issue.number} are ${plan.reason}. Nothing to do.`, structured: { status: 'in_sync', ...base } };
    }
    const describe = {
      close_task: `mark ${task.id} done`,
      reopen_task: `reopen ${task.id} (status open)`,
      close_issue: `close ${issue.url} as completed, with a comment that ${task.id} is done`,
    }[plan.action];
    const now = Date.now();
    if (!args.confirm || !tokenMatches(args.confirm, task, issue, plan.action, now)) {
      const expires = now + CONFIRM_TTL_MS;
      run.finish('Confirmation required');
      const stale = args.confirm ? 'The confirm token is expired or no longer matches (the task or issue changed). ' : '';
      return {
        summary: `${stale}Would ${describe}: ${plan.reason}. Nothing changed yet. Ask the user; if they agree, call again with confirm "${confirmToken(task, issue, plan.action, expires)}".`,
        structured: {
          status: 'confirmation_required',
          ...base,
          confirm_token: confirmToken(task, issue, plan.action, expires),
          expires_at: new Date(expires).toISOString(),
        },
      };
    }
    if (plan.action === 'close_issue') {
      run.totalSteps = 5;
      const closed = await closeCompletedIssue(run, task, issue);
      run.finish('Applied');
      return {
        summary: `Done: ${describe}${closed.commentUrl ? ` (${closed.commentUrl})` : ''}.`,
        structured: { status: 'applied', ...base, issue: toIssueOutput(closed.issue), comment_url: closed.commentUrl || null },
      };
    }
    const answer = await run.step('apply', `Applying: ${describe}`, () =>
      run.tool(DOMAIN_TOOLS.updateTask, { id: task.id, status: plan.action === 'close_task' ? 'done' : 'open' }),
    );
    run.finish('Applied');
    return {
      summary: `Done: ${describe}.`,
      structured: { status: 'applied', ...base, task: toTaskOutput(answer.structured.task as TaskFacts), comment_url: null },
    };
  },
});
