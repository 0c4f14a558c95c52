import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';

/**
 * Opaque pagination cursors (MCP spec, utilities/pagination): clients must not parse them,
 * so the gateway is free to encode its own position (an offset, or an upstream and that
 * upstream's cursor) as base64url JSON.
 */
export function encodeCursor(position: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

export function decodeCursor<T extends Record<string, unknown>>(
  cursor: string | undefined,
  isValid: (value: Record<string, unknown>) => value is T,
): T | undefined {
  if (cursor === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof value === 'object' && value !== null && isValid(value as Record<string, unknown>)) return value as T;
  } catch {
    // fall through
  }
  throw new McpError(ErrorCode.InvalidParams, 'Invalid or expired cursor. Request the list again without a cursor.');
}

export interface OffsetCursor extends Record<string, unknown> {
  o: number;
}

const isOffsetCursor = (value: Record<string, unknown>): value is OffsetCursor => typeof value.o === 'number' && Number.isInteger(value.o) && value.o >= 0;

/** One page of an in-memory list. */
export function paginate<T>(items: readonly T[], cursor: string | undefined, pageSize: number): { page: T[]; nextCursor?: string } {
  const start = decodeCursor(cursor, isOffsetCursor)?.o ?? 0;
  const page = items.slice(start, start + pageSize);
  const end = start + page.length;
  return end < items.length ? { page, nextCursor: encodeCursor({ o: end }) } : { page };
}
