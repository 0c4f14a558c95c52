/**
 * Why not `vi.waitFor`: the benchmarks (test/bench) use the same harness outside vitest, where
 * `vi` is not available; and the timeout error here names what was awaited and the last failure.
 *
 * Poll `check` every 25 ms until it returns a value other than undefined or false, and return that value.
 * A throw from `check` counts as "not yet"; the last one is named in the timeout error, which also says `what` was awaited.
 */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
