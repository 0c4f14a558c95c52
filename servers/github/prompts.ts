import type { GetPromptResult } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { asMcpErrors } from '../../shared/errors.js';
import { formatRepository, parseRepositorySlug, resolveIssueTarget, type RepositoryInput } from './repositoryRef.js';
import { issueMarkdown } from './shapes.js';
import type { GithubToolContext } from './toolContext.js';
import { fetchIssueWithComments } from './tools/issues.js';
import type { SurfaceRegistrar } from '../../shared/serving/serverSurface.js';

const PROMPT_COMMENTS = 30;

function repositoryInput(slug: string | undefined): RepositoryInput {
  const parsed = slug ? parseRepositorySlug(slug) : undefined;
  return parsed ? { owner: parsed.owner, repo: parsed.repo } : {};
}

/**
 * Prompts a user picks to start common GitHub work. `triage_issue` embeds the issue itself;
 * `review_pull_request` points at the tools that fetch the diff, which can be large.
 */
export function registerGithubPrompts(server: SurfaceRegistrar, context: GithubToolContext): void {
  const referenceArgs = {
    repository: z.string().max(200).optional().describe("owner/name; defaults to the server's repository."),
  };

  server.registerPrompt(
    'triage_issue',
    {
      title: 'Triage an issue',
      description:
        'Triage one issue: summarise it, propose labels and priority, find the code owners of the paths it mentions, and draft a reply. The issue and its comments are embedded.',
      argsSchema: { issue: z.string().min(1).max(300).describe('Issue number or URL, e.g. 42 or https://github.com/acme/api/issues/42.'), ...referenceArgs },
    },
    asMcpErrors(async (args): Promise<GetPromptResult> => {
      const { repository, number } = resolveIssueTarget(repositoryInput(args.repository), args.issue, 'issue', context.defaultRepository);
      const result = await fetchIssueWithComments(context, repository, number, 1, PROMPT_COMMENTS);
      const slug = formatRepository(repository);
      return {
        description: `Triage ${slug}#${number}`,
        messages: [
          {
            role: 'user',
            content: {
              type: 'text',
              text:
                `Triage issue ${slug}#${number}, embedded below. 1) Summarise the problem in two sentences. 2) Classify it (bug, feature, question, chore) and propose labels and a priority (low, medium, high, urgent) with a reason. ` +
                "3) List the files or directories it concerns and call get_code_owners for them. 4) Draft a short, friendly reply. Do not post anything without the user's approval (comment_on_issue writes to GitHub).",
            },
          },
          {
            role: 'user',
            content: {
              type: 'resource',
              resource: {
                uri: `github://${slug}/issues/${number}`,
                mimeType: 'text/markdown',
                text: issueMarkdown(slug, result.issue, result.comments, undefined),
              },
            },
          },
        ],
      };
    }),
  );

  server.registerPrompt(
    'review_pull_request',
    {
      title: 'Review a pull request',
      description: 'Review one pull request: its purpose, the changed files, risks, missing tests, and who should review (code owners).',
      argsSchema: { pull_request: z.string().min(1).max(300).describe('Pull request number or URL.'), ...referenceArgs },
    },
    asMcpErrors(async (args): Promise<GetPromptResult> => {
      const { repository, number } = resolveIssueTarget(repositoryInput(args.repository), args.pull_request, 'pull_request', context.defaultRepository);
      const slug = formatRepository(repository);
      return {
        description: `Review ${slug}#${number}`,
        messages: [
          {
            role: 'user',
            content: {
              type: 'text',
              text:
                `Review pull request ${slug}#${number}. Call get_pull_request (owner "${repository.owner}", repo "${repository.repo}", number ${number}) for the description and changed files, ` +
                'and get_file_contents for files you need in full. Then report: what it changes and why; risks (security, data, compatibility); missing tests; and the code owners of the changed paths (get_code_owners) who should approve.',
            },
          },
        ],
      };
    }),
  );
}
