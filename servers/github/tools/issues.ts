import { z } from 'zod';
import { invalidInput } from '../../../shared/errors.js';
import { pageInfoFromLink, type PageInfo } from '../githubClient.js';
import { callGithub, type GithubTarget } from '../githubErrors.js';
import { describeIssueChanges, ISSUE_STATE_REASONS, ISSUE_STATES, planIssueUpdate } from '../issueUpdate.js';
import {
  formatRepository,
  issueNumberInput,
  parseRepositorySlug,
  repositoryInputShape,
  resolveIssueTarget,
  resolveRepository,
  type RepositoryRef,
} from '../repositoryRef.js';
import {
  commentSchema,
  issueDetailSchema,
  issueLine,
  issueMarkdown,
  issueSummarySchema,
  pageInfoSchema,
  pageLine,
  toComment,
  toIssueDetail,
  toIssueSummary,
  type Comment,
  type IssueDetail,
} from '../shapes.js';
import { guardTool, toolSuccess } from '../../../shared/toolResult.js';
import {
  actingCaller,
  announceIssueChange,
  ADDITIVE_WRITE_ANNOTATIONS,
  IDEMPOTENT_WRITE_ANNOTATIONS,
  READ_ONLY_ANNOTATIONS,
  type GithubToolContext,
} from '../toolContext.js';
import type { SurfaceRegistrar } from '../../../shared/serving/serverSurface.js';

const ISSUE_LIST_HINT = 'List valid issue numbers with list_issues or search_issues.';
/** GitHub's search API returns at most the first 1,000 results of a query. */
const SEARCH_RESULT_CAP = 1000;

const perPageInput = (what: string, fallback: number) =>
  z.number().int().min(1).max(100).default(fallback).describe(`${what} per page, 1-100 (default ${fallback}).`);
const pageInput = (what: string) =>
  z.number().int().min(1).max(10_000).default(1).describe(`Page of ${what} to return, from 1 (default 1). Use next_page from a previous answer.`);
const loginInput = z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/, 'must be a GitHub login');

export interface IssueWithComments {
  issue: IssueDetail;
  comments: Comment[];
  comments_page: PageInfo;
}

/** An issue and one page of its comments; shared by get_issue and the issue resource. */
export async function fetchIssueWithComments(
  context: GithubToolContext,
  repository: RepositoryRef,
  number: number,
  commentsPage: number,
  commentsPerPage: number,
): Promise<IssueWithComments> {
  const target = {
    action: `read issue #${number}`,
    repository,
    subject: issueSubject(number),
  };
  const { data } = await callGithub(context, target, () =>
    context.github.rest.issues.get({ owner: repository.owner, repo: repository.repo, issue_number: number }),
  );
  context.knownRepositories.remember(repository);
  const issue = toIssueDetail(data);
  if (issue.comments === 0) {
    return { issue, comments: [], comments_page: { page: commentsPage, per_page: commentsPerPage, has_more: false, next_page: null, last_page: 1 } };
  }
  const response = await callGithub(context, { ...target, action: `read the comments of issue #${number}` }, () =>
    context.github.rest.issues.listComments({
      owner: repository.owner,
      repo: repository.repo,
      issue_number: number,
      per_page: commentsPerPage,
      page: commentsPage,
    }),
  );
  return {
    issue,
    comments: response.data.map(toComment),
    comments_page: pageInfoFromLink(response.headers.link, commentsPage, commentsPerPage),
  };
}

export function commentsNote(result: IssueWithComments): string | undefined {
  const { comments_page: page, comments, issue } = result;
  if (issue.comments === 0) return undefined;
  const first = (page.page - 1) * page.per_page + 1;
  const range =
    comments.length > 0
      ? `comments ${first}-${first + comments.length - 1} of ${issue.comments}`
      : `no comments on page ${page.page} (of ${issue.comments} in total)`;
  return page.has_more ? `Showing ${range}; call get_issue with comments_page ${page.next_page ?? page.page + 1} for more.` : `Showing ${range}.`;
}

