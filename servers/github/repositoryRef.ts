import { z } from 'zod';
import { invalidInput } from '../../shared/errors.js';

/** A repository named the way GitHub's URLs name it. */
export interface RepositoryRef {
  owner: string;
  repo: string;
}

// GitHub logins: alphanumerics and single hyphens, at most 39 characters.
const OWNER_SOURCE = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})';
// Repository names: letters, digits, '.', '-', '_', at most 100 characters.
const REPO_SOURCE = '[A-Za-z0-9._-]{1,100}';
const OWNER_PATTERN = new RegExp(`^${OWNER_SOURCE}$`);
const SLUG_PATTERN = new RegExp(`^(${OWNER_SOURCE})/(${REPO_SOURCE})$`);

export const formatRepository = (ref: RepositoryRef): string => `${ref.owner}/${ref.repo}`;

/** Parse `owner/name`; undefined when it is not one. */
export function parseRepositorySlug(value: string): RepositoryRef | undefined {
  const match = SLUG_PATTERN.exec(value.trim());
  if (!match?.[1] || !match[2] || match[2] === '.' || match[2] === '..') return undefined;
  return { owner: match[1], repo: match[2] };
}

export const REPOSITORY_SLUG_MESSAGE = 'must be owner/name, e.g. octocat/hello-world';

/** The optional `owner`/`repo` inputs every tool accepts. */
export const repositoryInputShape = {
  owner: z
    .string()
    .regex(OWNER_PATTERN, 'must be a GitHub user or organization login, e.g. "octocat"')
    .optional()
    .describe('Repository owner (user or organization login). Optional when the server has a default repository (GITHUB_REPOSITORY).'),
  repo: z
    .string()
    .regex(new RegExp(`^(?:${OWNER_SOURCE}/)?${REPO_SOURCE}$`), 'must be a repository name such as "hello-world", or "owner/name"')
    .optional()
    .describe(
      'Repository name, or "owner/name". Optional when the server has a default repository (GITHUB_REPOSITORY); with only repo given, the owner defaults to the default repository\'s owner.',
    ),
};

export interface RepositoryInput {
  owner?: string | undefined;
  repo?: string | undefined;
}

const MISSING_REPOSITORY_ACTION = 'Pass "owner" and "repo" (e.g. owner "octocat", repo "hello-world"), or start the server with GITHUB_REPOSITORY=owner/name.';

/** Resolve the repository a call is about from its inputs and the server default. */
export function resolveRepository(input: RepositoryInput, defaultRepository: RepositoryRef | undefined): RepositoryRef {
  let owner = input.owner;
  let repo = input.repo;
  if (repo?.includes('/')) {
    const slug = parseRepositorySlug(repo);
    if (!slug) throw invalidInput('repo', `"${repo}" ${REPOSITORY_SLUG_MESSAGE}.`);
    if (owner !== undefined && owner.toLowerCase() !== slug.owner.toLowerCase()) {
      throw invalidInput('owner', `"${owner}" contradicts repo "${repo}".`, 'Pass either owner plus a bare repo name, or repo as "owner/name".');
    }
    owner = slug.owner;
    repo = slug.repo;
  }
  if (repo === '.' || repo === '..') throw invalidInput('repo', `"${repo}" is not a repository name.`);
  if (owner !== undefined && repo !== undefined) return { owner, repo };
  if (owner === undefined && repo !== undefined) {
    if (defaultRepository) return { owner: defaultRepository.owner, repo };
    throw invalidInput('owner', `repo "${repo}" was given without an owner and the server has no default repository.`, MISSING_REPOSITORY_ACTION);
  }
  if (owner !== undefined) {
    throw invalidInput('repo', `owner "${owner}" was given without a repository name.`, 'Pass "repo" as well.');
  }
  if (defaultRepository) return defaultRepository;
  throw invalidInput('repo', 'no repository was given and the server has no default repository.', MISSING_REPOSITORY_ACTION);
}

