import { z } from 'zod';
import { pageInfoFromLink } from '../githubClient.js';
import { callGithub } from '../githubErrors.js';
import { formatRepository, issueNumberInput, repositoryInputShape, resolveIssueTarget } from '../repositoryRef.js';
import { MAX_ISSUE_BODY_CHARS, MAX_PATCH_CHARS, pageInfoSchema, pageLine, truncate } from '../shapes.js';
import { guardTool, toolSuccess } from '../../../shared/toolResult.js';
import { READ_ONLY_ANNOTATIONS, type GithubToolContext } from '../toolContext.js';
import type { SurfaceRegistrar } from '../../../shared/serving/serverSurface.js';

/** GitHub lists at most 3,000 files of a pull request. */
const MAX_LISTED_FILES = 3000;

const branchSchema = z.object({
  ref: z.string(),
  sha: z.string(),
  repository: z.string().nullable().describe("owner/name of the branch's repository (differs from the base for forks); null if deleted."),
});

const pullRequestSchema = z.object({
  number: z.number(),
  title: z.string(),
  state: z.string().describe('"open" or "closed".'),
  draft: z.boolean(),
  merged: z.boolean(),
  mergeable: z.boolean().nullable().describe('null while GitHub is still computing it.'),
  mergeable_state: z.string().nullable(),
  author: z.string().nullable(),
  labels: z.array(z.string()),
  assignees: z.array(z.string()),
  requested_reviewers: z.array(z.string()).describe('Logins of users whose review is requested.'),
  requested_teams: z.array(z.string()).describe('Teams whose review is requested, as "org/team-slug".'),
  head: branchSchema,
  base: branchSchema,
  body: z.string(),
  body_truncated: z.boolean(),
  commits: z.number(),
  additions: z.number(),
  deletions: z.number(),
  changed_files: z.number(),
  comments: z.number(),
  review_comments: z.number(),
  created_at: z.string(),
  updated_at: z.string(),
  closed_at: z.string().nullable(),
  merged_at: z.string().nullable(),
  merged_by: z.string().nullable(),
  html_url: z.string(),
});

const changedFileSchema = z.object({
  filename: z.string(),
  status: z.string().describe('added, removed, modified, renamed, copied, changed or unchanged.'),
  previous_filename: z.string().nullable().describe('The old path of a renamed file.'),
  additions: z.number(),
  deletions: z.number(),
  changes: z.number(),
  patch: z
    .string()
    .nullable()
    .describe('Unified diff for the file (cut at 6,000 characters); null for binary or very large diffs, or when include_patches is false.'),
  patch_truncated: z.boolean(),
});