export function registerIssueTools(server: SurfaceRegistrar, context: GithubToolContext, options: { readOnly: boolean }): void {
  server.registerTool(
    'get_issue',
    {
      title: 'Get a GitHub issue',
      description:
        'Get one issue (or pull request conversation) with its comments: title, state, author, labels, assignees, milestone, body ' +
        '(cut at 20,000 characters) and one page of comments, oldest first. Inputs: issue_number (a number, "#42", "owner/repo#42" or an ' +
        "issue URL), optional owner/repo (default: the server's repository), comments_per_page (1-100, default 30) and comments_page. " +
        'The answer says whether more comment pages exist. Use it when the user names a specific issue; use list_issues or search_issues to find one.',
      inputSchema: {
        ...repositoryInputShape,
        issue_number: issueNumberInput('issue'),
        comments_per_page: perPageInput('Comments', 30),
        comments_page: pageInput('comments'),
      },
      outputSchema: z.object({
        repository: z.string().describe('owner/name'),
        issue: issueDetailSchema,
        comments: z.array(commentSchema),
        comments_page: pageInfoSchema,
      }),
      annotations: READ_ONLY_ANNOTATIONS,
    },
    guardTool(context.logger, 'get_issue', async (args) => {
      const { repository, number } = resolveIssueTarget(args, args.issue_number, 'issue_number', context.defaultRepository);
      const result = await fetchIssueWithComments(context, repository, number, args.comments_page, args.comments_per_page);
      const slug = formatRepository(repository);
      return toolSuccess(issueMarkdown(slug, result.issue, result.comments, commentsNote(result)), { repository: slug, ...result });
    }),
  );

  server.registerTool(
    'list_issues',
    {
      title: 'List GitHub issues',
      description:
        'List issues in a repository, newest first by default. Filters: state (open, closed, all; default open), labels (all must match), ' +
        'assignee (a login, "none" for unassigned, "*" for any), creator, mentioned, since (only issues updated at or after an ISO 8601 time). ' +
        'Sort by created, updated or comments. Pagination: per_page 1-100 (default 30) and page; the answer says whether more pages exist and ' +
        'which page to ask for next. GitHub counts pull requests as issues: they are left out unless include_pull_requests is true, so a page ' +
        'can hold fewer than per_page items. Use search_issues for free-text queries.',
      inputSchema: {
        ...repositoryInputShape,
        state: z.enum(['open', 'closed', 'all']).default('open').describe('Issue state to list (default open).'),
        labels: z.array(z.string().min(1).max(100)).max(20).optional().describe('Only issues that carry all of these label names.'),
        assignee: z
          .union([loginInput, z.enum(['none', '*'])])
          .optional()
          .describe('Only issues assigned to this login; "none" for unassigned issues, "*" for issues with any assignee.'),
        creator: loginInput.optional().describe('Only issues opened by this login.'),
        mentioned: loginInput.optional().describe('Only issues that mention this login.'),
        since: z
          .union([z.iso.datetime({ offset: true }), z.iso.date()])
          .optional()
          .describe('Only issues updated at or after this time, ISO 8601 (e.g. 2024-05-01 or 2024-05-01T12:00:00Z).'),
        sort: z.enum(['created', 'updated', 'comments']).default('created').describe('Sort field (default created).'),
        direction: z.enum(['asc', 'desc']).default('desc').describe('Sort direction (default desc).'),
        include_pull_requests: z.boolean().default(false).describe('Also return pull requests (GitHub lists them as issues). Default false.'),
        per_page: perPageInput('Issues', 30),
        page: pageInput('issues'),
      },
      outputSchema: z.object({
        repository: z.string(),
        issues: z.array(issueSummarySchema),
        pull_requests_omitted: z.number().describe('Pull requests on this page that were left out (include_pull_requests is false).'),
        page: pageInfoSchema,
      }),
      annotations: READ_ONLY_ANNOTATIONS,
    },
    guardTool(context.logger, 'list_issues', async (args) => {
      const repository = resolveRepository(args, context.defaultRepository);
      const slug = formatRepository(repository);
      const response = await callGithub(context, { action: 'list issues', repository }, () =>
        context.github.rest.issues.listForRepo({
          owner: repository.owner,
          repo: repository.repo,
          state: args.state,
          sort: args.sort,
          direction: args.direction,
          per_page: args.per_page,
          page: args.page,
          ...(args.labels && args.labels.length > 0 ? { labels: args.labels.join(',') } : {}),
          ...(args.assignee ? { assignee: args.assignee } : {}),
          ...(args.creator ? { creator: args.creator } : {}),
          ...(args.mentioned ? { mentioned: args.mentioned } : {}),
          ...(args.since ? { since: args.since.length === 10 ? `${args.since}T00:00:00Z` : args.since } : {}),
        }),
      );
      context.knownRepositories.remember(repository);
      const all = response.data.map(toIssueSummary);
      const issues = args.include_pull_requests ? all : all.filter((issue) => !issue.is_pull_request);
      const page = pageInfoFromLink(response.headers.link, args.page, args.per_page);
      const omitted = all.length - issues.length;
      const heading =
        issues.length === 0
          ? `No ${args.state === 'all' ? '' : `${args.state} `}issues match in ${slug} on page ${args.page}.`
          : `${issues.length} ${args.state === 'all' ? '' : `${args.state} `}issue${issues.length === 1 ? '' : 's'} in ${slug}:`;
      const text = [heading, ...issues.map(issueLine), omitted > 0 ? `(${omitted} pull request${omitted === 1 ? '' : 's'} left out.)` : '', pageLine(page)]
        .filter((line) => line !== '')
        .join('\n');
      return toolSuccess(text, { repository: slug, issues, pull_requests_omitted: omitted, page });
    }),
  );

  server.registerTool(
    'search_issues',
    {
      title: 'Search GitHub issues',
      description:
        'Search issues with GitHub\'s search syntax, e.g. "crash in:title label:bug is:open author:octocat created:>2024-01-01". ' +
        "By default the search is limited to the repository (owner/repo, or the server's default) unless the query already has a repo:, org: or user: " +
        'qualifier; set scope_to_repository to false to search all of GitHub. type picks issues (default), pull requests or both. ' +
        'Returns total_count, one page of matches (per_page 1-100, default 30; GitHub serves only the first 1,000 results) and whether more pages exist. ' +
        'Search has a lower rate limit (30 requests per minute when authenticated) than other calls.',
      inputSchema: {
        ...repositoryInputShape,
        query: z
          .string()
          .trim()
          .min(1)
          .max(1000)
          .describe('GitHub search query: keywords and qualifiers (is:open, label:bug, author:LOGIN, in:title, created:>DATE …).'),
        scope_to_repository: z
          .boolean()
          .default(true)
          .describe('Add repo:OWNER/NAME to the query when it has no repo:, org: or user: qualifier (default true).'),
        type: z
          .enum(['issue', 'pull_request', 'both'])
          .default('issue')
          .describe('What to search for (default issue), unless the query has an is:/type: qualifier.'),
        sort: z.enum(['comments', 'reactions', 'interactions', 'created', 'updated']).optional().describe('Sort field; omitted means best match.'),
        order: z.enum(['asc', 'desc']).default('desc').describe('Sort order when sort is given (default desc).'),
        per_page: perPageInput('Results', 30),
        page: pageInput('results'),
      },
      outputSchema: z.object({
        query: z.string().describe('The query sent to GitHub, after scoping.'),
        total_count: z.number(),
        incomplete_results: z.boolean().describe('True when GitHub timed out and the results may be partial.'),
        items: z.array(issueSummarySchema.extend({ repository: z.string() })),
        page: pageInfoSchema,
      }),
      annotations: READ_ONLY_ANNOTATIONS,
    },
    guardTool(context.logger, 'search_issues', async (args) => {
      if ((args.page - 1) * args.per_page >= SEARCH_RESULT_CAP) {
        throw invalidInput('page', `GitHub search serves only the first ${SEARCH_RESULT_CAP} results.`, 'Narrow the query instead of paging further.');
      }
      const q = scopedSearchQuery(args, context.defaultRepository);
      const repository = parseRepositorySlug(/(?:^|\s)repo:(\S+)/.exec(q)?.[1] ?? '');
      const response = await callGithub(context, { action: `search issues for "${q}"`, ...(repository ? { repository } : {}) }, () =>
        context.github.rest.search.issuesAndPullRequests({
          q,
          per_page: args.per_page,
          page: args.page,
          ...(args.sort ? { sort: args.sort, order: args.order } : {}),
        }),
      );
      const items = response.data.items.map((item) => ({ ...toIssueSummary(item), repository: repositoryFromApiUrl(item.repository_url) }));
      for (const slug of new Set(items.map((item) => item.repository))) {
        const ref = parseRepositorySlug(slug);
        if (ref) context.knownRepositories.remember(ref);
      }
      const page = pageInfoFromLink(response.headers.link, args.page, args.per_page);
      const { total_count, incomplete_results } = response.data;
      const text = [
        `${total_count} result${total_count === 1 ? '' : 's'} for ${q}${incomplete_results ? ' (incomplete: GitHub timed out)' : ''}:`,
        ...items.map((item) => `${issueLine(item)} — ${item.repository}`),
        pageLine(page),
      ].join('\n');
      return toolSuccess(text, { query: q, total_count, incomplete_results, items, page });
    }),
  );

  if (options.readOnly) return;

  server.registerTool(
    'create_issue',
    {
      title: 'Create a GitHub issue',
      description:
        'Open a new issue. Inputs: title (1-256 characters, required), body (Markdown, up to 65,536 characters), labels (names; up to 20), ' +
        "assignees (logins; up to 10), milestone (its number), and optional owner/repo (default: the server's repository). Labels, assignees and " +
        "milestone are applied only if the token may triage the repository (GitHub drops them silently otherwise). Returns the new issue's number " +
        'and URL. Each call creates another issue: do not repeat it to retry unless the previous call failed. Needs a token with write access to issues.',
      inputSchema: {
        ...repositoryInputShape,
        title: z.string().trim().min(1).max(256).describe('Issue title, 1-256 characters.'),
        body: z.string().max(65_536).optional().describe('Issue description in GitHub-flavoured Markdown, up to 65,536 characters.'),
        labels: z
          .array(z.string().min(1).max(100))
          .max(20)
          .optional()
          .describe('Label names to apply (they must exist in the repository to keep their colour).'),
        assignees: z.array(loginInput).max(10).optional().describe('Logins to assign (must have access to the repository).'),
        milestone: z.number().int().min(1).optional().describe('Milestone number to attach.'),
      },
      outputSchema: z.object({
        repository: z.string(),
        issue: issueSummarySchema,
      }),
      annotations: ADDITIVE_WRITE_ANNOTATIONS,
    },
    guardTool(context.logger, 'create_issue', async (args, extra) => {
      const repository = resolveRepository(args, context.defaultRepository);
      const slug = formatRepository(repository);
      const caller = actingCaller(context, extra.mcpReq._meta);
      context.logger.info(
        { tool: 'create_issue', repository: slug, caller: caller.user, gatewaySession: caller.session },
        'creating issue on behalf of caller',
      );
      const { data } = await callGithub(context, { action: 'create an issue', repository }, () =>
        context.github.rest.issues.create({
          owner: repository.owner,
          repo: repository.repo,
          title: args.title,
          ...(args.body !== undefined ? { body: args.body } : {}),
          ...(args.labels ? { labels: args.labels } : {}),
          ...(args.assignees ? { assignees: args.assignees } : {}),
          ...(args.milestone !== undefined ? { milestone: args.milestone } : {}),
        }),
      );
      context.knownRepositories.remember(repository);
      const issue = toIssueSummary(data);
      context.logger.info({ tool: 'create_issue', repository: slug, caller: caller.user, issue: issue.number }, 'issue created');
      announceIssueChange(context, repository, issue.number);
      return toolSuccess(`Created issue ${slug}#${issue.number}: ${issue.title}\n${issue.html_url}`, { repository: slug, issue });
    }),
  );

  server.registerTool(
    'comment_on_issue',
    {
      title: 'Comment on a GitHub issue or pull request',
      description:
        'Add a comment to an issue or to a pull request\'s conversation. Inputs: issue_number (a number, "#42", "owner/repo#42" or an issue/PR URL), ' +
        "body (Markdown, 1-65,536 characters), optional owner/repo (default: the server's repository). Returns the comment's id and URL. " +
        'Each call posts another comment: do not repeat it to retry unless the previous call failed. Needs a token with write access to issues.',
      inputSchema: {
        ...repositoryInputShape,
        issue_number: issueNumberInput('issue'),
        body: z
          .string()
          .min(1)
          .max(65_536)
          .refine((value) => value.trim() !== '', 'must not be blank')
          .describe('Comment text in GitHub-flavoured Markdown.'),
      },
      outputSchema: z.object({
        repository: z.string(),
        issue_number: z.number(),
        comment: commentSchema,
      }),
      annotations: ADDITIVE_WRITE_ANNOTATIONS,
    },
    guardTool(context.logger, 'comment_on_issue', async (args, extra) => {
      const { repository, number } = resolveIssueTarget(args, args.issue_number, 'issue_number', context.defaultRepository);
      const slug = formatRepository(repository);
      const caller = actingCaller(context, extra.mcpReq._meta);
      context.logger.info(
        { tool: 'comment_on_issue', repository: slug, issue: number, caller: caller.user, gatewaySession: caller.session },
        'commenting on behalf of caller',
      );
      const { data } = await callGithub(context, { action: `comment on issue #${number}`, repository, subject: issueSubject(number) }, () =>
        context.github.rest.issues.createComment({ owner: repository.owner, repo: repository.repo, issue_number: number, body: args.body }),
      );
      context.knownRepositories.remember(repository);
      const comment = toComment(data);
      announceIssueChange(context, repository, number);
      return toolSuccess(`Commented on ${slug}#${number}: ${comment.html_url}`, { repository: slug, issue_number: number, comment });
    }),
  );

  server.registerTool(
    'update_issue',
    {
      title: 'Close, reopen or edit a GitHub issue',
      description:
        'Change an existing issue: close it (state "closed", with state_reason "completed" or "not_planned"), reopen it (state "open", state_reason ' +
        '"reopened" or omitted), or edit its title, body, labels or assignees. Inputs: issue_number (a number, "#42", "owner/repo#42" or an issue URL), ' +
        "optional owner/repo (default: the server's repository), and at least one change. labels and assignees replace the current ones ([] clears them); " +
        'GitHub drops label and assignee changes silently unless the token may triage the repository. Returns the issue as it is afterwards. ' +
        'Setting the same values again changes nothing, so a call may be repeated. Use it to close an issue whose work is done or to correct one; ' +
        "use comment_on_issue to say why. Needs a token with write access to issues (closing others' issues needs triage access).",
      inputSchema: {
        ...repositoryInputShape,
        issue_number: issueNumberInput('issue'),
        state: z.enum(ISSUE_STATES).optional().describe('"closed" to close the issue, "open" to reopen it. Omit to leave the state as it is.'),
        state_reason: z
          .enum(ISSUE_STATE_REASONS)
          .optional()
          .describe('Why the state changes; only with state: "completed" (default when closing) or "not_planned" with "closed", "reopened" with "open".'),
        title: z.string().trim().min(1).max(256).optional().describe('New title, 1-256 characters.'),
        body: z.string().max(65_536).optional().describe('New description in GitHub-flavoured Markdown, up to 65,536 characters; "" clears it.'),
        labels: z.array(z.string().min(1).max(100)).max(20).optional().describe('Label names that replace the current labels; [] removes them all.'),
        assignees: z.array(loginInput).max(10).optional().describe('Logins that replace the current assignees; [] unassigns everyone.'),
      },
      outputSchema: z.object({
        repository: z.string(),
        issue: issueSummarySchema,
      }),
      annotations: IDEMPOTENT_WRITE_ANNOTATIONS,
    },
    guardTool(context.logger, 'update_issue', async (args, extra) => {
      const { repository, number } = resolveIssueTarget(args, args.issue_number, 'issue_number', context.defaultRepository);
      const { changes, action } = planIssueUpdate(args, number);
      const slug = formatRepository(repository);
      const caller = actingCaller(context, extra.mcpReq._meta);
      const asked = describeIssueChanges(changes);
      context.logger.info(
        { tool: 'update_issue', repository: slug, issue: number, changes: asked, caller: caller.user, gatewaySession: caller.session },
        'updating issue on behalf of caller',
      );
      const { data } = await callGithub(context, { action, repository, subject: issueSubject(number) }, () =>
        context.github.rest.issues.update({ owner: repository.owner, repo: repository.repo, issue_number: number, ...changes }),
      );
      context.knownRepositories.remember(repository);
      const issue = toIssueSummary(data);
      context.logger.info({ tool: 'update_issue', repository: slug, issue: number, state: issue.state, caller: caller.user }, 'issue updated');
      announceIssueChange(context, repository, number);
      const state = issue.state === 'closed' ? `closed${issue.state_reason ? ` (${issue.state_reason})` : ''}` : issue.state;
      return toolSuccess(`Updated ${slug}#${number}: ${asked}. It is now ${state}: ${issue.title}\n${issue.html_url}`, { repository: slug, issue });
    }),
  );
}

