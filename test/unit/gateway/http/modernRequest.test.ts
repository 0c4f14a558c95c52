import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import {
  classifyPost,
  CLIENT_CAPABILITIES_KEY,
  CLIENT_INFO_KEY,
  HEADER_MISMATCH,
  PROTOCOL_VERSION_KEY,
  UNSUPPORTED_PROTOCOL_VERSION,
} from '../../../../gateway/http/modernRequest.js';

const envelope = (version = '2026-07-28') => ({
  [PROTOCOL_VERSION_KEY]: version,
  [CLIENT_CAPABILITIES_KEY]: { elicitation: {} },
  [CLIENT_INFO_KEY]: { name: 'test-client', version: '1.0.0' },
});

function modern(method: string, params: Record<string, unknown> = {}, version = '2026-07-28') {
  return { jsonrpc: '2.0', id: 7, method, params: { ...params, _meta: envelope(version) } };
}

function headers(method: string, extra: IncomingHttpHeaders = {}): IncomingHttpHeaders {
  return { 'mcp-protocol-version': '2026-07-28', 'mcp-method': method, ...extra };
}

describe('telling a 2025-era POST from a 2026-07-28 request', () => {
  it('leaves 2025-era messages to the session routes', () => {
    expect(classifyPost({}, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25' } })).toEqual({ kind: 'legacy' });
    expect(classifyPost({ 'mcp-protocol-version': '2025-11-25' }, { jsonrpc: '2.0', id: 2, method: 'tools/list' })).toEqual({ kind: 'legacy' });
    expect(classifyPost({}, [{ jsonrpc: '2.0', id: 1, method: 'ping' }])).toEqual({ kind: 'legacy' });
  });

  it('accepts a well-formed 2026 request and reads its envelope', () => {
    const outcome = classifyPost(headers('tools/call', { 'mcp-name': 'pm__list_tasks' }), modern('tools/call', { name: 'pm__list_tasks', arguments: {} }));
    expect(outcome).toEqual({
      kind: 'request',
      request: {
        id: 7,
        method: 'tools/call',
        params: { name: 'pm__list_tasks', arguments: {}, _meta: envelope() },
        clientCapabilities: { elicitation: {} },
        clientInfo: { name: 'test-client', version: '1.0.0' },
        logLevel: undefined,
      },
    });
  });

  it('acknowledges a 2026 notification without acting on it', () => {
    const notification = { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1, _meta: envelope() } };
    expect(classifyPost(headers('notifications/cancelled'), notification)).toEqual({ kind: 'notification' });
  });
});

describe('refusing a 2026 request, with the status and code the revision names', () => {
  it('an unsupported revision: 400, -32022, with the supported ones', () => {
    const outcome = classifyPost({ 'mcp-protocol-version': '2027-01-01', 'mcp-method': 'tools/list' }, modern('tools/list', {}, '2027-01-01'));
    expect(outcome.kind).toBe('refused');
    if (outcome.kind !== 'refused') return;
    expect(outcome.refusal).toMatchObject({
      status: 400,
      code: UNSUPPORTED_PROTOCOL_VERSION,
      id: 7,
      data: { supported: ['2026-07-28'], requested: '2027-01-01' },
    });
  });

  it('a missing or different MCP-Protocol-Version header: 400, -32020', () => {
    const outcome = classifyPost({ 'mcp-method': 'tools/list' }, modern('tools/list'));
    expect(outcome).toMatchObject({ kind: 'refused', refusal: { status: 400, code: HEADER_MISMATCH, id: 7 } });
  });

  it('an Mcp-Method header that disagrees with the body: 400, -32020, naming both', () => {
    const outcome = classifyPost(headers('tools/list'), modern('prompts/list'));
    expect(outcome).toEqual({
      kind: 'refused',
      refusal: {
        status: 400,
        code: HEADER_MISMATCH,
        id: 7,
        message: 'The Mcp-Method header must be sent and equal the request method "prompts/list"; got "tools/list".',
        data: { mismatch: { header: 'tools/list', body: 'prompts/list' } },
      },
    });
  });

  it('an Mcp-Name header that disagrees with the tool, prompt or resource named: 400, -32020', () => {
    const tool = classifyPost(headers('tools/call', { 'mcp-name': 'pm__other' }), modern('tools/call', { name: 'pm__list_tasks' }));
    expect(tool).toMatchObject({ kind: 'refused', refusal: { code: HEADER_MISMATCH, data: { mismatch: { header: 'pm__other', body: 'pm__list_tasks' } } } });
    const read = classifyPost(headers('resources/read'), modern('resources/read', { uri: 'pm+project://status' }));
    expect(read).toMatchObject({
      kind: 'refused',
      refusal: { code: HEADER_MISMATCH, message: 'The Mcp-Name header must be sent and equal params.uri ("pm+project://status"); got none.' },
    });
  });

  it('a method the revision removed: 404, -32601, naming what replaces it', () => {
    const outcome = classifyPost(headers('resources/subscribe'), modern('resources/subscribe', { uri: 'pm+project://status' }));
    expect(outcome).toEqual({
      kind: 'refused',
      refusal: {
        status: 404,
        code: -32601,
        id: 7,
        message:
          'Method not found: "resources/subscribe" is not a method of protocol revision 2026-07-28 (removed: use subscriptions/listen with resourceSubscriptions).',
      },
    });
  });
});
