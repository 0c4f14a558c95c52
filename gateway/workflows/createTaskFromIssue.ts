import { z } from 'zod';
import { DomainError } from '../../shared/errors.js';
import { DOMAIN_TOOLS } from './domainTools.js';
import { commentOnIssue, findDocs, findTrackingTask, issueRefInput, readIssue, type DocsFacts, type IssueFacts, type TaskFacts } from './issueContext.js';
import { resolveOwnership, type AssigneeChoice, type CodeFacts, type OwnerFacts } from './ownerResolution.js';
import { defineWorkflow, type StepFailure, type WorkflowRun } from './workflowRun.js';
import type { WorkflowSettings } from './workflowSettings.js';

const PRIORITY_ORDER = ['low', 'medium', 'high', 'urgent'] as const;
type Priority = (typeof PRIORITY_ORDER)[number];
const TITLE_MAX = 200;
const BODY_EXCERPT_MAX = 4000;

export const projectInput = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'must be a project key: lowercase letters, digits, dashes')
  .optional()
  .describe('Project key for the task; default: the configured default project.');

export const taskOutput = z.object({
  id: z.string(),
  project: z.string(),
  title: z.string(),
  status: z.string(),
  priority: z.string(),
  assignee: z.string().nullable(),
  external_ref: z.string().nullable(),
});

export const issueOutput = z.object({
  repository: z.string(),
  number: z.number(),
  title: z.string(),
  state: z.string(),
  labels: z.array(z.string()),
  url: z.string(),
});

export const docsOutput = z
  .object({
    path: z.string(),
    anchor: z.string(),
    heading: z.string(),
    uri: z.string().describe('Gateway resource URI of the section (docs+docs://path#anchor); resources/read returns it.'),
    link: z.string().nullable(),
    score: z.number().describe('Search relevance from 0 to 1; only sections scoring at least workflows.docsMinScore are linked.'),
  })
  .nullable()
  .describe('null when no section scores at least workflows.docsMinScore.');

export const ownersOutput = z.array(
  z.object({
    owner: z.string().describe('As CODEOWNERS names it: @login, @org/team or an email.'),
    kind: z.enum(['user', 'team', 'email']),
    people: z.array(z.string()).describe('Emails from the team directory.'),
  }),
);

export const pullRequestsOutput = z.array(z.object({ number: z.number(), title: z.string(), state: z.string(), merged: z.boolean(), url: z.string() }));

export function toTaskOutput(task: TaskFacts): z.infer<typeof taskOutput> {
  return {
    id: task.id,
    project: task.project,
    title: task.title,
    status: task.status,
    priority: task.priority,
    assignee: task.assignee,
    external_ref: task.external_ref,
  };
}

export function toIssueOutput(issue: IssueFacts): z.infer<typeof issueOutput> {
  return { repository: issue.repository, number: issue.number, title: issue.title, state: issue.state, labels: issue.labels, url: issue.url };
}

export function toOwnersOutput(owners: OwnerFacts): z.infer<typeof ownersOutput> {
  return owners.owners.map((o) => ({ owner: o.owner, kind: o.kind, people: o.people.map((p) => p.email) }));
}