/** The issue a call is about, for not-found messages. */
function issueSubject(number: number): GithubTarget['subject'] {
  return { label: `Issue #${number}`, listHint: ISSUE_LIST_HINT };
}

const SCOPE_QUALIFIER = /(?:^|\s)-?(?:repo|org|user):\S/i;
const TYPE_QUALIFIER = /(?:^|\s)(?:is:(?:issue|pr|pull-request)|type:(?:issue|pr))\b/i;

/** The query sent to GitHub: scoped to a repository and a type unless the query already says. */
export function scopedSearchQuery(
  args: { owner?: string | undefined; repo?: string | undefined; query: string; scope_to_repository: boolean; type: 'issue' | 'pull_request' | 'both' },
  defaultRepository: RepositoryRef | undefined,
): string {
  const parts = [args.query];
  if (args.scope_to_repository && !SCOPE_QUALIFIER.test(args.query)) {
    if (args.owner === undefined && args.repo === undefined && !defaultRepository) {
      throw invalidInput(
        'query',
        'the search is limited to one repository by default, but no repository was given and the server has no default.',
        'Pass owner and repo, add a repo:/org:/user: qualifier to the query, or set scope_to_repository to false to search all of GitHub.',
      );
    }
    parts.push(`repo:${formatRepository(resolveRepository(args, defaultRepository))}`);
  }
  if (args.type !== 'both' && !TYPE_QUALIFIER.test(args.query)) parts.push(args.type === 'issue' ? 'is:issue' : 'is:pr');
  return parts.join(' ');
}

function repositoryFromApiUrl(url: string): string {
  const match = /\/repos\/([^/]+)\/([^/]+)$/.exec(url);
  return match?.[1] && match[2] ? `${match[1]}/${match[2]}` : url;
}
