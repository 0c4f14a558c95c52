import { Redis } from 'ioredis';

/** Redis for tests, at REDIS_URL (CI sets it and starts the server). */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Is Redis reachable? A local run without it skips with a notice; under CI that is an error. */
export async function redisAvailable(purpose: string): Promise<boolean> {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await probe.connect();
    await probe.ping();
    return true;
  } catch {
    if (process.env.CI) throw new Error(`Redis must be reachable at ${REDIS_URL} under CI; .ci/run starts it.`);
    console.warn(`[manifold tests] Redis is not reachable at ${REDIS_URL}: skipping ${purpose}.`);
    return false;
  } finally {
    probe.disconnect();
  }
}
