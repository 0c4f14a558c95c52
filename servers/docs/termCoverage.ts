import type { QueryTerm } from './searchQuery.js';

/**
 * How much of a query a section holds, for its score: the mean over the query's terms of 1 when
 * the section's heading holds the term, 0.8 when only its breadcrumbs, file name or quoted code
 * do, 0.6 when only its body text does, 0 when it lacks it.
 *
 * Computed here from the section's stored text rather than by asking FTS5 once per term and
 * section: on a large tree a common word's list is long, and those lookups cost more than the
 * ranking. Words are compared by a light suffix stripper (applied alike to both sides), close to
 * what the Porter stemmer matched: "limits" and "limit", "configuring" and "configure" meet.
 */

export interface SectionTexts {
  title: string;
  context: string;
  code: string;
  body: string;
}

/** A light English suffix stripper: "configuration", "configuring", "configured" → "configur". */
export function stemKey(word: string): string {
  if (word.length < 5 || /\d/.test(word)) return word;
  let stem = word;
  if (stem.endsWith('ations') || stem.endsWith('ation')) stem = stem.slice(0, stem.lastIndexOf('ation'));
  else if (stem.endsWith('ing')) stem = stem.slice(0, -3);
  else if (stem.endsWith('ies')) stem = `${stem.slice(0, -3)}y`;
  else if (stem.endsWith('ed')) stem = stem.slice(0, -2);
  else if (stem.endsWith('s') && !stem.endsWith('ss') && !stem.endsWith('us') && !stem.endsWith('is')) stem = stem.slice(0, -1);
  if (stem.length > 4 && (stem.endsWith('e') || stem.endsWith('y') || stem.endsWith('i'))) stem = stem.slice(0, -1);
  return stem.length >= 3 ? stem : word;
}

function keysOf(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}\p{M}]+/u)
    .filter((word) => word !== '')
    .map(stemKey);
}

/** Does this text hold the term: its words in a row (a phrase), the identifier whole, or a word it starts (prefix)? */
function holds(keys: readonly string[], joined: ReadonlySet<string>, term: QueryTerm): boolean {
  const wanted = term.parts.map(stemKey);
  const last = wanted.length - 1;
  const matchesAt = (at: number): boolean =>
    wanted.every((key, i) => {
      const word = keys[at + i];
      if (word === undefined) return false;
      return word === key || (term.prefix && i === last && word.startsWith(term.parts[last] ?? key));
    });
  for (let at = 0; at + last < keys.length; at++) if (matchesAt(at)) return true;
  return term.parts.length > 1 && joined.has(stemKey(term.parts.join('')));
}

export function coverageOf(terms: readonly QueryTerm[], texts: SectionTexts): number {
  if (terms.length === 0) return 0;
  const heading = keysOf(texts.title);
  const near = keysOf(`${texts.context}\n${texts.code}`);
  const body = keysOf(texts.body);
  const joinedNear = new Set(near);
  let sum = 0;
  for (const term of terms) {
    if (holds(heading, new Set(heading), term)) sum += 1;
    else if (holds(near, joinedNear, term)) sum += 0.8;
    else if (holds(body, new Set(), term)) sum += 0.6;
  }
  return sum / terms.length;
}
