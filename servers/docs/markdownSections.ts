/**
 * Split a Markdown document into sections by heading, the way a reader (and GitHub)
 * sees them: ATX (`## Title`) and setext (`Title` over `===`/`---`) headings start a
 * section; anything inside fenced code blocks, HTML comments or YAML front matter does
 * not. Anchors are GitHub's slugs, de-duplicated with -1, -2 as github-slugger does.
 *
 * Pure and synchronous: no file system, no MCP. CommonMark references are to
 * https://spec.commonmark.org/0.31.2/.
 */

export interface MarkdownSection {
  /** GitHub-style anchor, unique within the document; "" for the text before the first heading. */
  anchor: string;
  /** Heading text with inline markup removed; the document title for the preamble. */
  title: string;
  /** 1-6 for headings, 0 for the preamble. */
  level: number;
  /** Titles of the enclosing headings, outermost first, not including this one. */
  trail: string[];
  /** 1-based, inclusive line range of the heading and its own body (subsections excluded). */
  startLine: number;
  endLine: number;
  /** How many of the section's first lines are the heading itself (setext: content + underline). */
  headingLines: number;
  /** The section's own text (heading line(s) included); the caller decides whether to keep it. */
  text: string;
}

export interface ParsedMarkdown {
  /** Front matter `title:`, else the first level-1 heading, else undefined. */
  title: string | undefined;
  sections: MarkdownSection[];
  lineCount: number;
}

