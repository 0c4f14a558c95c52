import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/waitFor.js';
import { fixtureUpstream, readiness, startGateway, waitReady, type RunningGateway } from './harness.js';

/** A start timeout much shorter than the children's warm-up, and quick restarts. */
const impatient = {
  health: { pingIntervalMs: 5_000, pingTimeoutMs: 1_000, startTimeoutMs: 2_000 },
  restart: { initialDelayMs: 100, maxDelayMs: 500, resetAfterMs: 60_000 },
};

describe('a child that is slow to start', () => {
  let gateway: RunningGateway | undefined;
  afterEach(async () => gateway?.stop());

  it('is not killed while it keeps logging, and /readyz shows what it is doing', async () => {
    // 6 s of warm-up with a log line every 200 ms, against a start timeout of 2 s (room for a slow
    // process start on a loaded machine before the first line).
    gateway = await startGateway({ upstreams: [fixtureUpstream('slow', impatient, { FIXTURE_START_DELAY_MS: '6000', FIXTURE_START_LOG_MS: '200' })] });
    const starting = await waitFor('a progress line in /readyz', async () => {
      const state = await readiness(gateway!);
      const slow = state.upstreams[0];
      return slow?.state === 'starting' && slow.lastLog?.message.startsWith('warming up') ? slow : undefined;
    });
    expect(starting.lastLog!.ageMs).toBeLessThan(2_000);
    const ready = await waitReady(gateway, 30_000);
    expect(ready.upstreams[0]).toMatchObject({ namespace: 'slow', state: 'ready', restarts: 0 });
    expect(ready.upstreams[0]!.tools).toBeGreaterThan(0);
  });

  it('is stopped and restarted when it stays silent for a whole start timeout, and the error says so', async () => {
    gateway = await startGateway({ upstreams: [fixtureUpstream('mute', { ...impatient, required: true }, { FIXTURE_START_DELAY_MS: '60000' })] });
    const failed = await waitFor('a restart of the silent child', async () => {
      const mute = (await readiness(gateway!)).upstreams[0];
      return mute && mute.restarts >= 1 && mute.lastError ? mute : undefined;
    });
    expect(failed.lastError).toMatch(
      /answered no handshake and logged nothing for \d+(\.\d)? s; (it wrote no log line|its last log line, [\d.]+ s before, was ".*"); it was stopped/,
    );
    expect((await readiness(gateway)).ready).toBe(false);
  });
});
