/**
 * The size an upstream's result had on the wire, remembered by the transport that received
 * it, so that size limits and call logs need not serialize the result again. Keyed by the
 * result object itself: a copy or a rewritten result has no recorded size.
 */
const sizes = new WeakMap<object, number>();

export function recordWireSize(result: object, bytes: number): void {
  sizes.set(result, bytes);
}

export function wireSizeOf(result: unknown): number | undefined {
  return typeof result === 'object' && result !== null ? sizes.get(result) : undefined;
}
