import type { CallToolResult, InputRequiredResult } from '@modelcontextprotocol/server';
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
export function guardTool<A extends unknown[], R extends CallToolResult | InputRequiredResult = CallToolResult>(
  logger: Logger,
  toolName: string,
  handler: (...args: A) => Promise<R>,
): (...args: A) => Promise<R | CallToolResult> {
  const guarded = async (...args: A): Promise<R | CallToolResult> => {
    try {
      return await handler(...args);
    } catch (error) {
      if (!(error instanceof DomainError)) logger.error({ err: error, tool: toolName }, 'tool failed unexpectedly');
      return toolFailure(error);
    }
  };
  // With tracing on (shared/tracing.ts), the handler runs in a span whose parent comes from
  // the request's `_meta` (the SDK passes its request context, with `mcpReq._meta`, last).
  return (...args: A) => (tracingActive() ? traceToolHandler(toolName, metaOf(args[args.length - 1]), () => guarded(...args)) : guarded(...args));
}

function metaOf(context: unknown): Record<string, unknown> | undefined {
  const request = typeof context === 'object' && context !== null ? (context as { mcpReq?: { _meta?: unknown } }).mcpReq : undefined;
  const meta = request?._meta;
  return typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>) : undefined;
}
