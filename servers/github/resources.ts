import { ResourceTemplate } from '@modelcontextprotocol/server';
import type { ReadResourceResult } from '@modelcontextprotocol/server';
import { LRUCache } from 'lru-cache';
import { asMcpErrors, invalidInput } from '../../shared/errors.js';
import type { SubscribableResources } from '../../shared/serving/resourceChanges.js';
import { callGithub } from './githubErrors.js';
import { formatRepository, parseIssueReference, parseRepositorySlug, type RepositoryRef } from './repositoryRef.js';
import { issueMarkdown } from './shapes.js';
import type { GithubToolContext } from './toolContext.js';
import { commentsNote, fetchIssueWithComments } from './tools/issues.js';
import type { SurfaceRegistrar } from '../../shared/serving/serverSurface.js';

export const ISSUE_TEMPLATE = 'github://{owner}/{repo}/issues/{number}';
export const REPOSITORY_TEMPLATE = 'github://{owner}/{repo}';
const MAX_COMPLETIONS = 100;
const RESOURCE_COMMENTS = 100;

type Variables = Record<string, string | string[]>;

function variable(variables: Variables, name: string): string {
  const value = variables[name];
  return decodeURIComponent(Array.isArray(value) ? (value[0] ?? '') : (value ?? ''));
}

function repositoryFromVariables(variables: Variables): RepositoryRef {
  const slug = `${variable(variables, 'owner')}/${variable(variables, 'repo')}`;
  const repository = parseRepositorySlug(slug);
  if (!repository) throw invalidInput('uri', `"${slug}" is not a repository; the URI must look like github://OWNER/NAME.`);
  return repository;
}

const repositoryUri = (repository: RepositoryRef): string => `github://${formatRepository(repository)}`;

/**
 * Resources: one issue (Markdown and JSON) and a repository summary, with completion for their
 * variables and subscriptions (writes through this server announce the issues they change).
 */
export function registerGithubResources(server: SurfaceRegistrar, context: GithubToolContext): void {
  const completions = completionSources(context);

  server.registerResource(
    'issue',
    new ResourceTemplate(ISSUE_TEMPLATE, {
      list: undefined,
      complete: { owner: completions.owners, repo: completions.repos, number: completions.issueNumbers },
    }),
    {
      title: 'GitHub issue',
      description:
        'One issue or pull request conversation with up to 100 comments, as Markdown (text/markdown) and as JSON (application/json). ' +
        'Example: github://octocat/hello-world/issues/42.',
      mimeType: 'text/markdown',
    },
    asMcpErrors(async (uri: URL, variables: Variables): Promise<ReadResourceResult> => {
      const repository = repositoryFromVariables(variables);
      const { number } = parseIssueReference(variable(variables, 'number'), 'number');
      const result = await fetchIssueWithComments(context, repository, number, 1, RESOURCE_COMMENTS);
      const slug = formatRepository(repository);
      return {
        contents: [
          {
            uri: uri.href,
            mimeType: 'text/markdown',
            text: issueMarkdown(
              slug,
              result.issue,
              result.comments,
              commentsNote(result)?.replace('call get_issue with comments_page', 'use the get_issue tool with comments_page'),
            ),
          },
          { uri: uri.href, mimeType: 'application/json', text: JSON.stringify({ repository: slug, ...result }, null, 2) },
        ],
      };
    }),
  );

  server.registerResource(
    'repository',
    new ResourceTemplate(REPOSITORY_TEMPLATE, {
      list: () => ({
        resources: context.defaultRepository
          ? [
              {
                uri: repositoryUri(context.defaultRepository),
                name: formatRepository(context.defaultRepository),
                title: `${formatRepository(context.defaultRepository)} (default repository)`,
                mimeType: 'text/markdown',
              },
            ]
          : [],
      }),
      complete: { owner: completions.owners, repo: completions.repos },
    }),
    {
      title: 'GitHub repository summary',
      description:
        "A repository's description, default branch, visibility, open issue count, topics, language, license and activity, as Markdown and JSON. " +
        'Example: github://octocat/hello-world.',
      mimeType: 'text/markdown',
    },
    asMcpErrors(async (uri: URL, variables: Variables): Promise<ReadResourceResult> => {
      const repository = repositoryFromVariables(variables);
      const { data } = await callGithub(context, { action: 'read the repository', repository }, () =>
        context.github.rest.repos.get({ owner: repository.owner, repo: repository.repo }),
      );
      context.knownRepositories.remember(repository);
      const summary = {
        full_name: data.full_name,
        description: data.description,
        html_url: data.html_url,
        homepage: data.homepage ?? null,
        default_branch: data.default_branch,
        visibility: data.visibility ?? (data.private ? 'private' : 'public'),
        archived: data.archived,
        fork: data.fork,
        // GitHub's count includes open pull requests.
        open_issues_count: data.open_issues_count,
        has_issues: data.has_issues,
        topics: data.topics ?? [],
        language: data.language ?? null,
        license: data.license?.spdx_id ?? data.license?.name ?? null,
        stargazers_count: data.stargazers_count,
        forks_count: data.forks_count,
        pushed_at: data.pushed_at ?? null,
        updated_at: data.updated_at ?? null,
      };
      const markdown = [
        `# ${summary.full_name}`,
        '',
        summary.description ?? '_No description._',
        '',
        `- URL: ${summary.html_url}${summary.homepage ? ` (homepage: ${summary.homepage})` : ''}`,
        `- Default branch: ${summary.default_branch}`,
        `- Visibility: ${summary.visibility}${summary.archived ? ', archived' : ''}${summary.fork ? ', fork' : ''}`,
        `- Open issues and pull requests: ${summary.open_issues_count}${summary.has_issues ? '' : ' (issues are disabled)'}`,
        `- Topics: ${summary.topics.length > 0 ? summary.topics.join(', ') : 'none'}`,
        `- Language: ${summary.language ?? 'unknown'}; license: ${summary.license ?? 'none'}`,
        `- Stars: ${summary.stargazers_count}; forks: ${summary.forks_count}; last push: ${summary.pushed_at ?? 'never'}`,
      ].join('\n');
      return {
        contents: [
          { uri: uri.href, mimeType: 'text/markdown', text: markdown },
          { uri: uri.href, mimeType: 'application/json', text: JSON.stringify(summary, null, 2) },
        ],
      };
    }),
  );
}

