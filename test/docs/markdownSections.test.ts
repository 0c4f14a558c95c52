import { describe, expect, it } from 'vitest';
import { githubSlug, headingText, parseMarkdown, SlugRegistry } from '../../servers/docs/markdownSections.js';

const anchors = (text: string): string[] => parseMarkdown(text).sections.map((s) => s.anchor);

describe('GitHub-style anchors', () => {
  it.each([
    ['Install with npm', 'install-with-npm'],
    ["What's new? (2024 edition)", 'whats-new-2024-edition'],
    ['The retry option', 'the-retry-option'],
    ['API: v2.1 / errors', 'api-v21--errors'],
    ['snake_case and kebab-case', 'snake_case-and-kebab-case'],
    ['Ünïcode Überschrift', 'ünïcode-überschrift'],
    ['  Spaces  inside  ', '--spaces--inside--'],
  ])('slugs %j as %j', (heading, slug) => {
    expect(githubSlug(heading)).toBe(slug);
  });

  it('de-duplicates repeated headings with -1, -2 as github-slugger does', () => {
    const slugs = new SlugRegistry();
    expect(['Example', 'Example', 'Example', 'Example 1', 'Example-1'].map((h) => slugs.next(h))).toEqual([
      'example',
      'example-1',
      'example-2',
      'example-1-1',
      'example-1-2',
    ]);
  });

  it('slugs the rendered text: code spans, links, emphasis and images lose their markup', () => {
    expect(headingText('The `retry` option')).toBe('The retry option');
    expect(headingText('See [the guide](guide.md) for **more** _details_')).toBe('See the guide for more details');
    expect(githubSlug(headingText('Use ![logo](x.png) `--port`'))).toBe('use-logo---port');
  });
});

describe('sections', () => {
  it('splits by ATX headings with level, trail and line range', () => {
    const doc = parseMarkdown('# Title\nintro\n## A\na text\n### A.1\ndeep\n## B\nb text\n');
    expect(doc.title).toBe('Title');
    expect(doc.sections.map((s) => [s.anchor, s.level, s.trail, s.startLine, s.endLine])).toEqual([
      ['title', 1, [], 1, 2],
      ['a', 2, ['Title'], 3, 4],
      ['a1', 3, ['Title', 'A'], 5, 6],
      ['b', 2, ['Title'], 7, 8],
    ]);
    expect(doc.sections[1]?.text).toBe('## A\na text');
  });

  it('ignores headings inside backtick and tilde fences, including longer and unclosed fences', () => {
    const text = [
      '# Real',
      '```sh',
      '# a shell comment',
      '```',
      '~~~',
      '## not a heading',
      '~~~',
      '````md',
      '```',
      '## still code: a shorter fence does not close',
      '````',
      '## After',
      '```',
      '# unclosed fence runs to the end',
    ].join('\n');
    expect(anchors(text)).toEqual(['real', 'after']);
  });

  it('recognises setext headings (=== and ---), multi-line ones, and not thematic breaks or list items', () => {
    const text = ['Top', '===', '', 'Second part', 'continues here', '---', 'text', '', '---', '', '- list item', '---', '', 'Under', '------'].join('\n');
    const doc = parseMarkdown(text);
    expect(doc.sections.map((s) => [s.title, s.level, s.startLine])).toEqual([
      ['Top', 1, 1],
      ['Second part continues here', 2, 4],
      ['Under', 2, 14],
    ]);
  });

  it('strips closing hashes, requires a space after #, and ignores 4-space indented headings', () => {
    const doc = parseMarkdown('# Closed ##\n#NotAHeading\n    # indented code\n## Hash#tag\n');
    expect(doc.sections.map((s) => s.title)).toEqual(['Closed', 'Hash#tag']);
  });

  it('takes the title from front matter and keeps text before the first heading as a preamble', () => {
    const doc = parseMarkdown('---\ntitle: "Deploying"\nkey: value\n---\n\nIntro text.\n\n# Containers\nBody\n');
    expect(doc.title).toBe('Deploying');
    expect(doc.sections.map((s) => [s.anchor, s.level, s.startLine, s.endLine])).toEqual([
      ['', 0, 5, 7],
      ['containers', 1, 8, 9],
    ]);
    // A front matter closing '---' is not a setext underline.
    expect(doc.sections.some((s) => s.title.includes('key'))).toBe(false);
  });

  it('ignores headings inside HTML comments', () => {
    expect(anchors('# One\n<!--\n# Hidden\n-->\n## Two\n')).toEqual(['one', 'two']);
  });

  it('handles CRLF line endings', () => {
    const doc = parseMarkdown('# One\r\ntext\r\n## Two\r\nmore\r\n');
    expect(doc.sections.map((s) => [s.anchor, s.startLine, s.endLine])).toEqual([
      ['one', 1, 2],
      ['two', 3, 4],
    ]);
  });
});
