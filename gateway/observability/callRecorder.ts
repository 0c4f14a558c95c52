import { FAILURE_META_KEY, DomainError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { CallFacts } from '../calls/callFacts.js';
import { isWriteTool, jsonBytes, toolDefinition } from '../policy/callPolicies.js';
import { PolicyRefusal } from '../policy/policyRefusal.js';
import type { ResourceReadContext, ResourceReadMiddleware } from '../calls/resourceReadPipeline.js';
import type { ToolCallContext, ToolCallMiddleware } from '../calls/toolCallPipeline.js';
import type { AuditLog } from './auditLog.js';
import type { GatewayMetrics } from './gatewayMetrics.js';
import type { ObservabilitySettings } from './observabilitySettings.js';

/** How a call ended, kept for the bookkeeping that follows its response. */
interface CallEnding {
  result: Record<string, unknown> | undefined;
  failure: unknown;
  durationMs: number;
  endedAt: number;
}

/** One handled call as the log line, the status page and the audit log see it. */
export interface CallRecord {
  time: string;
  method: 'tools/call' | 'resources/read';
  session: string;
  user: string;
  /** The exposed tool name or resource URI. */
  name: string;
  upstream: string;
  durationMs: number;
  /** `ok`, or a stable failure code (`tool_error` for a result with isError from the upstream). */
  outcome: string;
  requestBytes: number;
  responseBytes: number;
  cache?: CallFacts['cache'];
  write?: boolean;
  via?: string;
  message?: string;
}

/**
 * The outermost policy stage: times each call, then writes one structured log line, updates
 * the metrics, keeps the recent calls and errors for the status page, and appends writes to
 * the audit log. Arguments appear only redacted, and only where configured (logs) or in the
 * audit log.
 */
export class CallRecorder {
  readonly recentCalls: CallRecord[] = [];
  readonly recentErrors: CallRecord[] = [];

  /**
   * Call lines hold only the record's own fields and arguments already passed through
   * `redact`, so they skip the logger's path-based redaction, which would walk every line again.
   */
  private readonly callLog: Logger;

  constructor(
    private readonly settings: ObservabilitySettings,
    logger: Logger,
    private readonly metrics: GatewayMetrics | undefined,
    private readonly audit: AuditLog | undefined,
    private readonly redact: (value: unknown) => unknown,
  ) {
    this.callLog = logger.child({}, { redact: [] });
  }

  readonly toolCalls: ToolCallMiddleware = (call, next) => {
    const facts: CallFacts = { write: isWriteTool(toolDefinition(call.target)) };
    return observe(
      () => next({ ...call, facts }),
      (ending) => this.recordToolCall(call, facts, ending),
    );
  };

  readonly resourceReads: ResourceReadMiddleware = (read, next) => {
    const facts: CallFacts = { write: false };
    return observe(
      () => next({ ...read, facts }),
      (ending) => this.recordResourceRead(read, facts, ending),
    );
  };

  private recordToolCall(call: ToolCallContext, facts: CallFacts, ending: CallEnding): void {
    const record: CallRecord = {
      ...callRecord(ending, facts, {
        method: 'tools/call',
        session: call.session.id,
        user: call.caller.user,
        name: call.exposedName,
        upstream: call.target.upstream.namespace,
        requestBytes: jsonBytes(call.arguments),
        responseBytes: facts.responseBytes ?? (ending.result ? jsonBytes(ending.result) : 0),
      }),
      write: facts.write,
      ...(call.via ? { via: call.via.tool } : {}),
    };
    const { outcome } = record;
    this.metrics?.calls.inc({ upstream: record.upstream, tool: record.name, outcome: outcome === 'ok' ? 'ok' : 'error' });
    if (outcome !== 'ok') this.metrics?.errors.inc({ upstream: record.upstream, tool: record.name, code: outcome });
    this.metrics?.duration.observe({ upstream: record.upstream, tool: record.name }, record.durationMs / 1000);
    this.remember(record);
    let redacted: unknown;
    const redactedArguments = (): unknown => (redacted ??= this.redact(call.arguments ?? {}));
    if (this.settings.logCalls) {
      this.callLog.info({ call: record, ...(this.settings.logArguments ? { arguments: redactedArguments() } : {}) }, 'tool call');
    }
    if (facts.write && this.audit) {
      this.audit.append({
        time: record.time,
        user: record.user,
        email: call.caller.email,
        session: record.session,
        tool: record.name,
        upstream: record.upstream,
        upstreamTool: call.target.name,
        arguments: redactedArguments(),
        outcome,
        durationMs: record.durationMs,
        ...(record.via ? { via: record.via } : {}),
      });
    }
  }

  private recordResourceRead(read: ResourceReadContext, facts: CallFacts, ending: CallEnding): void {
    const record = callRecord(ending, facts, {
      method: 'resources/read',
      session: read.session.id,
      user: read.caller.user,
      name: read.exposedUri,
      upstream: read.upstream.namespace,
      requestBytes: 0,
      responseBytes: facts.responseBytes ?? 0,
    });
    this.metrics?.resourceReads.inc({ upstream: record.upstream, outcome: record.outcome === 'ok' ? 'ok' : 'error' });
    this.remember(record);
    if (this.settings.logCalls) this.callLog.info({ call: record }, 'resource read');
  }

  private remember(record: CallRecord): void {
    const keep = this.settings.statusPage.recentCalls;
    if (keep === 0) return;
    this.recentCalls.push(record);
    if (this.recentCalls.length > keep) this.recentCalls.shift();
    if (record.outcome !== 'ok') {
      this.recentErrors.push(record);
      if (this.recentErrors.length > keep) this.recentErrors.shift();
    }
  }
}

/** What a tool call and a resource read record alike: who, what, when, how it ended, the sizes and the cache. */
function callRecord(
  ending: CallEnding,
  facts: CallFacts,
  subject: Pick<CallRecord, 'method' | 'session' | 'user' | 'name' | 'upstream' | 'requestBytes' | 'responseBytes'>,
): CallRecord {
  const { outcome, message } = describeOutcome(ending.result, ending.failure);
  return {
    time: new Date(ending.endedAt).toISOString(),
    ...subject,
    durationMs: ending.durationMs,
    outcome,
    ...(facts.cache ? { cache: facts.cache } : {}),
    ...(message ? { message } : {}),
  };
}

/**
 * Run one call and hand how it ended to `record` in the next check phase: the bookkeeping
 * runs once the response is on its way, so the caller does not wait for it.
 */
async function observe(run: () => Promise<Record<string, unknown>>, record: (ending: CallEnding) => void): Promise<Record<string, unknown>> {
  const started = performance.now();
  let result: Record<string, unknown> | undefined;
  let failure: unknown;
  try {
    result = await run();
    return result;
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    const durationMs = Math.round((performance.now() - started) * 1000) / 1000;
    const endedAt = Date.now();
    setImmediate(() => record({ result, failure, durationMs, endedAt }));
  }
}

function describeOutcome(result: Record<string, unknown> | undefined, failure: unknown): { outcome: string; message?: string } {
  if (failure !== undefined) {
    if (failure instanceof PolicyRefusal) return { outcome: failure.code, message: failure.message };
    if (failure instanceof DomainError) return { outcome: failure.code, message: failure.message };
    const data = (failure as { data?: { code?: unknown } }).data;
    return { outcome: typeof data?.code === 'string' ? data.code : 'error', message: failure instanceof Error ? failure.message.slice(0, 300) : undefined };
  }
  if (result?.isError !== true) return { outcome: 'ok' };
  const meta = result._meta as Record<string, { code?: unknown; message?: unknown }> | undefined;
  const recorded = meta?.[FAILURE_META_KEY];
  const text = (result.content as Array<{ text?: unknown }> | undefined)?.find((block) => typeof block.text === 'string')?.text as string | undefined;
  return {
    outcome: typeof recorded?.code === 'string' ? recorded.code : 'tool_error',
    ...(typeof recorded?.message === 'string' ? { message: recorded.message } : text ? { message: text.slice(0, 300) } : {}),
  };
}
