import type { IncomingHttpHeaders } from 'node:http';

/**
 * `Mcp-Param-*` headers (MCP 2026-07-28 Streamable HTTP, SEP-2243 "Schema Extension"): a tool
 * may mark primitive parameters of its inputSchema with `x-mcp-header: <Name>`, and a client
 * then mirrors each such argument in an `Mcp-Param-<Name>` header (Base64 as `=?base64?…?=`
 * when it is not plain ASCII). The server MUST reject a request whose header is missing, does
 * not decode, or disagrees with the body, with HTTP 400 and -32020 (HeaderMismatch) — the
 * gateway is that server for its clients, whatever transport its upstream speaks. Checked as
 * the SDK's server checks it (compared numerically for integer and number parameters).
 */
interface Declaration {
  /** The property path from the root of `arguments` (through `properties` only). */
  path: readonly string[];
  /** The header name after `Mcp-Param-`, as declared. */
  header: string;
  type: string | undefined;
}

/** A disagreement between an `Mcp-Param-*` header and the body. */
export interface ParamHeaderMismatch {
  message: string;
  header: string;
}

/** Declarations per inputSchema object (tool definitions are replaced, never mutated, when an upstream re-lists). */
const declared = new WeakMap<object, readonly Declaration[]>();

/**
 * The `x-mcp-header` declarations of an inputSchema. Only properties reachable through a chain
 * of `properties` keys count (the spec's static-reachability rule); anything else is not a
 * declaration a conforming client would honour.
 */
function declarationsOf(inputSchema: object): readonly Declaration[] {
  let found = declared.get(inputSchema);
  if (found) return found;
  const out: Declaration[] = [];
  const visit = (node: unknown, path: string[]): void => {
    if (typeof node !== 'object' || node === null) return;
    const schema = node as Record<string, unknown>;
    const name = schema['x-mcp-header'];
    if (path.length > 0 && typeof name === 'string' && name.length > 0)
      out.push({ path, header: name, type: typeof schema.type === 'string' ? schema.type : undefined });
    const properties = schema.properties;
    if (typeof properties === 'object' && properties !== null) {
      for (const [key, child] of Object.entries(properties)) visit(child, [...path, key]);
    }
  };
  visit(inputSchema, []);
  found = out;
  declared.set(inputSchema, found);
  return found;
}

const BASE64_CANONICAL = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const CANONICAL_DECIMAL = /^-?\d+(\.\d+)?$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The header's value: decoded when it carries the Base64 sentinel; undefined when that payload is not canonical Base64 of UTF-8. */
function decode(value: string): string | undefined {
  if (!(value.startsWith('=?base64?') && value.endsWith('?='))) return value;
  const payload = value.slice('=?base64?'.length, -'?='.length);
  if (!BASE64_CANONICAL.test(payload)) return undefined;
  try {
    return utf8.decode(Buffer.from(payload, 'base64'));
  } catch {
    return undefined;
  }
}

/** A primitive argument as its header form (strings as they are, numbers in decimal, booleans lowercase). */
function asHeaderValue(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number' && Number.isFinite(value) && (!Number.isInteger(value) || Number.isSafeInteger(value))) return String(value);
  return undefined;
}

/**
 * What is wrong with the `Mcp-Param-*` headers of a tools/call to a tool with this inputSchema,
 * or undefined. An argument that is absent or null needs no header (a header sent anyway is ignored).
 */
export function paramHeaderMismatch(headers: IncomingHttpHeaders, inputSchema: unknown, args: unknown): ParamHeaderMismatch | undefined {
  if (typeof inputSchema !== 'object' || inputSchema === null) return undefined;
  for (const declaration of declarationsOf(inputSchema)) {
    let body: unknown = args;
    for (const key of declaration.path) body = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[key] : undefined;
    const expected = asHeaderValue(body);
    if (expected === undefined) continue;
    const header = `Mcp-Param-${declaration.header}`;
    const where = declaration.path.join('.');
    const raw = headers[header.toLowerCase()];
    const sent = (Array.isArray(raw) ? raw[0] : raw)?.trim();
    if (sent === undefined) return { header, message: `the body carries ${where}=${JSON.stringify(body)} but the ${header} header is absent` };
    const decoded = decode(sent);
    if (decoded === undefined)
      return { header, message: `the ${header} header carries an invalid Base64 value (=?base64?…?= must wrap canonical Base64 of UTF-8)` };
    const numeric = (declaration.type === 'integer' || declaration.type === 'number') && typeof body === 'number' && CANONICAL_DECIMAL.test(decoded);
    if (numeric ? Number(decoded) !== body : decoded !== expected) {
      return { header, message: `the ${header} header decodes to ${JSON.stringify(decoded)} but the body carries ${where}=${JSON.stringify(body)}` };
    }
  }
  return undefined;
}

/**
 * The `Mcp-Param-*` headers a conforming client sends with a tools/call to a tool with this
 * inputSchema (SEP-2243): one per `x-mcp-header` declaration whose argument is a primitive,
 * Base64-wrapped when the value is not a safe plain-ASCII field value. The gateway sends them
 * on its own calls to a 2026-07-28 Streamable HTTP upstream, whatever revision its client
 * speaks, since the upstream refuses a declared argument without its header.
 */
export function paramHeadersFor(inputSchema: unknown, args: unknown): Record<string, string> | undefined {
  if (typeof inputSchema !== 'object' || inputSchema === null) return undefined;
  let out: Record<string, string> | undefined;
  for (const declaration of declarationsOf(inputSchema)) {
    let value: unknown = args;
    for (const key of declaration.path) value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
    const text = asHeaderValue(value);
    if (text === undefined) continue;
    (out ??= {})[`Mcp-Param-${declaration.header}`] = encode(text);
  }
  return out;
}

/** The `Mcp-Param-*` headers of a request that the tool does not declare, as they came: passed on, not interpreted. */
export function undeclaredParamHeaders(headers: IncomingHttpHeaders, inputSchema: unknown): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  let declaredNames: Set<string> | undefined;
  for (const [name, raw] of Object.entries(headers)) {
    if (!name.startsWith('mcp-param-') || raw === undefined) continue;
    declaredNames ??= new Set(
      typeof inputSchema === 'object' && inputSchema !== null ? declarationsOf(inputSchema).map((d) => `mcp-param-${d.header.toLowerCase()}`) : [],
    );
    if (declaredNames.has(name)) continue;
    (out ??= {})[name] = Array.isArray(raw) ? raw.join(', ') : raw;
  }
  return out;
}

/** A header value as the spec encodes it: as it is when it is a safe plain-ASCII field value, else `=?base64?…?=`. */
function encode(value: string): string {
  const plain = value.length > 0 && value === value.trim() && !(value.startsWith('=?base64?') && value.endsWith('?=')) && /^[\t\x20-\x7e]*$/.test(value);
  return plain ? value : `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}
