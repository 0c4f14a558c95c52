import { createHash } from 'node:crypto';
import { invalidInput } from '../../../shared/errors.js';

/**
 * Opaque pagination cursors. A cursor remembers the last id of the previous page and
 * a fingerprint of the filters, so a cursor reused with different filters is
 * refused instead of silently returning a mismatched page.
 */
function fingerprint(filter: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(filter ?? {}))
    .digest('base64url')
    .slice(0, 12);
}

export function encodeCursor(lastId: number, filter: unknown): string {
  return Buffer.from(JSON.stringify({ v: 1, before: lastId, f: fingerprint(filter) })).toString('base64url');
}

export function decodeCursor(cursor: string, filter: unknown): number {
  const restart = 'Start again without a cursor, and pass next_cursor from the previous page unchanged.';
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidInput('cursor', 'the cursor is not one this server issued.', restart);
  }
  const value = parsed as { v?: unknown; before?: unknown; f?: unknown };
  if (value.v !== 1 || typeof value.before !== 'number' || !Number.isSafeInteger(value.before) || typeof value.f !== 'string') {
    throw invalidInput('cursor', 'the cursor is not one this server issued.', restart);
  }
  if (value.f !== fingerprint(filter)) {
    throw invalidInput(
      'cursor',
      'the cursor belongs to a list with different filters.',
      'Use the same filters as the request that returned it, or start without a cursor.',
    );
  }
  return value.before;
}
