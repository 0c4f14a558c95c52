import { describe, expect, it } from 'vitest';
import { composeResourceRead, type ResourceReadContext, type ResourceReadMiddleware } from '../../../../gateway/calls/resourceReadPipeline.js';
import { composeToolCall, type ToolCallContext, type ToolCallMiddleware } from '../../../../gateway/calls/toolCallPipeline.js';
import { NOT_CANCELLED } from '../../../../gateway/upstreams/cancellation.js';
import { caller, listedUpstream, RecordingSession, tool } from '../../support/seams.js';

const pm = listedUpstream('pm', { tools: [tool('create_task')] });

function call(): ToolCallContext {
  return {
    session: new RecordingSession('s1'),
    requestId: 1,
    caller: caller('ada'),
    exposedName: 'pm__create_task',
    target: { upstream: pm, name: 'create_task' },
    arguments: { title: 'Write tests' },
    meta: undefined,
    cancellation: NOT_CANCELLED,
    onprogress: undefined,
  };
}

/** A stage that notes when the call enters and leaves it. */
function stage(name: string, trace: string[]): ToolCallMiddleware {
  return async (c, next) => {
    trace.push(`${name} in`);
    const result = await next(c);
    trace.push(`${name} out`);
    return result;
  };
}

describe('the tools/call pipeline', () => {
  it('runs the stages outermost first around the terminal handler, and unwinds in reverse', async () => {
    const trace: string[] = [];
    const handler = composeToolCall([stage('a', trace), stage('b', trace)], async (c) => {
      trace.push(`upstream ${c.exposedName}`);
      return { content: [{ type: 'text', text: 'created' }] };
    });
    expect(await handler(call())).toEqual({ content: [{ type: 'text', text: 'created' }] });
    expect(trace).toEqual(['a in', 'b in', 'upstream pm__create_task', 'b out', 'a out']);
  });

  it('goes straight to the terminal handler with no stages', async () => {
    let reached = 0;
    const handler = composeToolCall([], async () => ({ reached: ++reached }));
    expect(await handler(call())).toEqual({ reached: 1 });
  });

  it('lets a stage answer without calling the next one, so nothing after it runs', async () => {
    const trace: string[] = [];
    const refuse: ToolCallMiddleware = async () => ({ isError: true, content: [{ type: 'text', text: 'refused' }] });
    const handler = composeToolCall([stage('outer', trace), refuse, stage('inner', trace)], async () => {
      trace.push('upstream');
      return {};
    });
    expect(await handler(call())).toMatchObject({ isError: true });
    expect(trace).toEqual(['outer in', 'outer out']);
  });

  it('passes on what a stage changes in the call', async () => {
    const seen: unknown[] = [];
    const rename: ToolCallMiddleware = (c, next) => next({ ...c, arguments: { ...c.arguments, priority: 'high' } });
    const handler = composeToolCall([rename], async (c) => {
      seen.push(c.arguments);
      return {};
    });
    await handler(call());
    expect(seen).toEqual([{ title: 'Write tests', priority: 'high' }]);
  });

  it('passes a terminal failure out through every stage', async () => {
    const trace: string[] = [];
    const handler = composeToolCall([stage('a', trace)], async () => {
      throw new Error('upstream down');
    });
    await expect(handler(call())).rejects.toThrow('upstream down');
    expect(trace).toEqual(['a in']);
  });
});

describe('the resources/read pipeline', () => {
  it('composes its stages the same way', async () => {
    const trace: string[] = [];
    const note =
      (name: string): ResourceReadMiddleware =>
      async (read, next) => {
        trace.push(name);
        return next(read);
      };
    const handler = composeResourceRead([note('first'), note('second')], async (read) => {
      trace.push(`upstream ${read.uri}`);
      return { contents: [] };
    });
    const read: ResourceReadContext = {
      session: new RecordingSession('s1'),
      requestId: 2,
      caller: caller('ada'),
      upstream: pm,
      uri: 'project://status',
      exposedUri: 'pm+project://status',
      params: { uri: 'project://status' },
      cancellation: NOT_CANCELLED,
    };
    expect(await handler(read)).toEqual({ contents: [] });
    expect(trace).toEqual(['first', 'second', 'upstream project://status']);
  });
});