// CommonMark 4.5: a fence is 3+ backticks or tildes indented at most 3 spaces;
// a backtick fence's info string may not contain a backtick.
const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})(.*)$/;
// CommonMark 4.2: 1-6 '#' followed by a space, tab or end of line.
const ATX_HEADING = /^ {0,3}(#{1,6})(?=[ \t]|$)(.*)$/;
// CommonMark 4.3: setext underline, at most 3 spaces of indentation.
const SETEXT_UNDERLINE = /^ {0,3}(=+|-+)[ \t]*$/;
// Lines that start another block, so they cannot be (part of) a setext heading's content.
const NON_PARAGRAPH_START = /^ {0,3}(?:[-*+][ \t]|\d{1,9}[.)][ \t]|>|#{1,6}(?:[ \t]|$)|(?:[-*_][ \t]*){3,}$|<)|^(?: {4}|\t)/;

/** Strip inline Markdown so the heading reads as text (and slugs as GitHub's rendered text would). */
export function headingText(raw: string): string {
  return raw
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1') // images: alt text
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // inline links: link text
    .replace(/\[([^\]]*)\]\[[^\]]*\]/g, '$1') // reference links
    .replace(/<[^>]+>/g, '') // inline HTML tags
    .replace(/(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/g, (_m, _ticks: string, code: string) => code.trim()) // code spans
    .replace(/(\*\*|__)(?=\S)([\s\S]*?\S)\1/g, '$2') // strong
    .replace(/(\*|_)(?=\S)([\s\S]*?\S)\1/g, '$2') // emphasis
    .replace(/~~(?=\S)([\s\S]*?\S)~~/g, '$1') // strikethrough
    .replace(/\\([!-/:-@[-`{-~])/g, '$1') // backslash escapes
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * GitHub's slug for a heading: lower-case, drop everything that is not a letter,
 * mark, number, connector punctuation, space or hyphen, then each space becomes a
 * hyphen (github-slugger; spaces are not collapsed).
 */
export function githubSlug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** De-duplicates slugs within one document exactly as github-slugger's `slug()` does. */
export class SlugRegistry {
  private readonly occurrences = new Map<string, number>();

  next(text: string): string {
    // A heading with no sluggable characters (e.g. only emoji) still needs a usable anchor.
    const original = githubSlug(text) || 'section';
    let slug = original;
    while (this.occurrences.has(slug)) {
      const count = (this.occurrences.get(original) ?? 0) + 1;
      this.occurrences.set(original, count);
      slug = `${original}-${count}`;
    }
    this.occurrences.set(slug, 0);
    return slug;
  }
}

interface HeadingMark {
  /** 0-based index of the first line of the heading (setext: first content line). */
  start: number;
  /** Lines the heading occupies. */
  lines: number;
  level: number;
  title: string;
}

/** Split text into lines, accepting \n, \r\n and \r endings. */
export function splitLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
}

/** Find headings, skipping fenced code, HTML comments and front matter. */
function scanHeadings(lines: readonly string[]): { headings: HeadingMark[]; frontMatterTitle: string | undefined; bodyStart: number } {
  const headings: HeadingMark[] = [];
  let frontMatterTitle: string | undefined;
  let i = 0;

  // YAML front matter: a first line of exactly '---', closed by '---' or '...'.
  if (lines[0]?.trimEnd() === '---') {
    const close = lines.findIndex((line, index) => index > 0 && /^(?:---|\.\.\.)\s*$/.test(line));
    if (close > 0) {
      for (const line of lines.slice(1, close)) {
        const match = /^title:\s*(.+?)\s*$/.exec(line);
        if (match?.[1]) frontMatterTitle = match[1].replace(/^(['"])(.*)\1$/, '$2');
      }
      i = close + 1;
    }
  }
  const bodyStart = i;

  let fence: { char: string; length: number } | undefined;
  let inComment = false;
  // The block the previous line belongs to. Only a plain paragraph can become a setext
  // heading; lines continuing a list item or block quote lazily cannot (CommonMark 4.3).
  let block: 'none' | 'paragraph' | 'other' = 'none';
  let paragraphStart = -1;

  for (; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (fence) {
      const close = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(line);
      if (close?.[1] && close[1][0] === fence.char && close[1].length >= fence.length) fence = undefined;
      continue;
    }
    if (inComment) {
      if (line.includes('-->')) inComment = false;
      continue;
    }
    const open = FENCE_OPEN.exec(line);
    if (open?.[1] && !(open[1][0] === '`' && (open[2] ?? '').includes('`'))) {
      fence = { char: open[1][0] ?? '`', length: open[1].length };
      block = 'none';
      continue;
    }
    if (/^ {0,3}<!--/.test(line)) {
      if (!line.includes('-->', line.indexOf('<!--') + 4)) inComment = true;
      block = 'none';
      continue;
    }
    const atx = ATX_HEADING.exec(line);
    if (atx?.[1]) {
      // CommonMark 4.2: an optional closing sequence of '#' preceded by a space is not content.
      const content = (atx[2] ?? '').trim().replace(/(?:^|[ \t]+)#+$/, '');
      headings.push({ start: i, lines: 1, level: atx[1].length, title: headingText(content) });
      block = 'none';
      continue;
    }
    if (line.trim() === '') {
      block = 'none';
      continue;
    }
    const underline = SETEXT_UNDERLINE.exec(line);
    if (underline?.[1] && block === 'paragraph') {
      const content = lines.slice(paragraphStart, i).join(' ');
      headings.push({
        start: paragraphStart,
        lines: i - paragraphStart + 1,
        level: underline[1][0] === '=' ? 1 : 2,
        title: headingText(content),
      });
      block = 'none';
      continue;
    }
    if (block === 'paragraph' && /^(?: {4}|\t)/.test(line)) continue; // indented lines continue a paragraph
    if (NON_PARAGRAPH_START.test(line)) {
      block = 'other';
    } else if (block === 'none') {
      block = 'paragraph';
      paragraphStart = i;
    }
  }
  return { headings, frontMatterTitle, bodyStart };
}

/** Parse a document into its sections (see MarkdownSection for what each holds). */
export function parseMarkdown(text: string): ParsedMarkdown {
  const lines = splitLines(text);
  // A trailing newline does not start another line.
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  const { headings, frontMatterTitle, bodyStart } = scanHeadings(lines);
  const slugs = new SlugRegistry();
  const sections: MarkdownSection[] = [];
  const title = frontMatterTitle ?? headings.find((h) => h.level === 1)?.title;

  const firstHeadingStart = headings[0]?.start ?? lines.length;
  // Text before the first heading (front matter excluded) is a section of its own.
  const preamble = lines.slice(bodyStart, firstHeadingStart).join('\n');
  if (preamble.trim() !== '') {
    sections.push({
      anchor: '',
      title: title ?? '',
      level: 0,
      trail: [],
      startLine: bodyStart + 1,
      endLine: firstHeadingStart,
      headingLines: 0,
      text: preamble,
    });
  }

  const stack: HeadingMark[] = [];
  headings.forEach((heading, index) => {
    while (stack.length > 0 && (stack[stack.length - 1]?.level ?? 0) >= heading.level) stack.pop();
    const end = headings[index + 1]?.start ?? lines.length;
    sections.push({
      anchor: slugs.next(heading.title),
      title: heading.title,
      level: heading.level,
      trail: stack.map((h) => h.title),
      startLine: heading.start + 1,
      endLine: end,
      headingLines: heading.lines,
      text: lines.slice(heading.start, end).join('\n'),
    });
    stack.push(heading);
  });

  return { title, sections, lineCount: lines.length };
}
