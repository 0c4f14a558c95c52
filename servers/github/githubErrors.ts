import { DomainError } from '../../shared/errors.js';
import type { GithubClient } from './githubClient.js';
import { resetTimeIso } from './githubClient.js';
import { formatRepository, type RepositoryRef } from './repositoryRef.js';
import { GithubDeadlineError } from './requestRetry.js';

/**
 * The one place where GitHub API failures become messages a model can act on.
 * Every tool and resource calls GitHub through `callGithub`.
 */

/** What a call was about, so a failure can say which thing was missing or forbidden. */
export interface GithubTarget {
  /** Short verb phrase for messages, e.g. "read issue #12". */
  action: string;
  repository?: RepositoryRef;
  /** The looked-up thing, for 404s; absent when the repository itself is the subject. */
  subject?: {
    /** e.g. "Issue #12", "File src/a.ts at ref main". */
    label: string;
    /** How to find valid values, e.g. "List issue numbers with list_issues or search_issues." */
    listHint: string;
  };
}

export interface GithubConnection {
  github: GithubClient;
  apiUrl: string;
  authenticated: boolean;
}

/** The shape of octokit's RequestError, checked structurally (bundles may hold several copies of the class). */
interface HttpFailure {
  status: number;
  message: string;
  response?: { headers: Record<string, string | number | undefined>; data?: unknown; url?: string };
  request?: { url?: string; method?: string };
  cause?: unknown;
}

export function isHttpFailure(error: unknown): error is HttpFailure {
  return error instanceof Error && (error.name === 'HttpError' || error.name === 'RequestError') && typeof (error as { status?: unknown }).status === 'number';
}

/** Run one GitHub call and translate its failure. */
export async function callGithub<T>(connection: GithubConnection, target: GithubTarget, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    let repositoryMissing = false;
    if (isHttpFailure(error) && error.status === 404 && target.subject && target.repository && !isUnknownRefMessage(error)) {
      repositoryMissing = !(await repositoryIsVisible(connection, target.repository));
    }
    throw toGithubError(error, target, connection, { repositoryMissing });
  }
}

/** True when the repository answers; false on 404; true on anything else (unknown: do not blame the repository). */
async function repositoryIsVisible(connection: GithubConnection, repository: RepositoryRef): Promise<boolean> {
  try {
    await connection.github.rest.repos.get({ owner: repository.owner, repo: repository.repo });
    return true;
  } catch (error) {
    return !(isHttpFailure(error) && error.status === 404);
  }
}

function isUnknownRefMessage(error: HttpFailure): boolean {
  return /No commit found for the ref/i.test(githubMessage(error));
}

/** GitHub's own `message` field, without octokit's " - documentation_url" suffix. */
function githubMessage(error: HttpFailure): string {
  const data = error.response?.data;
  if (typeof data === 'object' && data !== null && typeof (data as { message?: unknown }).message === 'string') {
    return (data as { message: string }).message;
  }
  return error.message.replace(/ - https?:\/\/\S+$/, '');
}

function header(error: HttpFailure, name: string): string | undefined {
  const value = error.response?.headers[name];
  return value === undefined ? undefined : String(value);
}

