import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ParkRef } from './parkedCalls.js';

/**
 * The `requestState` the gateway gives a 2026-07-28 client when an upstream answers
 * `input_required` (MCP 2026-07-28, multi round-trip requests). The client echoes it on its
 * retry, so it is attacker-controlled when it comes back: the upstream's own state travels
 * inside, sealed with HMAC-SHA256 under the gateway's key and bound to the caller, the upstream,
 * the method and its target (tool, prompt or URI), with an expiry. A state aimed at another
 * upstream, user or tool, altered, or late, is refused before anything is forwarded.
 *
 *   "g1." base64url(JSON payload) "." base64url(HMAC-SHA256(key, "g1." + payload))
 *
 * Signed, not encrypted: the payload holds nothing the client may not see (the upstream's
 * state is the upstream's business to protect, and it was given to the client anyway).
 */
export interface RelayedInputBinding {
  /** The acting user. */
  user: string;
  /** The upstream's namespace. */
  upstream: string;
  method: string;
  /** The tool or prompt name, or the resource URI, as the client named it. */
  target: string;
}

interface Payload extends RelayedInputBinding {
  /** The upstream's own requestState, if it gave one. */
  inner?: string;
  /** A call the gateway holds waiting for the client's answers (a 2025-era upstream bridged, parkedCalls.ts). */
  park?: ParkRef;
  /** Expiry, in seconds since the epoch. */
  exp: number;
}

export type OpenedState = { ok: true; inner: string | undefined; park?: ParkRef } | { ok: false; reason: 'malformed' | 'signature' | 'expired' | 'binding' };

const VERSION = 'g1';

export class RelayedInputState {
  constructor(
    private readonly key: Uint8Array,
    private readonly ttlSeconds: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  seal(binding: RelayedInputBinding, inner: string | undefined, park?: ParkRef): string {
    const payload: Payload = {
      ...binding,
      ...(inner === undefined ? {} : { inner }),
      ...(park ? { park } : {}),
      exp: Math.floor(this.now() / 1000) + this.ttlSeconds,
    };
    const body = `${VERSION}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
    return `${body}.${this.mac(body)}`;
  }

  /** The upstream's state inside `state`, if `state` is this gateway's, intact, current and bound to `expected`. */
  open(state: string, expected: RelayedInputBinding): OpenedState {
    const parts = state.split('.');
    if (parts.length !== 3 || parts[0] !== VERSION) return { ok: false, reason: 'malformed' };
    const body = `${parts[0]}.${parts[1]}`;
    const given = Buffer.from(parts[2] ?? '', 'base64url');
    const wanted = Buffer.from(this.mac(body), 'base64url');
    if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) return { ok: false, reason: 'signature' };
    let payload: Payload;
    try {
      payload = JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8')) as Payload;
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    if (typeof payload.exp !== 'number' || payload.exp * 1000 < this.now()) return { ok: false, reason: 'expired' };
    if (payload.user !== expected.user || payload.upstream !== expected.upstream || payload.method !== expected.method || payload.target !== expected.target) {
      return { ok: false, reason: 'binding' };
    }
    const park = payload.park;
    const parked =
      typeof park === 'object' && park !== null && typeof park.instance === 'string' && typeof park.call === 'string' && Number.isSafeInteger(park.round)
        ? { park: { instance: park.instance, call: park.call, round: park.round } }
        : {};
    return { ok: true, inner: typeof payload.inner === 'string' ? payload.inner : undefined, ...parked };
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}
