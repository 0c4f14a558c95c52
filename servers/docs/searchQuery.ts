/**
 * From what a user types to an FTS5 query (https://sqlite.org/fts5.html#full_text_query_syntax).
 *
 * Each word becomes a quoted FTS5 string, so nothing a user types is read as query syntax
 * (AND, NEAR, column filters, `*`, `^`). A word written with inner punctuation ("rate-limit",
 * "DOCS_MAX_FILES", "foo.bar") is a phrase of its parts, as the tokenizer indexed it; text in
 * double quotes is one phrase. The last word also matches as a prefix (the user may still be
 * typing it). Words are combined with OR and ranked by BM25, so a section holding more of the
 * query's words, in weightier columns, comes first; words too common to tell sections apart
 * are dropped unless nothing else is left.
 */

const STOP_WORDS = new Set(
  'a an and are as at be by can do does for from how i if in into is it its of on or so that the this to was what when where which who why will with you your'.split(
    ' ',
  ),
);

/** Shortest last word that also matches as a prefix. */
const MIN_PREFIX_CHARS = 3;

export interface QueryTerm {
  /** The word's parts, lower-cased (several for a phrase). */
  parts: string[];
  /** Also match words starting with the last part. */
  prefix: boolean;
}

export interface ParsedQuery {
  terms: QueryTerm[];
}

function partsOf(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}\p{M}]+/u)
    .filter((part) => part !== '');
}

/** Split a query into words and quoted phrases; undefined when it holds no word at all. */
export function parseQuery(text: string): ParsedQuery | undefined {
  const raw: Array<{ parts: string[]; quoted: boolean }> = [];
  const pattern = /"([^"]*)"|(\S+)/g;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    const parts = partsOf(match[1] ?? match[2] ?? '');
    if (parts.length > 0) raw.push({ parts, quoted: match[1] !== undefined });
  }
  if (raw.length === 0) return undefined;
  const meaningful = raw.filter((t) => t.quoted || t.parts.length > 1 || !STOP_WORDS.has(t.parts[0] ?? ''));
  const kept = meaningful.length > 0 ? meaningful : raw;
  // De-duplicate: "limit limits" asks for one thing.
  const seen = new Set<string>();
  const terms: QueryTerm[] = [];
  kept.forEach((t, i) => {
    const key = t.parts.join(' ');
    if (seen.has(key)) return;
    seen.add(key);
    const last = t.parts[t.parts.length - 1] ?? '';
    const isLastWord = i === kept.length - 1 && !t.quoted && !/\s$/.test(text);
    terms.push({ parts: t.parts, prefix: isLastWord && last.length >= MIN_PREFIX_CHARS });
  });
  return { terms };
}

/**
 * One term as an FTS5 expression: a quoted string, or for a word with inner punctuation the
 * phrase of its parts OR the parts joined (how the code column also indexes an identifier such
 * as `DOCS_MAX_FILES`, see identifierForms); `*` when it also matches as a prefix.
 */
export function termExpression(term: QueryTerm): string {
  const star = term.prefix ? '*' : '';
  const phrase = `"${term.parts.join(' ')}"${star}`;
  return term.parts.length > 1 ? `(${phrase} OR "${term.parts.join('')}"${star})` : phrase;
}

/** The whole-word forms of an identifier ("DOCS_MAX_FILES" → "docsmaxfiles", "ttlMs" → "ttl ms"), for the code column. */
export function identifierForms(identifier: string): string[] {
  const forms: string[] = [];
  const camel = identifier.replace(/(\p{Ll})(\p{Lu})/gu, '$1 $2');
  if (camel !== identifier) forms.push(camel);
  const parts = identifier.split(/[^\p{L}\p{N}\p{M}]+/u).filter((part) => part !== '');
  if (parts.length > 1) forms.push(parts.join(''));
  return forms;
}

/** The whole query as one FTS5 expression (its terms ORed). */
export function matchExpression(terms: readonly QueryTerm[]): string {
  return terms.map(termExpression).join(' OR ');
}

/** Damerau-Levenshtein distance (optimal string alignment), stopping early above `max`. */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) rows.push([i]);
  for (let j = 1; j <= b.length; j++) (rows[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i] as number[];
    let best = Infinity;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min((rows[i - 1] as number[])[j]! + 1, row[j - 1]! + 1, (rows[i - 1] as number[])[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, (rows[i - 2] as number[])[j - 2]! + 1);
      row[j] = value;
      best = Math.min(best, value);
    }
    if (best > max) return max + 1;
  }
  return (rows[a.length] as number[])[b.length]!;
}

/** Edits a misspelt word may be away from an indexed one: none below 4 letters, 1 up to 6, else 2. */
export function typoBudget(word: string): number {
  if (word.length < 4) return 0;
  return word.length <= 6 ? 1 : 2;
}
