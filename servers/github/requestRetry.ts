import type { Logger } from '../../shared/logger.js';

/**
 * When a GitHub request is tried again, and how long the server waits first. One policy for
 * every request, bounded by one deadline (GITHUB_REQUEST_TIMEOUT_MS) so that the server's own
 * clear message reaches the client before the gateway's call timeout does:
 *
 * - 5xx answers and connection failures: up to `retries` more attempts after 1 s, 4 s, 9 s …
 *   (n² seconds before retry n), only for methods that are safe to repeat (not POST: a 502 on a
 *   new comment may still have created it).
 * - Secondary rate limit (403/429 with `retry-after`, or GitHub's "secondary rate limit"
 *   message): one more attempt after the advised delay, when it is at most `maxRateLimitWaitSeconds`.
 * - Anything else, the primary rate limit included, fails at once.
 * - A wait that would end after the deadline is not started: the request fails at once.
 */
export interface RetryPolicy {
  retries: number;
  maxRateLimitWaitSeconds: number;
  /** The whole request, every attempt and wait included, ends by then. */
  requestTimeoutMs: number;
}

/** The wait before retry `n` (1-based) of a 5xx answer or connection failure: n² seconds. */
export function serverErrorDelayMs(retry: number): number {
  return retry * retry * 1000;
}

const REPEATABLE_METHODS = new Set(['GET', 'HEAD', 'PUT', 'PATCH', 'DELETE']);

interface FailureShape {
  name?: unknown;
  status?: unknown;
  message?: unknown;
  response?: { headers?: Record<string, unknown>; data?: unknown };
  cause?: unknown;
}

/** A request that did not end within GITHUB_REQUEST_TIMEOUT_MS; githubErrors.ts words it. */
export class GithubDeadlineError extends Error {
  constructor(
    readonly timeoutMs: number,
    readonly attempts: number,
    options: { cause: unknown },
  ) {
    super(`GitHub did not answer within ${timeoutMs} ms`, options);
    this.name = 'TimeoutError';
  }
}

/** The deadline passed (AbortSignal.timeout), as opposed to a refused or reset connection. */
export function isDeadlineExceeded(error: unknown): boolean {
  const candidates = [error, (error as FailureShape | undefined)?.cause];
  return candidates.some((e) => e instanceof Error && e.name === 'TimeoutError');
}

/** Seconds GitHub asks to wait for a secondary rate limit, or undefined when this is not one. */
export function secondaryRateLimitWait(error: unknown): number | undefined {
  const failure = error as FailureShape;
  if (failure?.status !== 403 && failure?.status !== 429) return undefined;
  const headers = failure.response?.headers ?? {};
  const data = failure.response?.data as { message?: unknown } | undefined;
  const message = typeof data?.message === 'string' ? data.message : String(failure.message ?? '');
  const retryAfter = headers['retry-after'];
  const secondary = /secondary rate limit/i.test(message) || (retryAfter !== undefined && String(headers['x-ratelimit-remaining']) !== '0');
  if (!secondary) return undefined;
  const seconds = Number(retryAfter);
  // Without retry-after GitHub says to wait at least a minute.
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : 60;
}

/** The wait before the next attempt, or undefined when the failure is final. */
export function nextDelayMs(
  error: unknown,
  method: string,
  attempt: { serverRetries: number; rateLimitRetries: number },
  policy: RetryPolicy,
): { ms: number; kind: 'server' | 'rate_limit' } | undefined {
  if (isDeadlineExceeded(error)) return undefined;
  const rateLimitWait = secondaryRateLimitWait(error);
  if (rateLimitWait !== undefined) {
    return attempt.rateLimitRetries < 1 && rateLimitWait <= policy.maxRateLimitWaitSeconds ? { ms: rateLimitWait * 1000, kind: 'rate_limit' } : undefined;
  }
  const failure = error as FailureShape;
  const status = typeof failure?.status === 'number' ? failure.status : undefined;
  const connectionFailed = failure?.response === undefined;
  const serverError = status !== undefined && status >= 500 && !connectionFailed;
  if (!(serverError || connectionFailed) || !REPEATABLE_METHODS.has(method.toUpperCase())) return undefined;
  if (attempt.serverRetries >= policy.retries) return undefined;
  return { ms: serverErrorDelayMs(attempt.serverRetries + 1), kind: 'server' };
}

/**
 * Run `attempt` (given the signal that ends it at the deadline) under the policy; the last
 * failure is thrown as it came, for githubErrors.ts to word.
 */
export async function withRetries<T>(
  request: { method: string; url: string },
  policy: RetryPolicy,
  log: Logger,
  attempt: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + policy.requestTimeoutMs;
  const counts = { serverRetries: 0, rateLimitRetries: 0 };
  for (;;) {
    const remaining = deadline - Date.now();
    try {
      return await attempt(AbortSignal.timeout(Math.max(1, remaining)));
    } catch (error) {
      if (isDeadlineExceeded(error))
        throw new GithubDeadlineError(policy.requestTimeoutMs, counts.serverRetries + counts.rateLimitRetries + 1, { cause: error });
      const delay = nextDelayMs(error, request.method, counts, policy);
      const fits = delay !== undefined && Date.now() + delay.ms < deadline;
      if (!delay || !fits) {
        if (delay)
          log.warn(
            { method: request.method, url: request.url, waitMs: delay.ms, requestTimeoutMs: policy.requestTimeoutMs },
            'GitHub request not retried: the wait would outlast GITHUB_REQUEST_TIMEOUT_MS',
          );
        throw error;
      }
      if (delay.kind === 'rate_limit') counts.rateLimitRetries++;
      else counts.serverRetries++;
      log.warn(
        {
          method: request.method,
          url: request.url,
          status: (error as FailureShape).status,
          waitMs: delay.ms,
          retry: counts.serverRetries + counts.rateLimitRetries,
          ...(delay.kind === 'rate_limit' ? { retryAfterSeconds: delay.ms / 1000 } : {}),
        },
        delay.kind === 'rate_limit' ? 'GitHub secondary rate limit: retrying once after the advised delay' : 'GitHub request failed: retrying after back-off',
      );
      await new Promise((resolve) => setTimeout(resolve, delay.ms));
    }
  }
}