const ISSUE_URI = /^github:\/\/[^/]+\/[^/]+\/issues\/\d+$/;
const REPOSITORY_URI = /^github:\/\/[^/]+\/[^/]+$/;

/** Issues and repositories may be subscribed to by their github:// URI (owner and name compare without case, as on GitHub). */
export const subscribableGithubResources: SubscribableResources = {
  subscriptionKey: (uri) => {
    if (!ISSUE_URI.test(uri) && !REPOSITORY_URI.test(uri)) {
      throw invalidInput(
        'uri',
        `"${uri}" is not a resource of this server.`,
        'Subscribe to an issue (github://OWNER/REPO/issues/NUMBER) or a repository (github://OWNER/REPO).',
      );
    }
    return uri.toLowerCase();
  },
  updateKey: (uri) => uri.toLowerCase(),
};

interface CompletionContext {
  arguments?: Record<string, string>;
}

/** Completion values: repositories from configuration and use, issue numbers from recent open issues. */
function completionSources(context: GithubToolContext) {
  // Completion runs on every keystroke: keep GitHub answers for a minute.
  const recentIssues = new LRUCache<string, string[]>({ max: 100, ttl: 60_000 });

  const repositories = (): RepositoryRef[] => {
    const known = context.knownRepositories.list();
    return context.defaultRepository ? [context.defaultRepository, ...known] : known;
  };
  const startsWith = (value: string) => (candidate: string) => candidate.toLowerCase().startsWith(value.toLowerCase());
  const unique = (values: string[]): string[] => [...new Set(values)].slice(0, MAX_COMPLETIONS);

  const owners = (value: string): string[] =>
    unique(
      repositories()
        .map((r) => r.owner)
        .filter(startsWith(value)),
    );

  const repos = (value: string, completion?: CompletionContext): string[] => {
    const owner = completion?.arguments?.owner?.toLowerCase();
    return unique(
      repositories()
        .filter((r) => owner === undefined || owner === '' || r.owner.toLowerCase() === owner)
        .map((r) => r.repo)
        .filter(startsWith(value)),
    );
  };

  const issueNumbers = async (value: string, completion?: CompletionContext): Promise<string[]> => {
    const owner = completion?.arguments?.owner;
    const repo = completion?.arguments?.repo;
    const repository = owner && repo ? parseRepositorySlug(`${owner}/${repo}`) : context.defaultRepository;
    if (!repository) return [];
    const key = formatRepository(repository).toLowerCase();
    let numbers = recentIssues.get(key);
    if (!numbers) {
      try {
        const { data } = await context.github.rest.issues.listForRepo({
          owner: repository.owner,
          repo: repository.repo,
          state: 'open',
          sort: 'updated',
          direction: 'desc',
          per_page: 100,
        });
        numbers = data.map((issue) => String(issue.number));
        recentIssues.set(key, numbers);
      } catch (error) {
        // Completion is a convenience: an unreachable or forbidden repository offers no values.
        context.logger.debug({ err: error, repository: key }, 'issue number completion failed');
        return [];
      }
    }
    return numbers.filter((n) => n.startsWith(value.replace(/^#/, ''))).slice(0, MAX_COMPLETIONS);
  };

  return { owners, repos, issueNumbers };
}
