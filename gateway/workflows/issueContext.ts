import { z } from 'zod';
import { DomainError } from '../../shared/errors.js';
import type { ResolvedOwner, TeamDirectory } from './teamDirectory.js';
import { STEP_TOOLS, type WorkflowRun } from './workflowRun.js';

/**
 * The step bodies several workflows share: read an issue, find the code it concerns and that
 * code's owners, find the documentation section that fits it, find the task tracking it.
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

export interface PullRequestFacts {
  number: number;
  title: string;
  state: string;
  merged: boolean;
  url: string;
  files: string[];
}

export interface CodeFacts {
  paths: string[];
  /** Where each path came from. */
  sources: Record<string, 'issue_text' | 'pull_request' | 'label'>;
  pullRequests: PullRequestFacts[];
}

export interface OwnerFacts {
  codeownersFile: string | null;
  owners: ResolvedOwner[];
  /** The person owning most of the paths, or null when none could be mapped to a person. */
  suggested: string | null;
}

export interface DocsFacts {
  path: string;
  anchor: string;
  heading: string;
  uri: string;
  link: string | null;
  score: number;
}

const MAX_PATHS = 20;
const MAX_LINKED_PULLS = 3;

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

function splitSlug(slug: string): { owner: string; repo: string } {
  const [owner = '', repo = ''] = slug.split('/');
  return { owner, repo };
}