/** A number input that also accepts what users paste: `#42`, `owner/repo#42`, or an issue or pull request URL. */
export const issueNumberInput = (what: 'issue' | 'pull request') =>
  z
    .union([z.number().int().min(1), z.string().trim().min(1).max(2048)])
    .describe(
      `The ${what} number (e.g. 42). Also accepts "#42", "owner/repo#42", or a URL such as ` +
        `https://github.com/owner/repo/${what === 'issue' ? 'issues' : 'pull'}/42; a URL or "owner/repo#42" also sets the repository.`,
    );

export interface IssueReference {
  number: number;
  /** Set when the reference named its repository (a URL or owner/repo#N). */
  repository?: RepositoryRef;
}

const MAX_ISSUE_NUMBER = 2_147_483_647;

/** Read an issue or pull request reference; throws an invalid_input DomainError naming `field`. */
export function parseIssueReference(value: number | string, field: string): IssueReference {
  if (typeof value === 'number') return { number: checkNumber(value, field) };
  const text = value.trim();
  const bare = /^#?(\d+)$/.exec(text);
  if (bare?.[1]) return { number: checkNumber(Number(bare[1]), field) };
  const short = new RegExp(`^(${OWNER_SOURCE})/(${REPO_SOURCE})#(\\d+)$`).exec(text);
  if (short?.[1] && short[2] && short[3]) {
    return { number: checkNumber(Number(short[3]), field), repository: { owner: short[1], repo: short[2] } };
  }
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (url && (url.protocol === 'https:' || url.protocol === 'http:')) {
    // Web URLs (/owner/repo/issues/N, /owner/repo/pull/N[/files]) and API URLs (/[api/v3/]repos/owner/repo/issues/N).
    const path = url.pathname.replace(/^\/api\/v3(?=\/)/, '').replace(/^\/repos(?=\/)/, '');
    const match = new RegExp(`^/(${OWNER_SOURCE})/(${REPO_SOURCE})/(?:issues|pull|pulls)/(\\d+)(?:/.*)?$`).exec(path);
    if (match?.[1] && match[2] && match[3]) {
      return { number: checkNumber(Number(match[3]), field), repository: { owner: match[1], repo: match[2] } };
    }
  }
  throw invalidInput(
    field,
    `"${text.slice(0, 200)}" is not an issue reference.`,
    'Pass a number such as 42, "#42", "owner/repo#42", or a URL like https://github.com/owner/repo/issues/42.',
  );
}

function checkNumber(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > MAX_ISSUE_NUMBER) {
    throw invalidInput(field, `${value} is not a valid issue number.`, 'Issue numbers are positive whole numbers.');
  }
  return value;
}

/** Resolve both the repository and the number of an issue reference, checking they agree. */
export function resolveIssueTarget(
  input: RepositoryInput,
  reference: number | string,
  field: string,
  defaultRepository: RepositoryRef | undefined,
): { repository: RepositoryRef; number: number } {
  const parsed = parseIssueReference(reference, field);
  if (!parsed.repository) return { repository: resolveRepository(input, defaultRepository), number: parsed.number };
  if (input.owner !== undefined || input.repo !== undefined) {
    const explicit = resolveRepository(input, defaultRepository);
    if (formatRepository(explicit).toLowerCase() !== formatRepository(parsed.repository).toLowerCase()) {
      throw invalidInput(
        field,
        `the reference points at ${formatRepository(parsed.repository)} but owner/repo say ${formatRepository(explicit)}.`,
        'Drop owner/repo, or pass a plain number.',
      );
    }
  }
  return { repository: parsed.repository, number: parsed.number };
}

/**
 * Repositories this process has worked with, most recent first, for argument completion.
 * Bounded so that a long-running server does not grow without limit.
 */
export class KnownRepositories {
  private readonly entries = new Map<string, RepositoryRef>();

  constructor(private readonly capacity = 200) {}

  remember(ref: RepositoryRef): void {
    const key = formatRepository(ref).toLowerCase();
    this.entries.delete(key);
    this.entries.set(key, { owner: ref.owner, repo: ref.repo });
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  /** Most recently used first. */
  list(): RepositoryRef[] {
    return [...this.entries.values()].reverse();
  }
}