/** The highest priority any label maps to; medium when none does. */
export function priorityFromLabels(labels: readonly string[], map: Readonly<Record<string, Priority>>): Priority {
  let best: Priority | undefined;
  for (const label of labels) {
    const mapped = map[label] ?? map[label.toLowerCase()];
    if (mapped && (!best || PRIORITY_ORDER.indexOf(mapped) > PRIORITY_ORDER.indexOf(best))) best = mapped;
  }
  return best ?? 'medium';
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function taskDescription(issue: IssueFacts, code: CodeFacts, owners: OwnerFacts, docs: DocsFacts | null): string {
  const lines = [`Tracks GitHub issue ${issue.repository}#${issue.number}: ${issue.url}`, ''];
  lines.push(
    docs ? `Documentation: ${docs.heading} — ${docs.link ?? docs.uri}${docs.link ? ` (${docs.uri})` : ''}` : 'Documentation: no matching section found.',
  );
  if (code.pullRequests.length > 0) lines.push(`Pull requests: ${code.pullRequests.map((pr) => `#${pr.number} ${pr.url}`).join(', ')}`);
  if (code.paths.length > 0) lines.push(`Code: ${code.paths.join(', ')}`);
  if (owners.owners.length > 0) {
    lines.push(`Owners: ${owners.owners.map((o) => `${o.owner}${o.people.length ? ` (${o.people.map((p) => p.email).join(', ')})` : ''}`).join('; ')}`);
  }
  const body = issue.body.trim();
  if (body) lines.push('', '---', clip(body, BODY_EXCERPT_MAX));
  return lines.join('\n');
}

export interface PreparedTask {
  code: CodeFacts;
  owners: OwnerFacts;
  docs: DocsFacts | null;
  assignee: AssigneeChoice;
  priority: Priority;
  input: Record<string, unknown>;
}

/** Steps 3-5 for one issue: code, owners, docs, and the create_task arguments they give. */
export async function prepareTask(
  run: WorkflowRun,
  issue: IssueFacts,
  options: { project: string | undefined; assignee: string | undefined; label?: string },
): Promise<PreparedTask> {
  const { code, owners, assignee } = await resolveOwnership(run, issue, { override: options.assignee, label: options.label });
  const at = options.label ? ` (${options.label})` : '';
  const docs = await run.step(`find_docs${at}`, 'Finding the most relevant documentation section', () => findDocs(run, issue.title));
  const priority = priorityFromLabels(issue.labels, run.settings.labelPriorities);
  const project = options.project ?? run.settings.defaultProject;
  const input = {
    title: clip(issue.title.trim() || `${issue.repository}#${issue.number}`, TITLE_MAX),
    description: taskDescription(issue, code, owners, docs),
    priority,
    external_ref: issue.url,
    ...(project ? { project } : {}),
    ...(assignee.email ? { assignee: assignee.email } : {}),
  };
  return { code, owners, docs, assignee, priority, input };
}

/** create_task; a conflict on external_ref (a concurrent call won) returns the winner's task. */
export async function createTask(run: WorkflowRun, issue: IssueFacts, input: Record<string, unknown>): Promise<{ task: TaskFacts; created: boolean }> {
  try {
    const answer = await run.tool(DOMAIN_TOOLS.createTask, input);
    return { task: answer.structured.task as TaskFacts, created: true };
  } catch (error) {
    if (error instanceof DomainError && error.code === 'conflict') {
      const existing = await findTrackingTask(run, issue.url);
      if (existing) return { task: existing, created: false };
    }
    throw error;
  }
}

/** Undo a created task with delete_task's two steps; says what happened, for the error. */
export async function undoTask(run: WorkflowRun, taskId: string): Promise<string> {
  try {
    await run.step('undo', `Deleting task ${taskId} again`, async () => {
      const first = await run.tool(DOMAIN_TOOLS.deleteTask, { id: taskId });
      const token = first.structured.confirm_token;
      if (typeof token !== 'string') throw new DomainError('unavailable', 'delete_task gave no confirmation token.');
      await run.tool(DOMAIN_TOOLS.deleteTask, { id: taskId, confirm: token });
    });
    return `Undone: task ${taskId} was deleted again, so nothing is left half done.`;
  } catch (error) {
    const reason = error instanceof DomainError ? error.message : 'unknown error';
    return `Task ${taskId} was created but could not be deleted again (${reason}); delete it with delete_task, or call this tool again to finish.`;
  }
}

const input = z.strictObject({
  issue: issueRefInput,
  project: projectInput,
  assignee: z.email('must be an email address').optional().describe('Assign the task to this email instead of the code owner.'),
  comment: z.boolean().optional().describe('Comment on the issue with the task id (needs write access to GitHub). Default from configuration (usually false).'),
});

const output = z.object({
  status: z.enum(['created', 'existing']).describe('"existing" when a task already tracked the issue: nothing was created.'),
  task: taskOutput,
  issue: issueOutput,
  pull_requests: pullRequestsOutput,
  code_paths: z.array(z.object({ path: z.string(), source: z.enum(['issue_text', 'pull_request', 'label']) })),
  owners: ownersOutput,
  assignee: z.object({ email: z.string().nullable(), source: z.enum(['override', 'code_owner', 'issue_assignee', 'none', 'existing']) }),
  priority: z.string(),
  docs_section: docsOutput,
  comment: z.object({ url: z.string() }).nullable(),
  links: z.object({ issue: z.string(), docs_section: z.string().nullable(), pull_requests: z.array(z.string()), comment: z.string().nullable() }),
});

const wantsComment = (args: { comment?: boolean | undefined } | undefined, settings: WorkflowSettings): boolean => args?.comment ?? settings.commentOnIssue;

export const createTaskFromIssue = defineWorkflow({
  name: 'create_task_from_issue',
  title: 'Create a task from a GitHub issue',
  description:
    'Turn a GitHub issue into a tracked task in one call. It reads the issue (labels, linked pull requests and their files), finds the code it concerns ' +
    "(paths in the issue, files of linked pull requests, configured label paths), resolves that code's owners from CODEOWNERS and the team directory, " +
    'finds the most relevant documentation section, and creates a task whose description links the issue and that section, assigned to the owner ' +
    '(or to `assignee`), with a priority from the labels and the issue URL as external reference. With comment true it also comments the task id on the issue; ' +
    'if that comment fails the task is deleted again, so nothing is left half done. Idempotent: when a task already tracks the issue it returns that task ' +
    'with status "existing" and changes nothing. Inputs: issue (URL, "owner/repo#N", or a number in the default repository), optional project, assignee, comment. ' +
    'Returns the task, the issue, pull requests, code paths, owners, the docs section and links. A failure names the step that failed and why.',
  input,
  output,
  annotations: { title: 'Create a task from a GitHub issue', readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  manifest: {
    tools: [
      DOMAIN_TOOLS.getIssue,
      DOMAIN_TOOLS.listTasks,
      DOMAIN_TOOLS.searchIssues,
      DOMAIN_TOOLS.getPullRequest,
      DOMAIN_TOOLS.getCodeOwners,
      DOMAIN_TOOLS.searchDocs,
      DOMAIN_TOOLS.createTask,
      DOMAIN_TOOLS.commentOnIssue,
      DOMAIN_TOOLS.deleteTask,
    ],
  },
  stepTools: (args, settings) => [
    DOMAIN_TOOLS.getIssue,
    DOMAIN_TOOLS.listTasks,
    DOMAIN_TOOLS.searchIssues,
    DOMAIN_TOOLS.getPullRequest,
    DOMAIN_TOOLS.getCodeOwners,
    DOMAIN_TOOLS.searchDocs,
    DOMAIN_TOOLS.createTask,
    ...(wantsComment(args, settings) ? [DOMAIN_TOOLS.commentOnIssue, DOMAIN_TOOLS.deleteTask] : []),
  ],
  run: async (run, args) => {
    const comment = wantsComment(args, run.settings);
    run.totalSteps = comment ? 7 : 6;
    const issue = await run.step('read_issue', 'Reading the issue', () => readIssue(run, args.issue, { fresh: true }));
    const existing = await run.step('check_existing', `Looking for a task tracking ${issue.url}`, () => findTrackingTask(run, issue.url));
    if (existing) {
      run.finish(`Already tracked by ${existing.id}`);
      return {
        summary: `Nothing created: task ${existing.id} (project ${existing.project}) already tracks ${issue.repository}#${issue.number}: ${existing.title}.`,
        structured: {
          status: 'existing',
          task: toTaskOutput(existing),
          issue: toIssueOutput(issue),
          pull_requests: [],
          code_paths: [],
          owners: [],
          assignee: { email: existing.assignee, source: 'existing' },
          priority: existing.priority,
          docs_section: null,
          comment: null,
          links: { issue: issue.url, docs_section: null, pull_requests: [], comment: null },
        },
      };
    }
    const prepared = await prepareTask(run, issue, { project: args.project, assignee: args.assignee });
    const { task, created } = await run.step('create_task', 'Creating the task', () => createTask(run, issue, prepared.input));
    let commentUrl: string | null = null;
    if (comment && created) {
      try {
        commentUrl = await run.step('comment_on_issue', `Commenting ${task.id} on the issue`, () =>
          commentOnIssue(
            run,
            issue.url,
            `Tracked as task **${task.id}** in project \`${task.project}\`${task.assignee ? `, assigned to ${task.assignee}` : ''}.`,
          ),
        );
      } catch (error) {
        const failure = error as StepFailure;
        throw failure.withAftermath(await undoTask(run, task.id));
      }
    }
    run.finish(created ? `Created ${task.id}` : `Already tracked by ${task.id}`);
    const { code, owners, docs, assignee } = prepared;
    const structured = {
      status: created ? 'created' : 'existing',
      task: toTaskOutput(task),
      issue: toIssueOutput(issue),
      pull_requests: code.pullRequests.map((pr) => ({ number: pr.number, title: pr.title, state: pr.state, merged: pr.merged, url: pr.url })),
      code_paths: code.paths.map((path) => ({ path, source: code.sources[path]! })),
      owners: toOwnersOutput(owners),
      assignee: created ? assignee : { email: task.assignee, source: 'existing' },
      priority: task.priority,
      docs_section: docs,
      comment: commentUrl ? { url: commentUrl } : null,
      links: {
        issue: issue.url,
        docs_section: docs ? (docs.link ?? docs.uri) : null,
        pull_requests: code.pullRequests.map((pr) => pr.url),
        comment: commentUrl,
      },
    };
    const summary = [
      created
        ? `Created task ${task.id} in project ${task.project} for ${issue.repository}#${issue.number}: ${task.title}`
        : `Nothing created: task ${task.id} already tracks ${issue.url}.`,
      `Priority ${task.priority}; ${task.assignee ? `assigned to ${task.assignee} (${assignee.source.replace('_', ' ')})` : 'unassigned: no owner found for the code it concerns'}.`,
      `Issue: ${issue.url}`,
      docs ? `Docs: ${docs.heading} — ${docs.link ?? docs.uri}` : 'Docs: no matching section.',
      code.pullRequests.length ? `Pull requests: ${code.pullRequests.map((pr) => pr.url).join(', ')}` : '',
      code.paths.length ? `Code: ${code.paths.join(', ')}` : 'Code: none identified.',
      owners.owners.length ? `Owners: ${owners.owners.map((o) => o.owner).join(', ')}` : 'Owners: none found.',
      commentUrl ? `Commented: ${commentUrl}` : '',
    ]
      .filter(Boolean)
      .join('\n');
    return { summary, structured };
  },
});
