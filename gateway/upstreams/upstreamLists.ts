import type { Client } from '@modelcontextprotocol/client';
import { PassThroughResult } from '../../shared/jsonRpcDispatch.js';

/** Every page of one list (MCP pagination), at most 1,000 pages. */
export async function listAll(client: Client, method: string, field: string, timeoutMs: number): Promise<unknown[]> {
  const items: unknown[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const result = await client.request({ method, params: cursor ? { cursor } : {} } as never, PassThroughResult, { timeout: timeoutMs });
    const list = result[field];
    if (Array.isArray(list)) items.push(...list);
    cursor = typeof result.nextCursor === 'string' ? result.nextCursor : undefined;
    if (!cursor) break;
  }
  return items;
}

/** An upstream's `tools.allow` / `tools.deny` globs (`*` matches anything). */
export class ToolFilter {
  private readonly allow: RegExp[] | undefined;
  private readonly deny: RegExp[];

  constructor(settings: { allow?: readonly string[] | undefined; deny: readonly string[] }) {
    this.allow = settings.allow?.map(globToRegExp);
    this.deny = settings.deny.map(globToRegExp);
  }

  allows(name: string): boolean {
    if (this.allow && !this.allow.some((pattern) => pattern.test(name))) return false;
    return !this.deny.some((pattern) => pattern.test(name));
  }
}

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\/]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}
