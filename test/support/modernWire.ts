/**
 * Raw MCP 2026-07-28 requests over Streamable HTTP, as a hand-written client would send them:
 * for tests that check the wire itself (envelope and header validation, input_required,
 * requestState, cache fields) rather than what an SDK client makes of it.
 */
export const MODERN_REVISION = '2026-07-28';

export type FetchLike = (request: Request) => Promise<Response>;

export interface ModernRequestOptions {
  id?: number | string;
  /** Replaces the `_meta` envelope (default: protocol version, empty client capabilities, client info). */
  meta?: Record<string, unknown>;
  /** Client capabilities declared in the envelope (ignored when `meta` is given). */
  clientCapabilities?: Record<string, unknown>;
  /** Headers added to, or replacing, the standard ones; `null` leaves a header out. */
  headers?: Record<string, string | null>;
}

export interface WireAnswer {
  status: number;
  /** The JSON-RPC response (the last message of an SSE answer). */
  message: { jsonrpc: '2.0'; id: number | string | null; result?: Record<string, unknown>; error?: { code: number; message: string; data?: unknown } };
}

const NAME_PARAM: Record<string, string> = { 'tools/call': 'name', 'prompts/get': 'name', 'resources/read': 'uri' };

/** The `_meta` envelope every 2026-07-28 request carries. */
export function envelope(clientCapabilities: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    'io.modelcontextprotocol/protocolVersion': MODERN_REVISION,
    'io.modelcontextprotocol/clientCapabilities': clientCapabilities,
    'io.modelcontextprotocol/clientInfo': { name: 'manifold-wire-test', version: '1.0.0' },
  };
}

/** POST one request; `target` is a URL or an in-process fetch handler. */
export async function postModern(
  target: string | FetchLike,
  method: string,
  params: Record<string, unknown> = {},
  options: ModernRequestOptions = {},
): Promise<WireAnswer> {
  const url = typeof target === 'string' ? target : 'http://in-process.test/mcp';
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    'MCP-Protocol-Version': MODERN_REVISION,
    'Mcp-Method': method,
  };
  const nameParam = NAME_PARAM[method];
  if (nameParam && typeof params[nameParam] === 'string') headers['Mcp-Name'] = params[nameParam] as string;
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (value === null) delete headers[name];
    else headers[name] = value;
  }
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: options.id ?? 1,
    method,
    params: { ...params, _meta: { ...(params._meta as Record<string, unknown> | undefined), ...(options.meta ?? envelope(options.clientCapabilities)) } },
  });
  const request = new Request(url, { method: 'POST', headers, body });
  const response = typeof target === 'string' ? await fetch(request) : await target(request);
  const text = await response.text();
  return { status: response.status, message: parseAnswer(text, response.headers.get('content-type') ?? '') };
}

function parseAnswer(text: string, contentType: string): WireAnswer['message'] {
  if (!contentType.includes('text/event-stream')) return JSON.parse(text) as WireAnswer['message'];
  const messages = text
    .split('\n')
    .filter((line) => line.startsWith('data:'))
    .map((line) => JSON.parse(line.slice(5).trim()) as WireAnswer['message'] & { method?: string });
  const response = messages.filter((m) => m.method === undefined).pop();
  if (!response) throw new Error(`no JSON-RPC response in the event stream:\n${text}`);
  return response;
}
