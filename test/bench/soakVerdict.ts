/** One minute of a soak, per gateway instance: the medians of that minute's samples. */
export interface SoakMinute {
  minute: number;
  rssMb: number[];
  handles: number[];
}

/** How much RSS or open descriptors may grow before the soak fails. */
export const GROWTH_LIMIT = 0.1;

/**
 * The leak rule. Minutes 5 to 9 (after JIT, caches and pools have settled) are compared with
 * the last five, each side by its median, per instance, for RSS and for open descriptors: more
 * than 10 % growth fails. Medians of five minutes, not single minutes, because descriptors follow
 * the sockets in flight at each sample and move by several either way from one minute to the
 * next. A run shorter than 10 minutes compares its first half with its second.
 */
export function soakVerdicts(rows: readonly SoakMinute[], names: readonly string[]): string[] {
  const n = rows.length;
  const [before, after] =
    n >= 10 ? [rows.slice(4, 9), rows.slice(n - 5)] : n >= 2 ? [rows.slice(0, Math.floor(n / 2)), rows.slice(Math.floor(n / 2))] : [rows, rows];
  const span = (window: readonly SoakMinute[]): string =>
    window.length === 1 ? `minute ${window[0]!.minute}` : `minutes ${window[0]!.minute}–${window[window.length - 1]!.minute}`;
  const verdicts: string[] = [];
  names.forEach((name, i) => {
    for (const [what, pick] of [
      ['RSS MB', (row: SoakMinute) => row.rssMb[i]!],
      ['open fds', (row: SoakMinute) => row.handles[i]!],
    ] as const) {
      const from = Math.round(median(before.map(pick)) * 10) / 10;
      const to = Math.round(median(after.map(pick)) * 10) / 10;
      const growth = (to - from) / from;
      const verdict = `instance ${name} ${what}: ${span(before)} ${from} → ${span(after)} ${to} (${growth >= 0 ? '+' : ''}${Math.round(growth * 1000) / 10} %)`;
      verdicts.push(growth > GROWTH_LIMIT ? `FAIL ${verdict}, more than ${GROWTH_LIMIT * 100} %` : `ok   ${verdict}`);
    }
  });
  return verdicts;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
