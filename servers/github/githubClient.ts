import { AsyncLocalStorage } from 'node:async_hooks';
import { Octokit } from 'octokit';
import { throttling } from '@octokit/plugin-throttling';
import type { Logger } from '../../shared/logger.js';
import { withRetries } from './requestRetry.js';

/**
 * octokit's bundle already applies the throttling plugin (its pacing of requests); naming it
 * here keeps the dependency explicit, and `plugin()` skips ones that are already present.
 * Its retry plugin is turned off: it keeps the retry count on options shared between
 * requests, so its waits drifted (4 s then 4 s, 16 s then 4 s), and it retried timeouts past
 * the deadline. requestRetry.ts decides every retry instead.
 */
const GithubOctokit = Octokit.plugin(throttling);

/** The REST client the tools use. */
export type GithubClient = InstanceType<typeof GithubOctokit>;

export const DEFAULT_GITHUB_API_URL = 'https://api.github.com';
export const USER_AGENT = 'manifold-github-server';
/** https://docs.github.com/en/rest/about-the-rest-api/api-versions */
const API_VERSION = '2022-11-28';

export interface GithubClientOptions {
  /** REST API root: https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server. */
  apiUrl: string;
  /** Absent: unauthenticated, public data only (60 requests per hour per IP on github.com). */
  token?: string | undefined;
  logger: Logger;
  /**
   * Longest wait the server accepts when GitHub asks it to back off from a secondary rate
   * limit (`retry-after`). One retry is made within this bound; longer advice fails at once.
   */
  maxRateLimitWaitSeconds: number;
  /** Retries for connection failures and 5xx answers, with 1 s, 4 s, 9 s … back-off (requestRetry.ts). */
  retries: number;
  /** A request, every retry and wait included, fails after this long. */
  requestTimeoutMs: number;
}

export function createGithubClient(options: GithubClientOptions): GithubClient {
  const log = options.logger.child({ component: 'github-api' });
  const policy = { retries: options.retries, maxRateLimitWaitSeconds: options.maxRateLimitWaitSeconds, requestTimeoutMs: options.requestTimeoutMs };
  // A hook cannot hand changed options to the hooks inside it (before-after-hook binds them once),
  // so the attempt's deadline reaches fetch through the async context.
  const attemptDeadline = new AsyncLocalStorage<AbortSignal>();
  const fetchUntilDeadline: typeof fetch = (input, init) => {
    const deadline = attemptDeadline.getStore();
    if (!deadline) return fetch(input, init);
    return fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, deadline]) : deadline });
  };

  const client = new GithubOctokit({
    baseUrl: options.apiUrl,
    userAgent: USER_AGENT,
    ...(options.token ? { auth: options.token } : {}),
    headers: { 'x-github-api-version': API_VERSION },
    request: { fetch: fetchUntilDeadline },
    log: {
      debug: (message: string) => log.debug(message),
      info: (message: string) => log.info(message),
      warn: (message: string) => log.warn(message),
      error: (message: string) => log.error(message),
    },
    retry: { enabled: false },
    throttle: {
      // The secondary limit's one retry is requestRetry.ts's, within the request's deadline.
      onSecondaryRateLimit: () => false,
      // The primary limit resets up to an hour later: fail now and say when, rather than hold the call.
      onRateLimit: (resetInSeconds, request) => {
        log.warn({ method: request.method, url: request.url, resetInSeconds }, 'GitHub primary rate limit exhausted; failing without waiting');
        return false;
      },
    },
  });

  let warnedForReset: string | undefined;
  // Registered last, so it wraps the throttling plugin: every attempt is paced by it.
  client.hook.wrap('request', (request, requestOptions) =>
    withRetries({ method: requestOptions.method, url: requestOptions.url }, policy, log, async (deadline) => {
      const started = performance.now();
      try {
        const response = await attemptDeadline.run(deadline, () => request(requestOptions));
        const remaining = Number(response.headers['x-ratelimit-remaining']);
        const limit = Number(response.headers['x-ratelimit-limit']);
        const reset = response.headers['x-ratelimit-reset'];
        if (limit > 0 && remaining < limit * 0.1 && reset !== warnedForReset) {
          warnedForReset = String(reset);
          log.warn({ remaining, limit, resetsAt: resetTimeIso(reset) }, 'GitHub rate limit running low');
        }
        log.debug(
          { method: requestOptions.method, url: requestOptions.url, status: response.status, ms: Math.round(performance.now() - started) },
          'GitHub request',
        );
        return response;
      } catch (error) {
        const status = (error as { status?: unknown }).status;
        log.debug({ method: requestOptions.method, url: requestOptions.url, status, ms: Math.round(performance.now() - started) }, 'GitHub request failed');
        throw error;
      }
    }),
  );
  return client;
}

/** `x-ratelimit-reset` (epoch seconds) as an ISO timestamp, or undefined. */
export function resetTimeIso(header: unknown): string | undefined {
  const seconds = Number(header);
  if (!Number.isFinite(seconds) || seconds <= 0) return undefined;
  return new Date(seconds * 1000).toISOString();
}

/** Page position of a paginated answer, read from GitHub's `Link` header. */
export interface PageInfo {
  page: number;
  per_page: number;
  has_more: boolean;
  next_page: number | null;
  last_page: number | null;
}

/** https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api */
export function pageInfoFromLink(link: string | undefined, page: number, perPage: number): PageInfo {
  const relPage = (rel: string): number | null => {
    if (!link) return null;
    for (const part of link.split(',')) {
      const match = /<([^>]+)>\s*;\s*rel="([^"]+)"/.exec(part.trim());
      if (match?.[2] !== rel || !match[1]) continue;
      try {
        const value = new URL(match[1]).searchParams.get('page');
        return value === null ? null : Number(value);
      } catch {
        return null;
      }
    }
    return null;
  };
  const next = relPage('next');
  return { page, per_page: perPage, has_more: next !== null, next_page: next, last_page: relPage('last') ?? (next === null ? page : null) };
}
