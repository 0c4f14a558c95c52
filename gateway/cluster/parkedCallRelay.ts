import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { DomainError, type FailureCode } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { RoundRequest } from '../session/bridgedCall.js';
import { noLongerWaiting, type ParkedCalls, type ParkedOutcome, type ParkRef, type RemoteParkedCalls } from '../session/parkedCalls.js';
import { RpcError, toRpcError } from '../calls/rpcError.js';
import { CallCancellation } from '../upstreams/cancellation.js';
import type { RedisLink } from '../redis/redisLink.js';

/** A failure as it crosses between instances: a tool-level DomainError, or a JSON-RPC error. */
type WireError = { domain: { code: FailureCode; message: string; action?: string } } | { rpc: { code: number; message: string; data?: unknown } };
type WireOutcome = Exclude<ParkedOutcome, { kind: 'failed' }> | { kind: 'failed'; error: WireError };

type Message =
  | { type: 'resume'; id: string; from: string; call: string; round: number; user: string; inputResponses: Record<string, unknown>; progress: boolean }
  | { type: 'cancel'; id: string }
  | { type: 'progress'; id: string; progress: Progress }
  | { type: 'outcome'; id: string; outcome: WireOutcome };

export interface ParkedCallRelayTiming {
  /** How often an instance says it is alive, and how long that lasts. */
  heartbeatMs: number;
  aliveForMs: number;
}

const DEFAULT_TIMING: ParkedCallRelayTiming = { heartbeatMs: 2_000, aliveForMs: 6_000 };

const inbox = (instance: string): string => `manifold:parked:${instance}`;
const aliveKey = (instance: string): string => `manifold:instance:${instance}`;

interface Waiting {
  resolve: (outcome: ParkedOutcome) => void;
  onprogress: ((progress: Progress) => void) | undefined;
}

/**
 * How a 2026 client's retry reaches a bridged call parked on another gateway instance
 * (ParkedCalls): the instance that got the retry has checked the requestState's seal (every
 * instance shares the key) and relays the answers, through Redis, to the inbox of the instance
 * that holds the call; that one runs the round and relays back its progress and its outcome.
 * The client's cancellation (its request closed) is relayed too.
 *
 * Redis is the cluster's internal channel already (sessions, limits, resource updates); no
 * instance needs to know another's address. Each instance keeps a short-lived key saying it is
 * alive: a retry naming an instance without one, or whose instance stops while the round runs,
 * gets a clear error at once (its calls stopped with it: nothing is left running upstream).
 */
export class ParkedCallRelay implements RemoteParkedCalls {
  private readonly waiting = new Map<string, Waiting>();
  /** Rounds this instance runs for other instances' clients, by relay id. */
  private readonly serving = new Map<string, CallCancellation>();
  private heartbeat: NodeJS.Timeout | undefined;
  private liveness: NodeJS.Timeout | undefined;
  /** The instance each waiting relay is with. */
  private readonly owners = new Map<string, string>();

  private subscriber: Redis | undefined;

  private constructor(
    private readonly link: RedisLink,
    private readonly parked: ParkedCalls,
    private readonly timing: ParkedCallRelayTiming,
    private readonly logger: Logger,
  ) {}

  static async connect(link: RedisLink, parked: ParkedCalls, logger: Logger, timing: ParkedCallRelayTiming = DEFAULT_TIMING): Promise<ParkedCallRelay> {
    const relay = new ParkedCallRelay(link, parked, timing, logger);
    relay.subscriber = await link.subscriber([inbox(parked.instance)], (_channel: string, raw: string) => relay.receive(raw));
    // Back from an outage: say at once that this instance is alive. Going down: a relayed
    // round's progress and outcome can no longer arrive, so its client is told now.
    link.onChange((up) => {
      if (up) {
        void relay.beat();
        return;
      }
      for (const id of [...relay.waiting.keys()]) {
        relay.link.fellBack('parked_call');
        relay.settle(id, {
          kind: 'failed',
          error: new DomainError('unavailable', "The gateway lost its connection to the cluster's Redis while another instance ran this call's round.", {
            action: 'Retry shortly; the call may have to start over.',
          }),
        });
      }
    });
    await relay.beat();
    relay.heartbeat = setInterval(() => void relay.beat(), timing.heartbeatMs);
    relay.heartbeat.unref();
    relay.liveness = setInterval(() => void relay.checkOwners(), timing.heartbeatMs);
    relay.liveness.unref();
    parked.remote = relay;
    return relay;
  }

