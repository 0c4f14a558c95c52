import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, paginate } from '../../../../gateway/catalog/cursor.js';

const items = Array.from({ length: 7 }, (_, i) => `item-${i}`);

/** Every page, following nextCursor as a client would. */
function allPages(pageSize: number): string[][] {
  const pages: string[][] = [];
  let cursor: string | undefined;
  do {
    const { page, nextCursor } = paginate(items, cursor, pageSize);
    pages.push(page);
    cursor = nextCursor;
  } while (cursor !== undefined);
  return pages;
}

function invalidCursor(run: () => unknown): McpError {
  try {
    run();
  } catch (error) {
    if (error instanceof McpError) return error;
    throw error;
  }
  throw new Error('expected the cursor to be refused');
}

describe('paging an in-memory list', () => {
  it('walks every item once, in order, in pages of the size asked', () => {
    const pages = allPages(3);
    expect(pages).toEqual([items.slice(0, 3), items.slice(3, 6), items.slice(6)]);
  });

  it('gives no nextCursor when the first page holds everything', () => {
    expect(paginate(items, undefined, 100)).toEqual({ page: items });
    expect(paginate(items, undefined, 7)).toEqual({ page: items });
  });

  it('gives no nextCursor on the last page', () => {
    const first = paginate(items, undefined, 4);
    expect(first.nextCursor).toBeTypeOf('string');
    expect(paginate(items, first.nextCursor, 4)).toEqual({ page: items.slice(4) });
  });

  it('answers a cursor past the end with an empty last page', () => {
    expect(paginate(items, encodeCursor({ o: 50 }), 3)).toEqual({ page: [] });
  });

  it.each([
    ['not base64url JSON', 'not a cursor!'],
    ['JSON that is not an object', Buffer.from('42').toString('base64url')],
    ['a negative offset', encodeCursor({ o: -1 })],
    ['a fractional offset', encodeCursor({ o: 1.5 })],
    ['an offset that is not a number', encodeCursor({ o: '3' })],
    ['no offset', encodeCursor({ upstream: 'pm' })],
    ['an empty string', ''],
  ])('refuses a tampered cursor (%s) with invalid params and what to do', (_what, cursor) => {
    const error = invalidCursor(() => paginate(items, cursor, 3));
    expect(error.code).toBe(ErrorCode.InvalidParams);
    expect(error.message).toContain('Invalid or expired cursor. Request the list again without a cursor.');
  });

  it('refuses a cursor whose last characters were altered', () => {
    const next = paginate(items, undefined, 3).nextCursor!;
    const altered = `${next.slice(0, -2)}!!`;
    expect(invalidCursor(() => paginate(items, altered, 3)).code).toBe(ErrorCode.InvalidParams);
  });
});

describe('opaque cursors of other positions', () => {
  const isUpstreamCursor = (value: Record<string, unknown>): value is { u: string; c: string } => typeof value.u === 'string' && typeof value.c === 'string';

  it('round-trips a position through its validator', () => {
    const cursor = encodeCursor({ u: 'pm', c: 'upstream-cursor-2' });
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor, isUpstreamCursor)).toEqual({ u: 'pm', c: 'upstream-cursor-2' });
  });

  it('reads no cursor as the start', () => {
    expect(decodeCursor(undefined, isUpstreamCursor)).toBeUndefined();
  });

  it('refuses a position of another shape', () => {
    expect(invalidCursor(() => decodeCursor(encodeCursor({ o: 3 }), isUpstreamCursor)).code).toBe(ErrorCode.InvalidParams);
  });
});
