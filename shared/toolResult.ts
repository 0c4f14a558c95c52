import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { DomainError, toolFailure } from './errors.js';
import type { Logger } from './logger.js';
import { tracingActive, traceToolHandler } from './tracing.js';

/**
 * A successful tool result: a readable summary for the model and the same data as
 * `structuredContent` for programs (MCP 2025-06-18 structured tool output).
 */
export function toolSuccess(summary: string, structured: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: summary }], structuredContent: structured };
}

/**
 * Wrap a tool handler so every failure becomes an `isError` result with an
 * actionable message. Unexpected failures are logged with their stack on stderr
 * and reach the client only as a generic message (never a stack trace or a raw
 * driver error).
 */
export function guardTool<A extends unknown[]>(
  logger: Logger,
  toolName: string,
  handler: (...args: A) => Promise<CallToolResult>,
): (...args: A) => Promise<CallToolResult> {
  const guarded = async (...args: A): Promise<CallToolResult> => {
    try {
      return await handler(...args);
    } catch (error) {
      if (!(error instanceof DomainError)) logger.error({ err: error, tool: toolName }, 'tool failed unexpectedly');
      return toolFailure(error);
    }
  };
  // With tracing on (shared/tracing.ts), the handler runs in a span whose parent comes from
  // the request's `_meta` (the SDK passes `extra`, with `_meta`, as the last argument).
  return (...args: A) => (tracingActive() ? traceToolHandler(toolName, metaOf(args[args.length - 1]), () => guarded(...args)) : guarded(...args));
}

function metaOf(extra: unknown): Record<string, unknown> | undefined {
  const meta = typeof extra === 'object' && extra !== null ? (extra as { _meta?: unknown })._meta : undefined;
  return typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>) : undefined;
}
