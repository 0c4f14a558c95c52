import { describe, expect, it } from 'vitest';
import { compilePattern, CODEOWNERS_LOCATIONS, normalizeRepositoryPath, ownersOf, parseCodeOwners } from '../../servers/github/codeOwners.js';

/**
 * Pattern semantics from GitHub's "About code owners" page: gitignore-style, anchored by a
 * leading or inner slash, `docs/*` not matching nested files, `**` across directories.
 */
const PATTERN_CASES: Array<{ pattern: string; matches: string[]; misses: string[] }> = [
  { pattern: '*', matches: ['README.md', 'src/a.ts', 'a/b/c/d.txt'], misses: [] },
  { pattern: '*.js', matches: ['a.js', 'lib/deep/b.js'], misses: ['a.ts', 'a.jsx', 'js/a.ts'] },
  { pattern: 'apps/', matches: ['apps/a.ts', 'src/apps/x/y.ts'], misses: ['apps', 'myapps/a.ts'] },
  { pattern: '/docs/', matches: ['docs/a.md', 'docs/x/y/z.md'], misses: ['src/docs/a.md', 'docs'] },
  { pattern: 'docs/*', matches: ['docs/getting-started.md'], misses: ['docs/build-app/troubleshooting.md', 'docs', 'x/docs/a.md'] },
  { pattern: '/build/logs/', matches: ['build/logs/a.log', 'build/logs/2024/b.log'], misses: ['x/build/logs/a.log', 'build/log.txt'] },
  { pattern: '**/logs', matches: ['logs/a.txt', 'build/logs/a.txt', 'deeply/nested/logs/x/y.txt', 'logs'], misses: ['logsfile.txt', 'build/logs.txt'] },
  { pattern: 'src/**/test', matches: ['src/test/a.ts', 'src/a/b/test/c.ts'], misses: ['test/a.ts', 'lib/src/test/a.ts'] },
  { pattern: 'src/**', matches: ['src/a.ts', 'src/a/b.ts'], misses: ['src', 'lib/src/a.ts'] },
  { pattern: '/package.json', matches: ['package.json'], misses: ['packages/a/package.json'] },
  { pattern: 'package.json', matches: ['package.json', 'packages/a/package.json'], misses: ['package.json5'] },
  { pattern: 'src/app', matches: ['src/app', 'src/app/x.ts'], misses: ['lib/src/app/x.ts', 'src/application.ts'] },
  { pattern: '/*', matches: ['README.md'], misses: ['src/a.ts'] },
  { pattern: 'f?o.md', matches: ['foo.md', 'x/fao.md'], misses: ['fo.md', 'fooo.md', 'f/o.md'] },
  { pattern: 'my\\ folder/', matches: ['my folder/a.txt'], misses: ['my/a.txt'] },
  { pattern: 'f\\*o', matches: ['f*o'], misses: ['foo'] },
  { pattern: 'Docs/', matches: ['Docs/a.md'], misses: ['docs/a.md'] },
];

describe('CODEOWNERS patterns', () => {
  for (const { pattern, matches, misses } of PATTERN_CASES) {
    it(`"${pattern}" matches ${matches.join(', ') || 'nothing listed'} and not ${misses.join(', ') || '-'}`, () => {
      const regex = compilePattern(pattern);
      for (const path of matches) expect(regex.test(path), `${pattern} should match ${path}`).toBe(true);
      for (const path of misses) expect(regex.test(path), `${pattern} should not match ${path}`).toBe(false);
    });
  }
});

describe('CODEOWNERS precedence and parsing', () => {
  const file = parseCodeOwners(
    [
      '# Comment line',
      '*       @acme/everyone',
      '*.js    @js-owner #This is an inline comment.',
      '/apps/  @octocat',
      '/apps/github @doctocat',
      '/apps/vendor',
      'docs/*  docs@example.com',
      '',
      '/scripts/ @doctocat @octocat',
    ].join('\n'),
  );

  it('uses the last matching pattern', () => {
    expect(ownersOf(file, 'apps/main.js').owners).toEqual(['@octocat']);
    expect(ownersOf(file, 'apps/github/index.ts').owners).toEqual(['@doctocat']);
    expect(ownersOf(file, 'lib/util.js').owners).toEqual(['@js-owner']);
    expect(ownersOf(file, 'README.md').owners).toEqual(['@acme/everyone']);
  });

  it('treats a matching rule without owners as "no owners", and names that rule', () => {
    const answer = ownersOf(file, 'apps/vendor/lib.js');
    expect(answer.owners).toEqual([]);
    expect(answer.rule?.pattern).toBe('/apps/vendor');
    expect(answer.rule?.line).toBe(6);
  });

  it('keeps several owners, emails and stops at an inline comment', () => {
    expect(ownersOf(file, 'scripts/deploy.sh').owners).toEqual(['@doctocat', '@octocat']);
    expect(ownersOf(file, 'docs/intro.md').owners).toEqual(['docs@example.com']);
    expect(ownersOf(file, 'docs/guides/intro.md').owners).toEqual(['@acme/everyone']);
  });

  it('reports no rule when nothing matches', () => {
    const only = parseCodeOwners('/src/ @alice\n');
    expect(ownersOf(only, 'README.md')).toEqual({ owners: [], rule: undefined });
  });

  it('skips the gitignore syntax GitHub does not support, with the reason and line', () => {
    const parsed = parseCodeOwners(['!/src/a.ts @x', '/src/[ab].ts @x', '\\#notes.md @x', '/ok/ @x', '/bad/ not-an-owner', '/tri/***/x @x'].join('\n'));
    expect(parsed.rules.map((r) => r.pattern)).toEqual(['/ok/']);
    expect(parsed.skipped.map((s) => s.line)).toEqual([1, 2, 3, 5, 6]);
    expect(parsed.skipped[0]?.reason).toMatch(/negation/);
    expect(parsed.skipped[1]?.reason).toMatch(/character ranges/);
    expect(parsed.skipped[2]?.reason).toMatch(/leading "#"/);
    expect(parsed.skipped[3]?.reason).toMatch(/not-an-owner/);
  });

  it('handles CRLF line endings', () => {
    const parsed = parseCodeOwners('* @a\r\n/docs/ @b\r\n');
    expect(ownersOf(parsed, 'docs/x.md').owners).toEqual(['@b']);
  });

  it('normalizes the paths it is asked about', () => {
    expect(normalizeRepositoryPath('./src//a.ts')).toBe('src/a.ts');
    expect(normalizeRepositoryPath('/src/a.ts/')).toBe('src/a.ts');
    expect(ownersOf(file, '/apps/github/x.ts').owners).toEqual(['@doctocat']);
  });

  it("searches GitHub's locations in GitHub's order", () => {
    expect(CODEOWNERS_LOCATIONS).toEqual(['.github/CODEOWNERS', 'CODEOWNERS', 'docs/CODEOWNERS']);
  });
});