/** Translate any failure from a GitHub call; non-HTTP failures pass through unchanged (they are bugs). */
export function toGithubError(
  error: unknown,
  target: GithubTarget,
  connection: Pick<GithubConnection, 'apiUrl' | 'authenticated'>,
  facts: { repositoryMissing?: boolean } = {},
): unknown {
  if (error instanceof DomainError) return error;
  if (isTimeout(error)) {
    const timeoutMs = error instanceof GithubDeadlineError ? error.timeoutMs : undefined;
    const within = timeoutMs === undefined ? 'in time' : `within ${Math.round(timeoutMs / 100) / 10} s (GITHUB_REQUEST_TIMEOUT_MS)`;
    return new DomainError('unavailable', `GitHub at ${connection.apiUrl} did not answer ${within} while trying to ${target.action}.`, {
      action: 'Retry shortly; if it persists, check GITHUB_API_URL and the network path to it.',
      cause: error,
    });
  }
  if (!isHttpFailure(error)) return error;
  const repo = target.repository ? formatRepository(target.repository) : undefined;
  const message = githubMessage(error);

  if (!error.response) return networkError(error, target, connection.apiUrl);

  switch (error.status) {
    case 401:
      return connection.authenticated
        ? new DomainError(
            'unauthorized',
            `GitHub rejected the server's token (401 ${message}) while trying to ${target.action}: GITHUB_TOKEN is invalid, expired or revoked.`,
            {
              action: 'Set GITHUB_TOKEN to a valid token and restart the server.',
            },
          )
        : new DomainError('unauthorized', `GitHub requires authentication to ${target.action}, and this server runs without a token (public data only).`, {
            action: 'Set GITHUB_TOKEN to a token with access to the repository and restart the server.',
          });
    case 403:
    case 429:
      return rateLimitError(error, target, connection) ?? permissionError(error, target, repo, message);
    case 404:
      return notFoundError(error, target, connection, repo, facts.repositoryMissing === true);
    case 409:
      return new DomainError('conflict', `GitHub could not ${target.action}${repo ? ` in ${repo}` : ''}: ${message}.`, {
        action: 'The repository is in a state that does not allow this (for example it is empty); check it on GitHub.',
      });
    case 410:
      return new DomainError('unsupported', `GitHub could not ${target.action}${repo ? ` in ${repo}` : ''}: ${message}.`, {
        action: 'The feature is disabled or the item was removed; check the repository settings on GitHub.',
      });
    case 422:
      return new DomainError('invalid_input', `GitHub rejected the request to ${target.action}: ${validationDetail(error, message)}.`, {
        action: 'Correct the arguments and call again.',
      });
    default:
      if (error.status >= 500) {
        return new DomainError('unavailable', `GitHub answered ${error.status} (${message}) while trying to ${target.action}.`, {
          action: "This is on GitHub's side; retry in a minute.",
        });
      }
      return new DomainError('invalid_input', `GitHub answered ${error.status} (${message}) while trying to ${target.action}.`, {
        action: 'Check the arguments and call again.',
      });
  }
}

function isTimeout(error: unknown): boolean {
  const candidates = [error, (error as { cause?: unknown } | undefined)?.cause];
  return candidates.some((e) => e instanceof Error && e.name === 'TimeoutError');
}

function networkError(error: HttpFailure, target: GithubTarget, apiUrl: string): DomainError {
  const cause = error.cause as { cause?: { code?: unknown; message?: unknown }; code?: unknown } | undefined;
  const code = cause?.cause?.code ?? cause?.code;
  const reason = typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  return new DomainError('unavailable', `Could not reach the GitHub API at ${apiUrl} to ${target.action} (${reason}).`, {
    action:
      'Check that GITHUB_API_URL is right (https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server) and that this machine can reach it; then retry.',
    cause: error,
  });
}

function rateLimitError(error: HttpFailure, target: GithubTarget, connection: Pick<GithubConnection, 'authenticated'>): DomainError | undefined {
  const message = githubMessage(error);
  const retryAfter = header(error, 'retry-after');
  if (/secondary rate limit/i.test(message) || (retryAfter !== undefined && header(error, 'x-ratelimit-remaining') !== '0')) {
    const seconds = Number(retryAfter);
    const when =
      Number.isFinite(seconds) && seconds > 0 ? `after ${seconds} seconds (at ${new Date(Date.now() + seconds * 1000).toISOString()})` : 'in a few minutes';
    return new DomainError('rate_limited', `GitHub's secondary rate limit stopped the request to ${target.action}.`, {
      action: `Retry ${when}, and make fewer calls in quick succession.`,
    });
  }
  if (header(error, 'x-ratelimit-remaining') === '0' || /API rate limit exceeded/i.test(message)) {
    const resetsAt = resetTimeIso(header(error, 'x-ratelimit-reset'));
    const limit = header(error, 'x-ratelimit-limit');
    const resource = header(error, 'x-ratelimit-resource');
    const minutes = resetsAt ? Math.max(0, Math.ceil((Date.parse(resetsAt) - Date.now()) / 60_000)) : undefined;
    const quota = limit ? ` (${limit} requests per hour${resource ? ` for "${resource}"` : ''})` : '';
    return new DomainError(
      'rate_limited',
      `GitHub API rate limit exhausted${quota} while trying to ${target.action}; it resets at ${resetsAt ?? 'an unknown time'}${minutes !== undefined ? ` (in about ${minutes} minute${minutes === 1 ? '' : 's'})` : ''}.`,
      {
        action: connection.authenticated
          ? 'Retry after the reset time.'
          : 'Retry after the reset time, or set GITHUB_TOKEN: authenticated requests get a much higher limit.',
      },
    );
  }
  return undefined;
}

