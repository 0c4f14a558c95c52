import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { CallCancellation, type Cancellation } from '../upstreams/cancellation.js';

type Result = Record<string, unknown>;

/** One request an upstream asked of the end client, as a 2026-07-28 `inputRequests` entry carries it. */
export interface InputRequest {
  method: string;
  params?: Record<string, unknown>;
}

export type InputRequests = Record<string, InputRequest>;

/** How a round of a bridged call ended: the call's answer, its failure, or input the client must give. */
export type RoundOutcome = { kind: 'done'; result: Result } | { kind: 'failed'; error: unknown } | { kind: 'input'; inputRequests: InputRequests };

/** The client request a round runs on: its cancellation, and where the upstream's progress goes. */
export interface RoundRequest {
  cancellation: Cancellation;
  /** Progress of the upstream call, for this round's client (undefined: it asked for none). */
  onprogress?: ((progress: Progress) => void) | undefined;
}

interface Ask {
  request: InputRequest;
  resolve: (answer: Result) => void;
  reject: (error: unknown) => void;
  /** Sent to the client in an input_required round, and not answered yet. */
  sent: boolean;
}

/**
 * Requests a 2025 upstream sends at once (one after the other on its stream) may reach the
 * gateway some milliseconds apart on a busy machine: a round goes out once GATHER_QUIET_MS
 * pass without another, and at most GATHER_MS after the first.
 */
const GATHER_QUIET_MS = 5;
const GATHER_MS = 50;

const KEY_PREFIX: Readonly<Record<string, string>> = { 'sampling/createMessage': 'sampling', 'elicitation/create': 'elicitation', 'roots/list': 'roots' };

/**
 * A call a 2026-07-28 client makes to a 2025-era upstream that may ask the client for input
 * mid-call (sampling, elicitation, roots) with server→client requests, which the client's
 * revision has no way to receive. The upstream call runs on (it is never retried: a 2025 server
 * does not expect to be called twice), and each request it sends the client is held here and
 * given to the client as an `input_required` round; the client's retry with `inputResponses`
 * answers the held requests and the call goes on, round after round, until it answers.
 *
 * The call outlives each client request: its cancellation and progress are re-pointed at the
 * request of the current round, and between rounds (parked, see ParkedCalls) nobody hears its
 * progress and only expiry cancels it.
 */
export class BridgedCall {
  /** The upstream call's own cancellation: aborted by the current round's client, or by expiry. */
  readonly cancellation = new CallCancellation();
  private outcome: Exclude<RoundOutcome, { kind: 'input' }> | undefined;
  private readonly asks = new Map<string, Ask>();
  private nextKey = 0;
  private wake: (() => void) | undefined;
  private wakeScheduled = false;
  private progressSink: ((progress: Progress) => void) | undefined;
  /** Rounds that ended asking for input: each names the call anew, so a state of an earlier round is spent. */
  rounds = 0;

  constructor(
    /** Names the call in the requestState the client gets (unique per gateway instance). */
    readonly id: string,
    /** The acting user: only their retries may answer it. */
    readonly user: string,
    /** The upstream it runs on, and how many of its calls may wait for input at once (they hold its concurrency slots). */
    readonly upstream: { namespace: string; maxParked: number } = { namespace: '', maxParked: Number.POSITIVE_INFINITY },
  ) {}

  /** Start the upstream call; `start` gets the call's cancellation and progress sink. */
  run(start: (cancellation: Cancellation, onprogress: (progress: Progress) => void) => Promise<Result>): void {
    let started: Promise<Result>;
    try {
      started = start(this.cancellation, (progress) => this.progressSink?.(progress));
    } catch (error) {
      started = Promise.reject(error);
    }
    started.then(
      (result) => this.settle({ kind: 'done', result }),
      (error: unknown) => this.settle({ kind: 'failed', error }),
    );
  }

  /**
   * The upstream asks the end client something: held until a round gives it to the client and
   * a retry brings the answer. The upstream withdrawing its request (`signal`) drops it.
   */
  ask(request: InputRequest, signal?: AbortSignal): Promise<Result> {
    if (this.cancellation.aborted) return Promise.reject(this.cancellation.reason);
    return new Promise((resolve, reject) => {
      const key = `${KEY_PREFIX[request.method] ?? 'input'}-${++this.nextKey}`;
      this.asks.set(key, { request, resolve, reject, sent: false });
      signal?.addEventListener(
        'abort',
        () => {
          if (this.asks.delete(key)) reject(signal.reason);
        },
        { once: true },
      );
      // Requests the upstream sends together (a 2025 server awaiting several at once) go out
      // in one round: they may reach the gateway in separate reads (see GATHER_QUIET_MS).
      if (!this.wakeScheduled) {
        this.wakeScheduled = true;
        this.gather(Date.now(), this.asks.size);
      }
    });
  }

  /**
   * Run one round on a client request: until the call answers, fails, or asks for input not
   * yet given to the client. The request's cancellation cancels the call; its progress goes to
   * the request.
   */
  async round(request: RoundRequest): Promise<RoundOutcome> {
    if (request.cancellation.aborted) this.abandon(request.cancellation.reason);
    const unlink = request.cancellation.onAbort((reason) => this.abandon(reason));
    this.progressSink = request.onprogress;
    try {
      for (;;) {
        if (this.outcome) return this.outcome;
        const unsent = [...this.asks].filter(([, ask]) => !ask.sent);
        if (unsent.length > 0) {
          for (const [, ask] of unsent) ask.sent = true;
          this.rounds++;
          return { kind: 'input', inputRequests: Object.fromEntries(unsent.map(([key, ask]) => [key, ask.request])) };
        }
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
      }
    } finally {
      unlink();
      this.progressSink = undefined;
    }
  }

  /**
   * The client's answers to the requests of the last round. One it left out is asked again in
   * the next round (MCP 2026-07-28: a missing input response is requested again).
   */
  answer(inputResponses: Readonly<Record<string, unknown>>): void {
    for (const [key, ask] of [...this.asks]) {
      if (!ask.sent) continue;
      if (Object.hasOwn(inputResponses, key)) {
        this.asks.delete(key);
        ask.resolve(inputResponses[key] as Result);
      } else {
        ask.sent = false;
      }
    }
  }

  /** Give up the call: the upstream is told (notifications/cancelled), and its held requests fail. */
  abandon(reason: unknown): void {
    this.cancellation.abort(reason);
    for (const [key, ask] of [...this.asks]) {
      this.asks.delete(key);
      ask.reject(reason);
    }
  }

  /** Wake the round once GATHER_QUIET_MS pass without a new request (or GATHER_MS after the first). */
  private gather(since: number, seen: number): void {
    setTimeout(() => {
      if (this.asks.size !== seen && Date.now() - since < GATHER_MS) return this.gather(since, this.asks.size);
      this.wakeScheduled = false;
      this.wake?.();
    }, GATHER_QUIET_MS);
  }

  private settle(outcome: Exclude<RoundOutcome, { kind: 'input' }>): void {
    this.outcome = outcome;
    for (const [key, ask] of [...this.asks]) {
      this.asks.delete(key);
      ask.reject(new Error('the call ended'));
    }
    this.wake?.();
  }
}
