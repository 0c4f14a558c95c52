import { z } from 'zod';
import { DomainError } from '../../shared/errors.js';
import { DOMAIN_TOOLS } from './domainTools.js';
import type { WorkflowRun } from './workflowRun.js';

/**
 * The step bodies several workflows share: read an issue, find the documentation section that
 * fits it, find the task tracking it (who owns an issue is ownerResolution.ts's).
 * Each reads only through `run.tool`, i.e. through the gateway's pipeline.
 */

export const issueRefInput = z
  .union([z.number().int().min(1), z.string().trim().min(1).max(500)])
  .describe('The issue: its URL (https://github.com/owner/repo/issues/42), "owner/repo#42", "#42" or 42 (a number uses the default repository).');

export interface IssueFacts {
  repository: string;
  number: number;
  title: string;
  body: string;
  state: string;
  labels: string[];
  assignees: string[];
  url: string;
  updatedAt: string | null;
}

export interface DocsFacts {
  path: string;
  anchor: string;
  heading: string;
  uri: string;
  link: string | null;
  score: number;
}

/** Arguments that name the issue for the GitHub server's get_issue, comment_on_issue and update_issue. */
export function issueArgs(ref: number | string, defaultRepository: string | undefined): Record<string, unknown> {
  const bare = typeof ref === 'number' || /^#?\d+$/.test(ref);
  const number = typeof ref === 'number' ? String(ref) : ref;
  if (bare && defaultRepository) {
    const [owner, repo] = defaultRepository.split('/');
    return { owner, repo, issue_number: number.replace(/^#/, '') };
  }
  return { issue_number: number };
}

export function splitSlug(slug: string): { owner: string; repo: string } {
  const [owner = '', repo = ''] = slug.split('/');
  return { owner, repo };
}

/** `fresh`: the issue decides a write, so the gateway's cached answer is not used. */
export async function readIssue(run: WorkflowRun, ref: number | string, options: { fresh?: boolean } = {}): Promise<IssueFacts> {
  const answer = await run.tool(DOMAIN_TOOLS.getIssue, { ...issueArgs(ref, run.settings.defaultRepository), comments_per_page: 1 }, options);
  const repository = String(answer.structured.repository ?? '');
  const issue = answer.structured.issue as
    | {
        number: number;
        title: string;
        body: string;
        state: string;
        labels: string[];
        assignees: string[];
        html_url: string;
        is_pull_request: boolean;
        updated_at: string;
      }
    | undefined;
  if (!issue) throw new DomainError('unavailable', 'get_issue answered without an issue.');
  if (issue.is_pull_request) {
    throw new DomainError('invalid_input', `${repository}#${issue.number} is a pull request, not an issue.`, {
      action: 'Pass the number of the issue the pull request fixes.',
    });
  }
  return {
    repository,
    number: issue.number,
    title: issue.title,
    body: issue.body,
    state: issue.state,
    labels: issue.labels,
    assignees: issue.assignees,
    url: issue.html_url,
    updatedAt: issue.updated_at ?? null,
  };
}

/** Post a comment on the issue at `issueUrl`; resolves to the comment's URL ('' when GitHub gave none). */
export async function commentOnIssue(run: WorkflowRun, issueUrl: string, body: string): Promise<string> {
  const answer = await run.tool(DOMAIN_TOOLS.commentOnIssue, { ...issueArgs(issueUrl, undefined), body });
  return String((answer.structured.comment as { html_url?: string } | undefined)?.html_url ?? '');
}

export interface TaskFacts {
  id: string;
  project: string;
  title: string;
  status: string;
  priority: string;
  assignee: string | null;
  external_ref: string | null;
  description: string;
  updated_at: string;
}

/** The task tracking an issue URL, in any project; read fresh, as it decides whether to create one. */
export async function findTrackingTask(run: WorkflowRun, issueUrl: string): Promise<TaskFacts | undefined> {
  const answer = await run.tool(DOMAIN_TOOLS.listTasks, { external_ref: issueUrl, limit: 1 }, { fresh: true });
  const tasks = answer.structured.tasks as TaskFacts[] | undefined;
  return tasks?.[0];
}

/** Words of a title worth searching for: no punctuation, numbers or very short words. */
function searchWords(text: string): string {
  return text
    .replace(/[^\p{L}\p{N}\s_-]/gu, ' ')
    .split(/\s+/)
    .filter((word) => word.length > 2 && !/^\d+$/.test(word))
    .slice(0, 12)
    .join(' ');
}

/**
 * The best documentation section for `text`, if its search score reaches
 * `workflows.docsMinScore` (the docs server's scores run from 0 to 1); its `uri` is the
 * section's resource URI as the gateway exposes it, which resources/read returns.
 */
export async function findDocs(run: WorkflowRun, text: string): Promise<DocsFacts | null> {
  const query = searchWords(text);
  if (query === '') return null;
  const prefix = run.settings.docsPathPrefix;
  const answer = await run.tool(DOMAIN_TOOLS.searchDocs, { query, limit: 1, ...(prefix ? { path_prefix: prefix } : {}) });
  const hit = (answer.structured.results as Array<{ path: string; anchor: string; title: string; uri: string; link?: string; score: number }> | undefined)?.[0];
  if (!hit || !(hit.score >= run.settings.docsMinScore)) return null;
  return { path: hit.path, anchor: hit.anchor, heading: hit.title || hit.path, uri: run.exposeUri('docs', hit.uri), link: hit.link ?? null, score: hit.score };
}
