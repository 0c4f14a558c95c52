import type { LoggingLevel, McpServer } from '@modelcontextprotocol/server';
import { FAILURE_META_KEY } from '../errors.js';
import type { Logger } from '../logger.js';

/**
 * Every tool call a server answers, reported twice: to stderr at debug (tool name, duration,
 * outcome — never the arguments, which may hold secrets), and to the client as an MCP
 * `notifications/message` (2025-11-25: at or above the level the session set with
 * `logging/setLevel`; 2026-07-28: only when the request carries the `_meta`
 * `io.modelcontextprotocol/logLevel` key, at or above it — the SDK's `ctx.mcpReq.log` applies
 * both). A success is `debug`, a failed call (`isError`) `warning`, a handler that threw `error`.
 */

let processLogger: Logger | undefined;

/** Where tool calls are logged in this process (set once by `serve`); without it, only the client hears of them. */
export function logToolCallsTo(logger: Logger): void {
  processLogger = logger.child({ component: 'tool-calls' });
}

type Outcome = 'ok' | 'input_required' | 'exception' | string;

interface LoggingContext {
  sessionId?: string;
  mcpReq?: { log?: (level: LoggingLevel, data: unknown, logger?: string) => Promise<void>; envelope?: Record<string, unknown> };
}

/**
 * Whether a 2025-era session chose a level with logging/setLevel. The SDK keeps the levels in
 * its Server's `_loggingLevels` (not public API; this is the one place that reads it). A session
 * that chose none hears only of failures: the spec leaves that choice to the server, and a debug
 * line per call would go to every client that never asked.
 */
function legacyLevelChosen(server: McpServer, sessionId: string | undefined): boolean {
  const levels = (server.server as unknown as { _loggingLevels?: Map<string | undefined, unknown> } | undefined)?._loggingLevels;
  return levels instanceof Map && (levels.has(sessionId) || levels.has(undefined));
}

function outcomeOf(result: unknown): Outcome {
  if (typeof result !== 'object' || result === null) return 'ok';
  const value = result as { isError?: unknown; resultType?: unknown; _meta?: Record<string, unknown> };
  if (value.resultType === 'input_required') return 'input_required';
  if (value.isError !== true) return 'ok';
  const failure = value._meta?.[FAILURE_META_KEY] as { code?: unknown } | undefined;
  return typeof failure?.code === 'string' ? failure.code : 'error';
}

async function report(server: McpServer, context: unknown, tool: string, outcome: Outcome, ms: number): Promise<void> {
  processLogger?.debug({ tool, ms, outcome }, 'tool call');
  const ctx = context as LoggingContext | undefined;
  const log = ctx?.mcpReq?.log;
  if (typeof log !== 'function') return;
  const level: LoggingLevel = outcome === 'exception' ? 'error' : outcome === 'ok' || outcome === 'input_required' ? 'debug' : 'warning';
  // 2026-07-28: the SDK sends only when the request carries a level. 2025: see legacyLevelChosen.
  const modern = ctx?.mcpReq?.envelope !== undefined;
  if (!modern && level === 'debug' && !legacyLevelChosen(server, ctx?.sessionId)) return;
  const message = outcome === 'ok' || outcome === 'input_required' ? `${tool}: ${outcome} in ${ms} ms` : `${tool} failed (${outcome}) after ${ms} ms`;
  // The notification goes out before the result, on the request's own stream; losing it must not fail the call.
  await log(level, { message, tool, outcome, ms }, 'tool-calls').catch(() => undefined);
}

type Handler = (...args: unknown[]) => unknown;

/** `handler` of tool `tool` on `server`, reporting each call (the SDK passes its request context last). */
export function observedToolHandler(server: McpServer, tool: string, handler: Handler): Handler {
  return async (...args: unknown[]) => {
    const context = args[args.length - 1];
    const started = performance.now();
    let result: unknown;
    try {
      result = await handler(...args);
    } catch (error) {
      await report(server, context, tool, 'exception', Math.round(performance.now() - started));
      throw error;
    }
    await report(server, context, tool, outcomeOf(result), Math.round(performance.now() - started));
    return result;
  };
}