export function registerPullRequestTools(server: SurfaceRegistrar, context: GithubToolContext): void {
  server.registerTool(
    'get_pull_request',
    {
      title: 'Get a GitHub pull request and its changed files',
      description:
        'Get one pull request: title, state, draft/merged/mergeable, author, head and base branches, requested reviewers, description ' +
        '(cut at 20,000 characters), size (commits, additions, deletions) and one page of the files it changes with their diffs ' +
        '(each patch cut at 6,000 characters; set include_patches to false for just the file list). Inputs: pull_number (a number, "#12", ' +
        '"owner/repo#12" or a pull request URL), optional owner/repo (default: the server\'s repository), files_per_page (1-100, default 30), files_page. ' +
        'The answer says whether more file pages exist (GitHub lists at most 3,000 files). Use get_issue for the conversation comments.',
      inputSchema: {
        ...repositoryInputShape,
        pull_number: issueNumberInput('pull request'),
        include_patches: z.boolean().default(true).describe("Include each file's diff (default true)."),
        files_per_page: z.number().int().min(1).max(100).default(30).describe('Changed files per page, 1-100 (default 30).'),
        files_page: z.number().int().min(1).max(MAX_LISTED_FILES).default(1).describe('Page of changed files, from 1 (default 1).'),
      },
      outputSchema: z.object({
        repository: z.string(),
        pull_request: pullRequestSchema,
        files: z.array(changedFileSchema),
        files_page: pageInfoSchema,
      }),
      annotations: READ_ONLY_ANNOTATIONS,
    },
    guardTool(context.logger, 'get_pull_request', async (args) => {
      const { repository, number } = resolveIssueTarget(args, args.pull_number, 'pull_number', context.defaultRepository);
      const slug = formatRepository(repository);
      const target = {
        action: `read pull request #${number}`,
        repository,
        subject: {
          label: `Pull request #${number}`,
          listHint: 'Find pull request numbers with search_issues (type "pull_request"); an issue number is not a pull request number.',
        },
      };
      const { data: pr } = await callGithub(context, target, () =>
        context.github.rest.pulls.get({ owner: repository.owner, repo: repository.repo, pull_number: number }),
      );
      context.knownRepositories.remember(repository);
      const filesResponse = await callGithub(context, { ...target, action: `list the files of pull request #${number}` }, () =>
        context.github.rest.pulls.listFiles({
          owner: repository.owner,
          repo: repository.repo,
          pull_number: number,
          per_page: args.files_per_page,
          page: args.files_page,
        }),
      );
      const files = filesResponse.data.map((file) => {
        const patch = args.include_patches && file.patch !== undefined ? truncate(file.patch, MAX_PATCH_CHARS) : undefined;
        return {
          filename: file.filename,
          status: file.status,
          previous_filename: file.previous_filename ?? null,
          additions: file.additions,
          deletions: file.deletions,
          changes: file.changes,
          patch: patch?.text ?? null,
          patch_truncated: patch?.truncated ?? false,
        };
      });
      const filesPage = pageInfoFromLink(filesResponse.headers.link, args.files_page, args.files_per_page);
      const body = truncate(pr.body ?? '', MAX_ISSUE_BODY_CHARS);
      const pullRequest = {
        number: pr.number,
        title: pr.title,
        state: pr.state,
        draft: pr.draft ?? false,
        merged: pr.merged,
        mergeable: pr.mergeable,
        mergeable_state: pr.mergeable_state ?? null,
        author: pr.user.login,
        labels: pr.labels.map((label) => label.name),
        assignees: (pr.assignees ?? []).map((user) => user.login),
        requested_reviewers: (pr.requested_reviewers ?? []).map((user) => user.login),
        requested_teams: (pr.requested_teams ?? []).map((team) => `${repository.owner}/${team.slug}`),
        head: { ref: pr.head.ref, sha: pr.head.sha, repository: pr.head.repo?.full_name ?? null },
        base: { ref: pr.base.ref, sha: pr.base.sha, repository: pr.base.repo.full_name },
        body: body.text,
        body_truncated: body.truncated,
        commits: pr.commits,
        additions: pr.additions,
        deletions: pr.deletions,
        changed_files: pr.changed_files,
        comments: pr.comments,
        review_comments: pr.review_comments,
        created_at: pr.created_at,
        updated_at: pr.updated_at,
        closed_at: pr.closed_at,
        merged_at: pr.merged_at,
        merged_by: pr.merged_by?.login ?? null,
        html_url: pr.html_url,
      };
      const status = pullRequest.merged ? 'merged' : pullRequest.draft ? `${pullRequest.state}, draft` : pullRequest.state;
      const text = [
        `# ${pullRequest.title} (${slug}#${pullRequest.number}, ${status})`,
        `${pullRequest.head.repository ?? '(deleted fork)'}:${pullRequest.head.ref} → ${pullRequest.base.ref} by @${pullRequest.author ?? 'ghost'}; ` +
          `${pullRequest.commits} commits, +${pullRequest.additions} −${pullRequest.deletions} in ${pullRequest.changed_files} files.`,
        pullRequest.requested_reviewers.length + pullRequest.requested_teams.length > 0
          ? `Review requested from: ${[...pullRequest.requested_reviewers.map((login) => `@${login}`), ...pullRequest.requested_teams.map((team) => `@${team}`)].join(', ')}`
          : '',
        pullRequest.html_url,
        '',
        pullRequest.body.trim() === '' ? '_No description._' : pullRequest.body,
        '',
        `## Files (page ${filesPage.page})`,
        ...files.map(
          (file) => `- ${file.status} ${file.previous_filename ? `${file.previous_filename} → ` : ''}${file.filename} (+${file.additions} −${file.deletions})`,
        ),
        pageLine(filesPage).replace('call again with page', 'call again with files_page'),
      ]
        .filter((line, index, lines) => line !== '' || lines[index - 1] !== '')
        .join('\n');
      return toolSuccess(text, { repository: slug, pull_request: pullRequest, files, files_page: filesPage });
    }),
  );
}
