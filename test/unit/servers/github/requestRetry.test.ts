import { describe, expect, it } from 'vitest';
import { nextDelayMs, serverErrorDelayMs, type RetryPolicy } from '../../../../servers/github/requestRetry.js';

const policy: RetryPolicy = { retries: 2, maxRateLimitWaitSeconds: 60, requestTimeoutMs: 20_000 };
const fresh = { serverRetries: 0, rateLimitRetries: 0 };

/** octokit's RequestError, as far as the policy reads it. */
function answer(status: number, headers: Record<string, string> = {}, message = 'Server Error'): Error {
  return Object.assign(new Error(message), { name: 'HttpError', status, response: { headers, data: { message } } });
}

describe('the GitHub retry policy', () => {
  it('waits n² seconds before retry n of a 5xx: 1 s, then 4 s, then gives up after the configured retries', () => {
    expect([1, 2, 3].map(serverErrorDelayMs)).toEqual([1000, 4000, 9000]);
    expect(nextDelayMs(answer(502), 'GET', fresh, policy)).toEqual({ ms: 1000, kind: 'server' });
    expect(nextDelayMs(answer(503), 'GET', { serverRetries: 1, rateLimitRetries: 0 }, policy)).toEqual({ ms: 4000, kind: 'server' });
    expect(nextDelayMs(answer(500), 'GET', { serverRetries: 2, rateLimitRetries: 0 }, policy)).toBeUndefined();
  });

  it('retries a connection failure like a 5xx, but not a POST after either', () => {
    const refused = Object.assign(new Error('fetch failed'), { name: 'HttpError', status: 500 });
    expect(nextDelayMs(refused, 'GET', fresh, policy)).toEqual({ ms: 1000, kind: 'server' });
    expect(nextDelayMs(refused, 'POST', fresh, policy)).toBeUndefined();
    expect(nextDelayMs(answer(502), 'POST', fresh, policy)).toBeUndefined();
    expect(nextDelayMs(answer(502), 'PATCH', fresh, policy)).toEqual({ ms: 1000, kind: 'server' });
  });

  it('waits out a secondary rate limit once, within the bound; 60 s without retry-after', () => {
    const limited = answer(403, { 'retry-after': '3' }, 'You have exceeded a secondary rate limit.');
    expect(nextDelayMs(limited, 'POST', fresh, policy)).toEqual({ ms: 3000, kind: 'rate_limit' });
    expect(nextDelayMs(limited, 'GET', { serverRetries: 0, rateLimitRetries: 1 }, policy)).toBeUndefined();
    expect(nextDelayMs(answer(429, { 'retry-after': '120' }), 'GET', fresh, policy)).toBeUndefined();
    expect(nextDelayMs(answer(403, {}, 'You have exceeded a secondary rate limit.'), 'GET', fresh, policy)).toEqual({ ms: 60_000, kind: 'rate_limit' });
  });

  it('never retries the primary rate limit, other 4xx answers or a passed deadline', () => {
    expect(nextDelayMs(answer(403, { 'x-ratelimit-remaining': '0' }, 'API rate limit exceeded'), 'GET', fresh, policy)).toBeUndefined();
    for (const status of [400, 401, 404, 409, 422]) expect(nextDelayMs(answer(status), 'GET', fresh, policy)).toBeUndefined();
    const timeout = Object.assign(new Error('aborted'), {
      name: 'HttpError',
      status: 500,
      cause: Object.assign(new Error('timeout'), { name: 'TimeoutError' }),
    });
    expect(nextDelayMs(timeout, 'GET', fresh, policy)).toBeUndefined();
  });
});