  async resume(ref: ParkRef, user: string, inputResponses: Readonly<Record<string, unknown>>, request: RoundRequest): Promise<ParkedOutcome> {
    if (request.cancellation.aborted) return { kind: 'failed', error: request.cancellation.reason };
    const id = randomUUID();
    const message: Message = {
      type: 'resume',
      id,
      from: this.parked.instance,
      call: ref.call,
      round: ref.round,
      user,
      inputResponses: { ...inputResponses },
      progress: request.onprogress !== undefined,
    };
    const outcome = new Promise<ParkedOutcome>((resolve) => this.waiting.set(id, { resolve, onprogress: request.onprogress }));
    this.owners.set(id, ref.instance);
    let receivers: number;
    try {
      if (!this.link.up) throw new Error('Redis is unreachable');
      receivers = await this.publisher.publish(inbox(ref.instance), JSON.stringify(message));
    } catch (error) {
      this.link.fellBack('parked_call');
      this.settle(id, {
        kind: 'failed',
        error: new DomainError(
          'unavailable',
          `This call is held by another gateway instance, and the gateway cannot reach the cluster's Redis to continue it there (${(error as Error).message}).`,
          { action: 'Retry shortly.' },
        ),
      });
      receivers = 1;
    }
    if (receivers === 0) this.settle(id, { kind: 'failed', error: noLongerWaiting('the gateway instance holding it has stopped') });
    const stopListening = request.cancellation.onAbort(() => {
      void this.publisher.publish(inbox(ref.instance), JSON.stringify({ type: 'cancel', id } satisfies Message)).catch(() => undefined);
      this.settle(id, { kind: 'failed', error: request.cancellation.reason });
    });
    try {
      return await outcome;
    } finally {
      stopListening();
    }
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    clearInterval(this.liveness);
    for (const id of [...this.waiting.keys()])
      this.settle(id, { kind: 'failed', error: new DomainError('unavailable', 'The gateway is shutting down.', { action: 'Retry shortly.' }) });
    for (const cancellation of this.serving.values()) cancellation.abort(new Error('the gateway is shutting down'));
    await this.publisher.del(aliveKey(this.parked.instance)).catch(() => undefined);
    if (this.subscriber) await this.link.release(this.subscriber);
  }

  private receive(raw: string): void {
    let message: Partial<Message>;
    try {
      message = JSON.parse(raw) as Partial<Message>;
    } catch {
      return;
    }
    if (typeof message !== 'object' || message === null || typeof message.id !== 'string') return;
    switch (message.type) {
      case 'resume':
        this.serve(message as Extract<Message, { type: 'resume' }>);
        return;
      case 'cancel':
        this.serving.get(message.id)?.abort(new Error('the client closed its request'));
        return;
      case 'progress':
        if (typeof message.progress === 'object' && message.progress !== null) this.waiting.get(message.id)?.onprogress?.(message.progress);
        return;
      case 'outcome':
        if (typeof message.outcome === 'object' && message.outcome !== null) this.settle(message.id, fromWire(message.outcome));
        return;
      default:
    }
  }

  /** Run the round another instance's client asked for, on the call parked here. */
  private serve(message: Extract<Message, { type: 'resume' }>): void {
    const { id, from } = message;
    if (
      typeof from !== 'string' ||
      typeof message.call !== 'string' ||
      !Number.isSafeInteger(message.round) ||
      typeof message.user !== 'string' ||
      typeof message.inputResponses !== 'object' ||
      message.inputResponses === null
    )
      return;
    const reply = (body: Message): void =>
      void this.publisher
        .publish(inbox(from), JSON.stringify(body))
        .catch((error: unknown) => this.logger.warn({ err: error }, 'parked call: reply not relayed'));
    const cancellation = new CallCancellation();
    this.serving.set(id, cancellation);
    const onprogress = message.progress ? (progress: Progress): void => reply({ type: 'progress', id, progress }) : undefined;
    void this.parked
      .resumeHere(message.call, message.round, message.user, message.inputResponses, { cancellation, onprogress })
      .then((outcome) => reply({ type: 'outcome', id, outcome: toWire(outcome) }))
      .finally(() => this.serving.delete(id));
  }

  private settle(id: string, outcome: ParkedOutcome): void {
    const waiting = this.waiting.get(id);
    if (!waiting) return;
    this.waiting.delete(id);
    this.owners.delete(id);
    waiting.resolve(outcome);
  }

  private get publisher(): Redis {
    return this.link.commands;
  }

  private async beat(): Promise<void> {
    if (!this.link.up) return;
    await this.publisher
      .set(aliveKey(this.parked.instance), '1', 'PX', this.timing.aliveForMs)
      .catch((error: unknown) => this.logger.warn({ err: error }, 'cluster heartbeat not stored'));
  }

  /** A round relayed to an instance that has stopped since ends now, rather than never. */
  private async checkOwners(): Promise<void> {
    for (const instance of new Set(this.owners.values())) {
      const alive = await this.publisher.exists(aliveKey(instance)).catch(() => 1);
      if (alive) continue;
      for (const [id, owner] of [...this.owners])
        if (owner === instance) this.settle(id, { kind: 'failed', error: noLongerWaiting('the gateway instance holding it has stopped') });
    }
  }
}

function toWire(outcome: ParkedOutcome): WireOutcome {
  if (outcome.kind !== 'failed') return outcome;
  const { error } = outcome;
  if (error instanceof DomainError)
    return { kind: 'failed', error: { domain: { code: error.code, message: error.message, ...(error.action ? { action: error.action } : {}) } } };
  const { code, message, data } = toRpcError(error);
  return { kind: 'failed', error: { rpc: { code, message, ...(data === undefined ? {} : { data }) } } };
}

function fromWire(outcome: WireOutcome): ParkedOutcome {
  if (outcome.kind !== 'failed') return outcome;
  const { error } = outcome;
  if ('domain' in error)
    return { kind: 'failed', error: new DomainError(error.domain.code, error.domain.message, error.domain.action ? { action: error.domain.action } : {}) };
  return { kind: 'failed', error: new RpcError(error.rpc.code, error.rpc.message, error.rpc.data) };
}
