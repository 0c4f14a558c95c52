import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RelayedInputState, type RelayedInputBinding } from '../../../../gateway/session/relayedInputState.js';

const binding: RelayedInputBinding = { user: 'ada', upstream: 'pm', method: 'tools/call', target: 'pm__delete_tasks' };

function manualClock(start = Date.parse('2026-12-06T10:00:00Z')): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return { now: () => time, advance: (ms) => (time += ms) };
}

describe('the requestState the gateway hands a 2026-07-28 client', () => {
  it("opens to the upstream's own state for the same user, upstream, method and target", () => {
    const states = new RelayedInputState(randomBytes(32), 600);
    const sealed = states.seal(binding, 'upstream-state-1');
    expect(sealed).toMatch(/^g1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(states.open(sealed, binding)).toEqual({ ok: true, inner: 'upstream-state-1' });
    expect(states.open(states.seal(binding, undefined), binding)).toEqual({ ok: true, inner: undefined });
  });

  it("carries a parked call's reference", () => {
    const states = new RelayedInputState(randomBytes(32), 600);
    const park = { instance: 'i-1', call: 'k7', round: 2 };
    expect(states.open(states.seal(binding, undefined, park), binding)).toEqual({ ok: true, inner: undefined, park });
  });

  it.each([
    ['another user', { user: 'mallory' }],
    ['another upstream', { upstream: 'gh' }],
    ['another method', { method: 'prompts/get' }],
    ['another tool', { target: 'pm__list_tasks' }],
  ])('refuses a state used by %s', (_who, change) => {
    const states = new RelayedInputState(randomBytes(32), 600);
    expect(states.open(states.seal(binding, 'x'), { ...binding, ...change })).toEqual({ ok: false, reason: 'binding' });
  });

  it('refuses a state once it has expired', () => {
    const clock = manualClock();
    const states = new RelayedInputState(randomBytes(32), 600, clock.now);
    const sealed = states.seal(binding, 'x');
    clock.advance(599_000);
    expect(states.open(sealed, binding).ok).toBe(true);
    clock.advance(2_000);
    expect(states.open(sealed, binding)).toEqual({ ok: false, reason: 'expired' });
  });

  it("refuses an altered payload, a forged signature or another gateway's key", () => {
    const states = new RelayedInputState(randomBytes(32), 600);
    const [version, payload, mac] = states.seal(binding, 'x').split('.') as [string, string, string];
    const raised = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')), user: 'mallory' })).toString('base64url');
    expect(states.open(`${version}.${raised}.${mac}`, { ...binding, user: 'mallory' })).toEqual({ ok: false, reason: 'signature' });
    expect(states.open(`${version}.${payload}.${'A'.repeat(mac.length)}`, binding)).toEqual({ ok: false, reason: 'signature' });
    expect(new RelayedInputState(randomBytes(32), 600).open(`${version}.${payload}.${mac}`, binding)).toEqual({ ok: false, reason: 'signature' });
  });

  it('refuses what is not one of its states', () => {
    const states = new RelayedInputState(randomBytes(32), 600);
    for (const state of ['', 'upstream-state', 'g2.a.b', 'g1.a', 'g1.a.b.c']) expect(states.open(state, binding)).toEqual({ ok: false, reason: 'malformed' });
  });
});
