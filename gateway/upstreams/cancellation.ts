/**
 * What a forwarded call needs to know of its cancellation: whether it was cancelled, why, and
 * a way to be told. Everything on a call's path (policies, composites, the concurrency queue,
 * the forwarded request) takes this rather than an AbortSignal, so that the common call, which
 * nobody cancels, costs no AbortController or EventTarget listener: both are among the larger
 * per-call costs of a gateway that forwards thousands of calls a second.
 */
export interface Cancellation {
  readonly aborted: boolean;
  readonly reason: unknown;
  /** Call `listener` once when the call is cancelled; returns what removes it. */
  onAbort(listener: (reason: unknown) => void): () => void;
}

/** Never cancelled: for calls the gateway makes on its own behalf. */
export const NOT_CANCELLED: Cancellation = { aborted: false, reason: undefined, onAbort: () => () => undefined };

/** The cancellation of one client request, cancelled by `abort` (a notifications/cancelled naming it). */
export class CallCancellation implements Cancellation {
  aborted = false;
  reason: unknown = undefined;
  private listeners: Array<(reason: unknown) => void> | undefined;

  onAbort(listener: (reason: unknown) => void): () => void {
    (this.listeners ??= []).push(listener);
    return () => {
      const index = this.listeners?.indexOf(listener) ?? -1;
      if (index !== -1) this.listeners!.splice(index, 1);
    };
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.listeners ?? [];
    this.listeners = undefined;
    for (const listener of listeners) listener(reason);
  }
}

/** An AbortSignal (the SDK's, for requests it dispatches) seen as a Cancellation. */
export function cancellationOf(signal: AbortSignal): Cancellation {
  return {
    get aborted() {
      return signal.aborted;
    },
    get reason() {
      return signal.reason as unknown;
    },
    onAbort(listener) {
      const handler = (): void => listener(signal.reason);
      signal.addEventListener('abort', handler, { once: true });
      return () => signal.removeEventListener('abort', handler);
    },
  };
}