function permissionError(error: HttpFailure, target: GithubTarget, repo: string | undefined, message: string): DomainError {
  const where = repo ? ` in ${repo}` : '';
  const acceptedScopes = splitList(header(error, 'x-accepted-oauth-scopes'), ',');
  const tokenScopes = splitList(header(error, 'x-oauth-scopes'), ',');
  if (acceptedScopes.length > 0 && !acceptedScopes.some((scope) => tokenScopes.includes(scope))) {
    const needed = acceptedScopes.map((s) => `"${s}"`).join(' or ');
    return new DomainError(
      'forbidden',
      `GitHub refused to ${target.action}${where}: the token lacks the OAuth scope ${needed} (it has ${tokenScopes.length > 0 ? tokenScopes.map((s) => `"${s}"`).join(', ') : 'no scopes'}).`,
      { action: `Give GITHUB_TOKEN the ${needed} scope (or use a token that has it) and restart the server.` },
    );
  }
  const acceptedPermissions = splitList(header(error, 'x-accepted-github-permissions'), ';');
  if (acceptedPermissions.length > 0) {
    // Alternatives are separated by ";", permissions needed together by ",".
    const needed = acceptedPermissions
      .map((set) =>
        set
          .split(',')
          .map((p) => p.trim())
          .join(' and '),
      )
      .join(' or ');
    return new DomainError('forbidden', `GitHub refused to ${target.action}${where}: the token lacks the fine-grained permission ${needed} (${message}).`, {
      action: `Grant GITHUB_TOKEN the ${needed} permission on the repository and restart the server.`,
    });
  }
  return new DomainError('forbidden', `GitHub refused to ${target.action}${where}: ${message}.`, {
    action:
      'Check that GITHUB_TOKEN can access this repository with the needed permission (organization SSO authorization and IP allow lists also cause this).',
  });
}

function notFoundError(
  error: HttpFailure,
  target: GithubTarget,
  connection: Pick<GithubConnection, 'authenticated'>,
  repo: string | undefined,
  repositoryMissing: boolean,
): DomainError {
  const privateNote = connection.authenticated
    ? 'GitHub also answers 404 for private repositories the token cannot see: check that GITHUB_TOKEN has access.'
    : 'The server runs without a token, and GitHub answers 404 for private repositories: set GITHUB_TOKEN if the repository is private.';
  if (isUnknownRefMessage(error)) {
    return new DomainError('not_found', `${githubMessage(error)}${repo ? ` in ${repo}` : ''}.`, {
      action: 'Pass an existing branch, tag or commit SHA as "ref", or omit it to use the default branch.',
    });
  }
  if (repo && (repositoryMissing || !target.subject)) {
    return new DomainError('not_found', `Repository ${repo} was not found.`, {
      action: `Check the owner and name (they are as in https://github.com/OWNER/NAME). ${privateNote}`,
    });
  }
  const label = target.subject?.label ?? 'The requested item';
  return new DomainError('not_found', `${label} was not found${repo ? ` in ${repo}` : ''}.`, {
    action: `${target.subject?.listHint ?? ''} ${repo ? privateNote : ''}`.trim(),
  });
}

function validationDetail(error: HttpFailure, message: string): string {
  const data = error.response?.data as { errors?: unknown } | undefined;
  if (!Array.isArray(data?.errors) || data.errors.length === 0) return message;
  const details = data.errors.map((entry: unknown) => {
    if (typeof entry === 'string') return entry;
    const e = entry as { message?: unknown; field?: unknown; code?: unknown; value?: unknown };
    if (typeof e.message === 'string') return e.message;
    const parts = [e.field, e.code].filter((p): p is string => typeof p === 'string');
    return parts.join(' ');
  });
  return `${message} (${details.join('; ')})`;
}

function splitList(value: string | undefined, separator: string): string[] {
  return (value ?? '')
    .split(separator)
    .map((part) => part.trim())
    .filter((part) => part !== '');
}
