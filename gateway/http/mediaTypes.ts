import contentType from 'content-type';
import Negotiator from 'negotiator';

/** Header values seen before, and what they meant: clients send the same ones on every request. */
const MEMO_LIMIT = 256;
const jsonMemo = new Map<string, boolean>();
const acceptMemo = new Map<string, ReadonlySet<string>>();

function remember<T>(memo: Map<string, T>, key: string, value: T): T {
  if (memo.size >= MEMO_LIMIT) memo.delete(memo.keys().next().value as string);
  memo.set(key, value);
  return value;
}

/** Whether a Content-Type header names JSON (`application/json`, any parameters), parsed per RFC 9110 — not a substring search. */
export function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const known = jsonMemo.get(header);
  if (known !== undefined) return known;
  let json: boolean;
  try {
    json = contentType.parse(header).type === 'application/json';
  } catch {
    json = false;
  }
  return remember(jsonMemo, header, json);
}

/** Whether an Accept header accepts every one of `types` (with wildcards and q-values, per RFC 9110). A missing header accepts nothing. */
export function acceptsAll(header: string | undefined, types: readonly string[]): boolean {
  if (header === undefined || header.trim() === '') return false;
  let accepted = acceptMemo.get(header);
  if (!accepted) accepted = remember(acceptMemo, header, new Set(new Negotiator({ headers: { accept: header } }).mediaTypes([...KNOWN_TYPES])));
  return types.every((type) => accepted.has(type));
}

/** The media types the gateway answers with. */
const KNOWN_TYPES = ['application/json', 'text/event-stream'] as const;