export async function readIssue(run: WorkflowRun, ref: number | string): Promise<IssueFacts> {
  const answer = await run.tool(STEP_TOOLS.getIssue, { ...issueArgs(ref, run.settings.defaultRepository), comments_per_page: 1 });
  const repository = String(answer.structured.repository ?? '');
  const issue = answer.structured.issue as
    | { number: number; title: string; body: string; state: string; labels: string[]; assignees: string[]; html_url: string; is_pull_request: boolean; updated_at: string }
    | undefined;
  if (!issue) throw new DomainError('unavailable', 'get_issue answered without an issue.');
  if (issue.is_pull_request) {
    throw new DomainError('invalid_input', `${repository}#${issue.number} is a pull request, not an issue.`, { action: 'Pass the number of the issue the pull request fixes.' });
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
  const answer = await run.tool(STEP_TOOLS.commentOnIssue, { ...issueArgs(issueUrl, undefined), body });
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

/** The task tracking an issue URL, in any project. */
export async function findTrackingTask(run: WorkflowRun, issueUrl: string): Promise<TaskFacts | undefined> {
  const answer = await run.tool(STEP_TOOLS.listTasks, { external_ref: issueUrl, limit: 1 });
  const tasks = answer.structured.tasks as TaskFacts[] | undefined;
  return tasks?.[0];
}

const PATH_IN_TEXT = /(?:^|[\s`'"(\[])((?:[A-Za-z0-9_.-]+\/)+[A-Za-z0-9_-][A-Za-z0-9_.-]*\.[A-Za-z0-9]{1,10})(?=$|[\s`'")\]:,;!?]|\.(?:\s|$))/gm;

/** Repository paths named in issue text (`src/render/layout.ts`), without URLs. */
export function pathsNamedIn(text: string): string[] {
  const found = new Set<string>();
  for (const match of text.matchAll(PATH_IN_TEXT)) {
    const path = match[1]!.replace(/^\.\//, '');
    if (!path.startsWith('.') || path.startsWith('.github/')) found.add(path);
  }
  return [...found];
}

/**
 * Pull requests linked to an issue: pull request URLs in its body, and pull requests of its
 * repository whose description names it (`Fixes #42`, `#42`).
 */
async function linkedPullRequests(run: WorkflowRun, issue: IssueFacts): Promise<PullRequestFacts[]> {
  const { owner, repo } = splitSlug(issue.repository);
  const numbers = new Set<number>();
  const urlPattern = new RegExp(`https://github\\.com/${escapeRegExp(issue.repository)}/pull/(\\d+)`, 'gi');
  for (const match of issue.body.matchAll(urlPattern)) numbers.add(Number(match[1]));
  const search = await run.tool(STEP_TOOLS.searchIssues, { owner, repo, query: `#${issue.number}`, type: 'pull_request', per_page: 10 });
  const candidates = ((search.structured.items as Array<{ number: number }> | undefined) ?? []).map((item) => item.number);
  const mention = new RegExp(`(?:^|[^\\w/])#${issue.number}(?!\\d)|/issues/${issue.number}(?!\\d)`);
  const pulls: PullRequestFacts[] = [];
  for (const number of [...numbers, ...candidates.filter((n) => !numbers.has(n))]) {
    if (pulls.length >= MAX_LINKED_PULLS) break;
    const answer = await run.tool(STEP_TOOLS.getPullRequest, { owner, repo, pull_number: number, include_patches: false, files_per_page: 100 });
    const pr = answer.structured.pull_request as { number: number; title: string; state: string; merged: boolean; html_url: string; body: string } | undefined;
    if (!pr) continue;
    if (!numbers.has(number) && !mention.test(pr.body)) continue;
    const files = ((answer.structured.files as Array<{ filename: string }> | undefined) ?? []).map((f) => f.filename);
    pulls.push({ number: pr.number, title: pr.title, state: pr.state, merged: pr.merged, url: pr.html_url, files });
  }
  return pulls;
}

export async function findCode(run: WorkflowRun, issue: IssueFacts): Promise<CodeFacts> {
  const sources: CodeFacts['sources'] = {};
  const add = (path: string, source: CodeFacts['sources'][string]): void => {
    if (!(path in sources) && Object.keys(sources).length < MAX_PATHS) sources[path] = source;
  };
  for (const path of pathsNamedIn(`${issue.title}\n${issue.body}`)) add(path, 'issue_text');
  const pullRequests = await linkedPullRequests(run, issue);
  for (const pr of pullRequests) for (const file of pr.files) add(file, 'pull_request');
  for (const label of issue.labels) for (const path of run.settings.labelPaths[label] ?? []) add(path, 'label');
  return { paths: Object.keys(sources), sources, pullRequests };
}

export async function resolveOwners(run: WorkflowRun, repository: string, paths: string[], directory: TeamDirectory): Promise<OwnerFacts> {
  if (paths.length === 0) return { codeownersFile: null, owners: [], suggested: null };
  const answer = await run.tool(STEP_TOOLS.getCodeOwners, { ...splitSlug(repository), paths });
  const results = (answer.structured.results as Array<{ path: string; owners: string[] }> | undefined) ?? [];
  // Owners ranked by how many paths they own; ties keep CODEOWNERS order.
  const counts = new Map<string, number>();
  for (const result of results) for (const owner of result.owners) counts.set(owner, (counts.get(owner) ?? 0) + 1);
  const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([owner]) => owner);
  const owners = ranked.map((owner) => directory.resolve(owner));
  const suggested = owners.find((o) => o.people.length > 0)?.people[0]?.email ?? null;
  return { codeownersFile: (answer.structured.codeowners_file as string | null | undefined) ?? null, owners, suggested };
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

export async function findDocs(run: WorkflowRun, title: string): Promise<DocsFacts | null> {
  const query = searchWords(title);
  if (query === '') return null;
  const prefix = run.settings.docsPathPrefix;
  const answer = await run.tool(STEP_TOOLS.searchDocs, { query, limit: 1, ...(prefix ? { path_prefix: prefix } : {}) });
  const hit = (answer.structured.results as Array<{ path: string; anchor: string; title: string; uri: string; link?: string; score: number }> | undefined)?.[0];
  if (!hit) return null;
  const anchor = hit.anchor;
  const uri = run.exposeUri('docs', `${hit.uri}${anchor ? `#${anchor}` : ''}`);
  return { path: hit.path, anchor, heading: hit.title || hit.path, uri, link: hit.link ?? null, score: hit.score };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
