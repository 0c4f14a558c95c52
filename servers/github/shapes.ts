import { z } from 'zod';

/**
 * The shapes tools return (output schemas) and the conversions from GitHub's REST objects.
 * Tool results carry what a model needs, not every field GitHub sends: logins rather than
 * user objects, label names rather than label objects, bodies bounded in length.
 */

/** Long texts are cut here so one answer cannot flood a model's context. */
export const MAX_ISSUE_BODY_CHARS = 20_000;
export const MAX_COMMENT_BODY_CHARS = 8_000;
export const MAX_PATCH_CHARS = 6_000;

export function truncate(text: string, max: number): { text: string; truncated: boolean } {
  if (text.length <= max) return { text, truncated: false };
  return { text: `${text.slice(0, max)}\n… [truncated: ${text.length - max} more characters]`, truncated: true };
}

// Minimal structural views of GitHub's JSON, so octokit's response types fit without casts.
interface ApiUser {
  login: string;
}
type ApiLabel = string | { name?: string | undefined };
interface ApiMilestone {
  title: string;
}
export interface ApiIssue {
  number: number;
  title: string;
  state: string;
  state_reason?: string | null | undefined;
  user: ApiUser | null;
  labels: ApiLabel[];
  assignees?: ApiUser[] | null | undefined;
  milestone: ApiMilestone | null;
  comments: number;
  pull_request?: unknown;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  html_url: string;
  body?: string | null | undefined;
  locked?: boolean | undefined;
}
export interface ApiComment {
  id: number;
  user: ApiUser | null;
  body?: string | undefined;
  created_at: string;
  updated_at: string;
  html_url: string;
  author_association: string;
}

export const pageInfoSchema = z.object({
  page: z.number().describe('The page returned (1-based).'),
  per_page: z.number(),
  has_more: z.boolean().describe('True when a further page exists.'),
  next_page: z.number().nullable().describe('Pass as "page" to get the next page; null on the last page.'),
  last_page: z.number().nullable().describe('The last page number when GitHub reports it.'),
});

export const issueSummarySchema = z.object({
  number: z.number(),
  title: z.string(),
  state: z.string().describe('"open" or "closed".'),
  state_reason: z.string().nullable().describe('"completed", "not_planned", "reopened" or null.'),
  author: z.string().nullable(),
  labels: z.array(z.string()),
  assignees: z.array(z.string()),
  milestone: z.string().nullable(),
  comments: z.number().describe('Number of comments.'),
  is_pull_request: z.boolean().describe('GitHub lists pull requests among issues; true for those.'),
  created_at: z.string(),
  updated_at: z.string(),
  closed_at: z.string().nullable(),
  html_url: z.string(),
});
export type IssueSummary = z.infer<typeof issueSummarySchema>;

export const issueDetailSchema = issueSummarySchema.extend({
  body: z.string(),
  body_truncated: z.boolean(),
  locked: z.boolean(),
});
export type IssueDetail = z.infer<typeof issueDetailSchema>;

export const commentSchema = z.object({
  id: z.number(),
  author: z.string().nullable(),
  author_association: z.string(),
  body: z.string(),
  body_truncated: z.boolean(),
  created_at: z.string(),
  updated_at: z.string(),
  html_url: z.string(),
});
export type Comment = z.infer<typeof commentSchema>;

const labelName = (label: ApiLabel): string | undefined => (typeof label === 'string' ? label : label.name);

export function toIssueSummary(issue: ApiIssue): IssueSummary {
  return {
    number: issue.number,
    title: issue.title,
    state: issue.state,
    state_reason: issue.state_reason ?? null,
    author: issue.user?.login ?? null,
    labels: issue.labels.map(labelName).filter((name): name is string => typeof name === 'string'),
    assignees: (issue.assignees ?? []).map((user) => user.login),
    milestone: issue.milestone?.title ?? null,
    comments: issue.comments,
    is_pull_request: issue.pull_request !== undefined && issue.pull_request !== null,
    created_at: issue.created_at,
    updated_at: issue.updated_at,
    closed_at: issue.closed_at,
    html_url: issue.html_url,
  };
}

export function toIssueDetail(issue: ApiIssue): IssueDetail {
  const body = truncate(issue.body ?? '', MAX_ISSUE_BODY_CHARS);
  return { ...toIssueSummary(issue), body: body.text, body_truncated: body.truncated, locked: issue.locked ?? false };
}

export function toComment(comment: ApiComment): Comment {
  const body = truncate(comment.body ?? '', MAX_COMMENT_BODY_CHARS);
  return {
    id: comment.id,
    author: comment.user?.login ?? null,
    author_association: comment.author_association,
    body: body.text,
    body_truncated: body.truncated,
    created_at: comment.created_at,
    updated_at: comment.updated_at,
    html_url: comment.html_url,
  };
}

/** One line per issue, for text summaries. */
export function issueLine(issue: IssueSummary): string {
  const kind = issue.is_pull_request ? 'PR ' : '';
  const labels = issue.labels.length > 0 ? ` [${issue.labels.join(', ')}]` : '';
  const assignees = issue.assignees.length > 0 ? `, assigned to ${issue.assignees.map((a) => `@${a}`).join(', ')}` : '';
  return `- ${kind}#${issue.number} (${issue.state}) ${issue.title}${labels} — by @${issue.author ?? 'ghost'}${assignees}, updated ${issue.updated_at}`;
}

export function pageLine(page: { page: number; has_more: boolean; next_page: number | null }): string {
  return page.has_more
    ? `Page ${page.page}; more results exist: call again with page ${page.next_page ?? page.page + 1}.`
    : `Page ${page.page}; no further pages.`;
}

/** An issue and its comments as Markdown, for resources and readable tool output. */
export function issueMarkdown(repository: string, issue: IssueDetail, comments: readonly Comment[], commentsNote?: string): string {
  const lines = [
    `# ${issue.title} (${repository}#${issue.number})`,
    '',
    `- State: ${issue.state}${issue.state_reason ? ` (${issue.state_reason})` : ''}${issue.is_pull_request ? ' — this is a pull request' : ''}`,
    `- Author: @${issue.author ?? 'ghost'}`,
    `- Labels: ${issue.labels.length > 0 ? issue.labels.join(', ') : 'none'}`,
    `- Assignees: ${issue.assignees.length > 0 ? issue.assignees.map((a) => `@${a}`).join(', ') : 'none'}`,
    `- Milestone: ${issue.milestone ?? 'none'}`,
    `- Created: ${issue.created_at}; updated: ${issue.updated_at}${issue.closed_at ? `; closed: ${issue.closed_at}` : ''}`,
    `- URL: ${issue.html_url}`,
    '',
    issue.body.trim() === '' ? '_No description._' : issue.body,
  ];
  if (comments.length > 0 || issue.comments > 0) {
    lines.push('', `## Comments (${issue.comments})`);
    for (const comment of comments) {
      lines.push('', `### @${comment.author ?? 'ghost'} — ${comment.created_at}`, '', comment.body);
    }
    if (commentsNote) lines.push('', `_${commentsNote}_`);
  }
  return lines.join('\n');
}
