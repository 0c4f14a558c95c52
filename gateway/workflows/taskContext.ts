import { z } from 'zod';
import { DomainError } from '../../shared/errors.js';
import { docsOutput, issueOutput, ownersOutput, pullRequestsOutput, toIssueOutput, toOwnersOutput } from './createTaskFromIssue.js';
import { DOMAIN_TOOLS } from './domainTools.js';
import { findDocs, readIssue, type DocsFacts, type IssueFacts, type TaskFacts } from './issueContext.js';
import { resolveOwnership, type CodeFacts, type OwnerFacts } from './ownerResolution.js';
import { defineWorkflow, type WorkflowRun } from './workflowRun.js';

export const taskIdInput = z
  .string()
  .regex(/^T-\d{1,12}$/, 'must be a task id such as "T-101"')
  .describe('Task id, e.g. "T-101".');

/** A GitHub issue URL a task tracks, or undefined when its external reference is something else. */
export function trackedIssueUrl(task: TaskFacts): string | undefined {
  const ref = task.external_ref ?? '';
  return /^https:\/\/github\.com\/[^/]+\/[^/]+\/issues\/\d+$/.test(ref) ? ref : undefined;
}

export async function readTask(run: WorkflowRun, id: string, options: { fresh?: boolean } = {}): Promise<TaskFacts> {
  const answer = await run.tool(DOMAIN_TOOLS.getTaskDetails, { id }, options);
  const task = answer.structured.task as TaskFacts | undefined;
  if (!task) throw new DomainError('unavailable', 'get_task_details answered without a task.');
  return task;
}

const output = z.object({
  task: z.object({
    id: z.string(),
    project: z.string(),
    title: z.string(),
    status: z.string(),
    priority: z.string(),
    assignee: z.string().nullable(),
    external_ref: z.string().nullable(),
    description: z.string(),
  }),
  issue: issueOutput.extend({ body: z.string() }).nullable().describe('null when the task tracks no GitHub issue.'),
  pull_requests: pullRequestsOutput,
  code_paths: z.array(z.string()),
  owners: ownersOutput,
  docs_section: docsOutput,
  links: z.object({ issue: z.string().nullable(), docs_section: z.string().nullable(), pull_requests: z.array(z.string()) }),
});

export const taskContext = defineWorkflow({
  name: 'task_context',
  title: 'Everything about a task',
  description:
    "Bring a task's full context together in one read-only call: the task, the GitHub issue it tracks (from its external reference), the pull requests " +
    'linked to that issue and the files they change, the owners of that code (CODEOWNERS mapped to people through the team directory), and the most ' +
    'relevant documentation section. Input: task (id, e.g. "T-101"). Use it before working on, reviewing or discussing a task; it changes nothing. ' +
    'A task that tracks no GitHub issue gets its docs section from its title only.',
  input: z.strictObject({ task: taskIdInput }),
  output,
  annotations: { title: 'Everything about a task', readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  manifest: {
    tools: [
      DOMAIN_TOOLS.getTaskDetails,
      DOMAIN_TOOLS.getIssue,
      DOMAIN_TOOLS.searchIssues,
      DOMAIN_TOOLS.getPullRequest,
      DOMAIN_TOOLS.getCodeOwners,
      DOMAIN_TOOLS.searchDocs,
    ],
  },
  run: async (run, args) => {
    run.totalSteps = 5;
    const task = await run.step('read_task', `Reading task ${args.task}`, () => readTask(run, args.task));
    const url = trackedIssueUrl(task);
    let issue: IssueFacts | null = null;
    let code: CodeFacts = { paths: [], sources: {}, pullRequests: [] };
    let owners: OwnerFacts = { codeownersFile: null, owners: [], suggested: null };
    if (url) {
      issue = await run.step('read_issue', 'Reading the issue', () => readIssue(run, url));
      ({ code, owners } = await resolveOwnership(run, issue));
    }
    const docs: DocsFacts | null = await run.step('find_docs', 'Finding documentation', () => findDocs(run, issue?.title ?? task.title));
    run.finish('Context gathered');
    const lines = [
      `${task.id} [${task.status}, ${task.priority}] ${task.title} — ${task.assignee ?? 'unassigned'} (project ${task.project})`,
      issue ? `Issue: ${issue.repository}#${issue.number} (${issue.state}) ${issue.title} — ${issue.url}` : 'Issue: none tracked.',
      code.pullRequests.length
        ? `Pull requests: ${code.pullRequests.map((pr) => `#${pr.number} ${pr.merged ? 'merged' : pr.state} ${pr.url}`).join(', ')}`
        : 'Pull requests: none linked.',
      code.paths.length ? `Code: ${code.paths.join(', ')}` : 'Code: none identified.',
      owners.owners.length
        ? `Owners: ${owners.owners.map((o) => `${o.owner}${o.people.length ? ` (${o.people.map((p) => p.email).join(', ')})` : ''}`).join('; ')}`
        : 'Owners: none found.',
      docs ? `Docs: ${docs.heading} — ${docs.link ?? docs.uri}` : 'Docs: no matching section.',
    ];
    return {
      summary: lines.join('\n'),
      structured: {
        task: {
          id: task.id,
          project: task.project,
          title: task.title,
          status: task.status,
          priority: task.priority,
          assignee: task.assignee,
          external_ref: task.external_ref,
          description: task.description,
        },
        issue: issue ? { ...toIssueOutput(issue), body: issue.body } : null,
        pull_requests: code.pullRequests.map((pr) => ({ number: pr.number, title: pr.title, state: pr.state, merged: pr.merged, url: pr.url })),
        code_paths: code.paths,
        owners: toOwnersOutput(owners),
        docs_section: docs,
        links: { issue: issue?.url ?? null, docs_section: docs ? (docs.link ?? docs.uri) : null, pull_requests: code.pullRequests.map((pr) => pr.url) },
      },
    };
  },
});
