import { DOMAIN_TOOLS } from './domainTools.js';
import { splitSlug, type IssueFacts } from './issueContext.js';
import { TeamDirectory, type ResolvedOwner } from './teamDirectory.js';
import type { WorkflowRun } from './workflowRun.js';

/**
 * Who owns an issue, decided one way for every workflow: the code it concerns (paths named in
 * its title and body, files of the pull requests linked to it, configured label paths), that
 * code's owners from CODEOWNERS mapped to people through the team directory, and then the
 * assignee: an explicit override, else the person owning most of that code, else the first of
 * the issue's GitHub assignees the directory knows, else nobody. create_task_from_issue,
 * triage_issues and task_context all call `resolveOwnership` with the issue as get_issue reads
 * it, so they pick the same owner for the same issue.
 */

const MAX_PATHS = 20;
const MAX_LINKED_PULLS = 3;

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

const PATH_IN_TEXT = /(?:^|[\s`'"([])((?:[A-Za-z0-9_.-]+\/)+[A-Za-z0-9_-][A-Za-z0-9_.-]*\.[A-Za-z0-9]{1,10})(?=$|[\s`'")\]:,;!?]|\.(?:\s|$))/gm;

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
  const search = await run.tool(DOMAIN_TOOLS.searchIssues, { owner, repo, query: `#${issue.number}`, type: 'pull_request', per_page: 10 });
  const candidates = ((search.structured.items as Array<{ number: number }> | undefined) ?? []).map((item) => item.number);
  const mention = new RegExp(`(?:^|[^\\w/])#${issue.number}(?!\\d)|/issues/${issue.number}(?!\\d)`);
  const pulls: PullRequestFacts[] = [];
  for (const number of [...numbers, ...candidates.filter((n) => !numbers.has(n))]) {
    if (pulls.length >= MAX_LINKED_PULLS) break;
    const answer = await run.tool(DOMAIN_TOOLS.getPullRequest, { owner, repo, pull_number: number, include_patches: false, files_per_page: 100 });
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
  const answer = await run.tool(DOMAIN_TOOLS.getCodeOwners, { ...splitSlug(repository), paths });
  const results = (answer.structured.results as Array<{ path: string; owners: string[] }> | undefined) ?? [];
  // Owners ranked by how many paths they own; ties keep CODEOWNERS order.
  const counts = new Map<string, number>();
  for (const result of results) for (const owner of result.owners) counts.set(owner, (counts.get(owner) ?? 0) + 1);
  const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([owner]) => owner);
  const owners = ranked.map((owner) => directory.resolve(owner));
  const suggested = owners.find((o) => o.people.length > 0)?.people[0]?.email ?? null;
  return { codeownersFile: (answer.structured.codeowners_file as string | null | undefined) ?? null, owners, suggested };
}

export interface AssigneeChoice {
  email: string | null;
  source: 'override' | 'code_owner' | 'issue_assignee' | 'none';
}

export function chooseAssignee(override: string | undefined, owners: OwnerFacts, issue: IssueFacts, directory: TeamDirectory): AssigneeChoice {
  if (override) return { email: override, source: 'override' };
  if (owners.suggested) return { email: owners.suggested, source: 'code_owner' };
  for (const login of issue.assignees) {
    const person = directory.byLogin(login);
    if (person) return { email: person.email, source: 'issue_assignee' };
  }
  return { email: null, source: 'none' };
}

export interface Ownership {
  code: CodeFacts;
  owners: OwnerFacts;
  assignee: AssigneeChoice;
}

/** The two steps (find_code, resolve_owners) and the choice of assignee, for one issue. */
export async function resolveOwnership(
  run: WorkflowRun,
  issue: IssueFacts,
  options: { override?: string | undefined; label?: string | undefined } = {},
): Promise<Ownership> {
  const at = options.label ? ` (${options.label})` : '';
  const code = await run.step(`find_code${at}`, `Finding the code ${issue.repository}#${issue.number} concerns`, () => findCode(run, issue));
  const { owners, directory } = await run.step(`resolve_owners${at}`, `Resolving the owners of ${code.paths.length} path(s)`, async () => {
    const loaded = await TeamDirectory.load(run.settings.teamDirectory);
    return { owners: await resolveOwners(run, issue.repository, code.paths, loaded), directory: loaded };
  });
  return { code, owners, assignee: chooseAssignee(options.override, owners, issue, directory) };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
