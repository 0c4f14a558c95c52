import { randomBytes, randomUUID } from 'node:crypto';
import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { DomainError } from '../../shared/errors.js';
import { KeyCounts } from '../../shared/keyCounts.js';
import { BridgedCall, type InputRequests, type RoundRequest } from './bridgedCall.js';
import { RpcError } from '../calls/rpcError.js';

type Result = Record<string, unknown>;

/** Which parked call a requestState names: the gateway instance holding it, and the call there. */
export interface ParkRef {
  instance: string;
  call: string;
  /** The round that parked it: a requestState of an earlier round of the same call is spent. */
  round: number;
}

/** A round's end as a client gets it: with input requests, the call to name in the retry's requestState. */
export type ParkedOutcome =
  { kind: 'done'; result: Result } | { kind: 'failed'; error: unknown } | { kind: 'input'; inputRequests: InputRequests; call: ParkRef };

/** Calls parked on the other instances of a cluster, reached through the cluster's internal channel. */
export interface RemoteParkedCalls {
  resume(ref: ParkRef, user: string, inputResponses: Readonly<Record<string, unknown>>, request: RoundRequest): Promise<ParkedOutcome>;
}

export interface ParkingLimits {
  /** How long a parked call waits for the client's retry before it is cancelled upstream. */
  ttlMs: number;
  /** Calls one user may have waiting for input at once, on one instance. */
  maxPerUser: number;
  /** Calls waiting for input on one instance, all users together. */
  maxTotal: number;
}

export const DEFAULT_PARKING_LIMITS: ParkingLimits = { ttlMs: 600_000, maxPerUser: 16, maxTotal: 1_000 };

/** The error for a requestState whose call is not waiting here (or anywhere) any more. */
export function noLongerWaiting(why = 'it was answered already, it expired, or the gateway instance holding it stopped'): RpcError {
  return new RpcError(
    ErrorCode.InvalidParams,
    `This requestState names a call that is no longer waiting for input (${why}). Call again without requestState to start over.`,
    {
      reason: 'invalid_request_state',
    },
  );
}

/**
 * The bridged calls of this gateway instance (BridgedCall) that wait, between two rounds, for
 * their client's retry: each is named by the requestState the client got, bound to its user,
 * capped per user and in all, and cancelled upstream when nobody comes back for it in time.
 * A retry takes its call out (a second retry with the same state finds nothing), answers it and
 * runs the next round. A retry naming another instance's call goes to `remote`.
 */
export class ParkedCalls {
  /** This instance, as requestStates name it. */
  readonly instance = randomUUID();
  remote: RemoteParkedCalls | undefined;
  private readonly parked = new Map<string, { call: BridgedCall; timer: NodeJS.Timeout }>();
  private readonly perUser = new KeyCounts();
  private readonly perUpstream = new KeyCounts();
  private nextId = 0;

  constructor(readonly limits: ParkingLimits = DEFAULT_PARKING_LIMITS) {}

  /** A new bridged call for `user` on `upstream` (its calls that may wait at once: `maxParked`). */
  open(user: string, upstream?: { namespace: string; maxParked: number }): BridgedCall {
    return new BridgedCall(`${(++this.nextId).toString(36)}.${randomBytes(9).toString('base64url')}`, user, upstream);
  }

  get size(): number {
    return this.parked.size;
  }

  /** Run a round of `call` on `request`; if it ends asking for input, park the call for the retry. */
  async drive(call: BridgedCall, request: RoundRequest): Promise<ParkedOutcome> {
    const outcome = await call.round(request);
    if (outcome.kind !== 'input') return outcome;
    const refusal = this.refusal(call);
    if (refusal) {
      call.abandon(refusal);
      return { kind: 'failed', error: refusal };
    }
    const timer = setTimeout(() => {
      if (this.unpark(call.id)) call.abandon(new Error(`nobody answered within ${Math.round(this.limits.ttlMs / 1000)} s`));
    }, this.limits.ttlMs);
    timer.unref();
    this.parked.set(call.id, { call, timer });
    this.perUser.add(call.user);
    this.perUpstream.add(call.upstream.namespace);
    return { ...outcome, call: { instance: this.instance, call: call.id, round: call.rounds } };
  }

  /** The client's retry of the call `ref` names, with its answers: the next round's outcome. */
  resume(ref: ParkRef, user: string, inputResponses: Readonly<Record<string, unknown>>, request: RoundRequest): Promise<ParkedOutcome> {
    if (ref.instance === this.instance) return this.resumeHere(ref.call, ref.round, user, inputResponses, request);
    if (!this.remote)
      return Promise.resolve({ kind: 'failed', error: noLongerWaiting('it was parked by another gateway instance, and this one is not in a cluster with it') });
    return this.remote.resume(ref, user, inputResponses, request);
  }

  /** Resume a call parked on this instance (a retry that arrived here, or one another instance relayed). */
  resumeHere(id: string, round: number, user: string, inputResponses: Readonly<Record<string, unknown>>, request: RoundRequest): Promise<ParkedOutcome> {
    const entry = this.parked.get(id);
    // Another user's call is refused as if it did not exist; so is a state of an earlier round.
    if (!entry || entry.call.user !== user || entry.call.rounds !== round) return Promise.resolve({ kind: 'failed', error: noLongerWaiting() });
    this.unpark(id);
    entry.call.answer(inputResponses);
    return this.drive(entry.call, request);
  }

  /** Cancel every parked call (the instance is stopping). */
  close(): void {
    for (const [id, { call }] of [...this.parked]) {
      this.unpark(id);
      call.abandon(new Error('the gateway is shutting down'));
    }
  }

  private refusal(call: BridgedCall): DomainError | undefined {
    const { maxPerUser, maxTotal, ttlMs } = this.limits;
    const mine = this.perUser.get(call.user);
    const onUpstream = this.perUpstream.get(call.upstream.namespace);
    const wait = `(an unanswered one is cancelled after ${Math.round(ttlMs / 1000)} s)`;
    if (mine >= maxPerUser) {
      return new DomainError(
        'rate_limited',
        `You already have ${mine} calls waiting for your input on this gateway instance, the most one user may have (${maxPerUser}).`,
        {
          action: `Answer or abandon one of them ${wait}, then call again.`,
        },
      );
    }
    if (onUpstream >= call.upstream.maxParked) {
      // Each waiting call holds one of the upstream's concurrency slots: half of them stay for calls that do not wait.
      return new DomainError(
        'rate_limited',
        `Upstream "${call.upstream.namespace}" already has ${onUpstream} calls waiting for their clients' input on this gateway instance, its limit (${call.upstream.maxParked}, half its concurrency).`,
        {
          action: `Retry in a minute ${wait}.`,
        },
      );
    }
    if (this.parked.size >= maxTotal) {
      return new DomainError('rate_limited', `This gateway instance already holds ${this.parked.size} calls waiting for input, its limit (${maxTotal}).`, {
        action: `Retry in a minute ${wait}.`,
      });
    }
    return undefined;
  }

  private unpark(id: string): boolean {
    const entry = this.parked.get(id);
    if (!entry) return false;
    clearTimeout(entry.timer);
    this.parked.delete(id);
    this.perUser.remove(entry.call.user);
    this.perUpstream.remove(entry.call.upstream.namespace);
    return true;
  }
}
