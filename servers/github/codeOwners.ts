/**
 * CODEOWNERS as GitHub reads it.
 *
 * GitHub documents the syntax as "most of the gitignore rules", with differences this
 * module implements rather than inheriting from a gitignore library:
 * - the last matching pattern wins, and a pattern with no owners leaves the file unowned;
 * - `!` negation, `[ ]` character ranges and escaping a leading `#` with `\` do not work
 *   (GitHub flags those lines as errors and skips them);
 * - `docs/*` matches files directly in `docs/`, not `docs/a/b.md` (in gitignore it would,
 *   since `docs/a` is a matched directory);
 * - paths are case-sensitive.
 * See https://docs.github.com/en/repositories/managing-your-repositorys-settings-and-features/customizing-your-repository/about-code-owners
 */

/** Where GitHub looks for the file, in order; the first one found is used. */
export const CODEOWNERS_LOCATIONS = ['.github/CODEOWNERS', 'CODEOWNERS', 'docs/CODEOWNERS'] as const;

export interface CodeOwnersRule {
  /** The pattern as written. */
  pattern: string;
  /** `@user`, `@org/team` or email addresses; empty means "explicitly no owners". */
  owners: string[];
  /** 1-based line number in the file. */
  line: number;
  matches(path: string): boolean;
}

export interface SkippedLine {
  line: number;
  text: string;
  reason: string;
}

export interface CodeOwnersFile {
  rules: CodeOwnersRule[];
  /** Lines GitHub would also skip, with the reason. */
  skipped: SkippedLine[];
}

export interface OwnershipAnswer {
  owners: string[];
  /** The deciding rule (the last one that matches), or undefined when no rule matches. */
  rule: CodeOwnersRule | undefined;
}

const USER_OR_TEAM = /^@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\/[A-Za-z0-9][A-Za-z0-9_.-]*)?$/;
const EMAIL = /^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/;

export function parseCodeOwners(text: string): CodeOwnersFile {
  const rules: CodeOwnersRule[] = [];
  const skipped: SkippedLine[] = [];
  const lines = text.split('\n');
  lines.forEach((rawLine, index) => {
    const lineNumber = index + 1;
    const line = rawLine.replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) return;
    const parsed = parseRuleLine(line);
    if ('reason' in parsed) {
      skipped.push({ line: lineNumber, text: line, reason: parsed.reason });
      return;
    }
    rules.push({ pattern: parsed.pattern, owners: parsed.owners, line: lineNumber, matches: parsed.matches });
  });
  return { rules, skipped };
}

/** The owners of one file path: the last matching rule decides. */
export function ownersOf(file: CodeOwnersFile, path: string): OwnershipAnswer {
  const normalized = normalizeRepositoryPath(path);
  for (let i = file.rules.length - 1; i >= 0; i--) {
    const rule = file.rules[i];
    if (rule?.matches(normalized)) return { owners: [...rule.owners], rule };
  }
  return { owners: [], rule: undefined };
}

/** `./src//a.ts`, `/src/a.ts` and `src/a.ts/` all name `src/a.ts`. */
export function normalizeRepositoryPath(path: string): string {
  return path
    .trim()
    .replace(/\\/g, '/')
    .split('/')
    .filter((segment) => segment !== '' && segment !== '.')
    .join('/');
}

type ParsedLine = { pattern: string; owners: string[]; matches: (path: string) => boolean } | { reason: string };

function parseRuleLine(line: string): ParsedLine {
  // The pattern runs to the first unescaped whitespace; "\ " keeps a space in a path.
  let end = 0;
  while (end < line.length && !/\s/.test(line[end] ?? '')) {
    end += line[end] === '\\' ? 2 : 1;
  }
  const pattern = line.slice(0, end);
  const ownerTokens: string[] = [];
  for (const token of line.slice(end).trim().split(/\s+/)) {
    if (token === '') continue;
    if (token.startsWith('#')) break; // an inline comment ends the owner list
    ownerTokens.push(token);
  }

  const patternProblem = unsupportedPatternReason(pattern);
  if (patternProblem) return { reason: patternProblem };
  const badOwner = ownerTokens.find((owner) => !USER_OR_TEAM.test(owner) && !EMAIL.test(owner));
  if (badOwner !== undefined) {
    return { reason: `"${badOwner}" is not an owner: owners are @username, @org/team-name or an email address` };
  }
  const regex = compilePattern(pattern);
  return { pattern, owners: ownerTokens, matches: (path) => regex.test(path) };
}

function unsupportedPatternReason(pattern: string): string | undefined {
  if (pattern.startsWith('\\#')) return 'escaping a leading "#" with "\\" does not work in CODEOWNERS';
  if (pattern.startsWith('!')) return 'negation with "!" does not work in CODEOWNERS';
  if (/(^|[^\\])[[\]]/.test(pattern)) return 'character ranges with "[ ]" do not work in CODEOWNERS';
  if (pattern.includes('***')) return 'three consecutive asterisks are not a valid pattern';
  if (pattern.endsWith('\\')) return 'a pattern cannot end with a backslash';
  return undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** One path segment (no slashes) to a regex fragment: `*` and `?` never cross a `/`. */
function segmentToRegExp(segment: string): string {
  if (segment === '*') return '[^/]+';
  let out = '';
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i] ?? '';
    if (ch === '\\') {
      out += escapeRegExp(segment[i + 1] ?? '');
      i++;
    } else if (ch === '*') {
      out += '[^/]*';
    } else if (ch === '?') {
      out += '[^/]';
    } else {
      out += escapeRegExp(ch);
    }
  }
  return out;
}

/**
 * Compile a CODEOWNERS pattern to a regex over repository-relative file paths.
 * - A leading `/`, or a `/` in the middle, anchors the pattern to the repository root;
 *   otherwise it matches at any depth (as if prefixed by `**\/`).
 * - A trailing `/` matches everything inside that directory.
 * - A pattern whose last segment is not a lone `*` also matches everything below what it names.
 */
export function compilePattern(pattern: string): RegExp {
  if (pattern === '/') return /^(?!)/;
  let body = pattern;
  const anchored = body.startsWith('/');
  if (anchored) body = body.slice(1);
  const directoryOnly = body.endsWith('/');
  if (directoryOnly) body = body.slice(0, -1);

  const segments = body.split('/');
  if (!anchored && segments.length === 1 && segments[0] !== '**') segments.unshift('**');
  if (directoryOnly) segments.push('**');

  let source = '^';
  const last = segments.length - 1;
  segments.forEach((segment, i) => {
    const previousWasLeadingGlobstar = i === 1 && segments[0] === '**';
    if (segment === '**') {
      if (i === 0 && i === last) source += '.+';
      else if (i === 0) source += '(?:.+/)?';
      else if (i === last) source += '/.+';
      else source += '(?:/.+)?';
      return;
    }
    if (i > 0 && !previousWasLeadingGlobstar) source += '/';
    source += segmentToRegExp(segment);
    if (i === last && segment !== '*') source += '(?:/.+)?';
  });
  return new RegExp(`${source}$`);
}
