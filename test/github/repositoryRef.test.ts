import { describe, expect, it } from 'vitest';
import { DomainError } from '../../shared/errors.js';
import { KnownRepositories, parseIssueReference, resolveIssueTarget, resolveRepository } from '../../servers/github/repositoryRef.js';

const widgets = { owner: 'acme', repo: 'widgets' };

/** The sentence a client would see for a DomainError thrown by `run`. */
function clientMessageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe('invalid_input');
    return (error as DomainError).clientMessage;
  }
  throw new Error('expected a DomainError');
}

describe('issue references', () => {
  const cases: Array<[number | string, { number: number; repository?: { owner: string; repo: string } }]> = [
    [42, { number: 42 }],
    ['42', { number: 42 }],
    ['#42', { number: 42 }],
    ['octo-org/hello.world#7', { number: 7, repository: { owner: 'octo-org', repo: 'hello.world' } }],
    ['https://github.com/acme/widgets/issues/3', { number: 3, repository: widgets }],
    ['https://github.com/acme/widgets/pull/7/files', { number: 7, repository: widgets }],
    ['https://github.com/acme/widgets/issues/3#issuecomment-9001', { number: 3, repository: widgets }],
    ['https://api.github.com/repos/acme/widgets/issues/3', { number: 3, repository: widgets }],
    ['https://github.example.com/api/v3/repos/acme/widgets/issues/5', { number: 5, repository: widgets }],
    ['https://github.example.com/acme/widgets/issues/5', { number: 5, repository: widgets }],
  ];
  for (const [input, expected] of cases) {
    it(`reads ${JSON.stringify(input)}`, () => {
      expect(parseIssueReference(input, 'issue_number')).toEqual(expected);
    });
  }

  for (const bad of ['abc', 'https://github.com/acme/widgets', 'https://github.com/acme/widgets/issues/x', '#-1', 'ftp://github.com/acme/widgets/issues/1']) {
    it(`refuses ${JSON.stringify(bad)} with an example of what works`, () => {
      const message = clientMessageOf(() => parseIssueReference(bad, 'issue_number'));
      expect(message).toMatch(/^Invalid "issue_number"/);
      expect(message).toMatch(/https:\/\/github.com\/owner\/repo\/issues\/42/);
    });
  }

  it('refuses issue number 0', () => {
    expect(clientMessageOf(() => parseIssueReference(0, 'issue_number'))).toMatch(/positive whole numbers/);
  });

  it('refuses a URL that contradicts explicit owner/repo', () => {
    expect(() => resolveIssueTarget({ owner: 'acme', repo: 'gadgets' }, 'https://github.com/acme/widgets/issues/3', 'issue_number', undefined)).toThrow(
      /points at acme\/widgets but owner\/repo say acme\/gadgets/,
    );
  });
});

describe('repository resolution', () => {
  it('uses explicit owner/repo, "owner/name" in repo, or the default', () => {
    expect(resolveRepository({ owner: 'a', repo: 'b' }, widgets)).toEqual({ owner: 'a', repo: 'b' });
    expect(resolveRepository({ repo: 'octocat/hello-world' }, undefined)).toEqual({ owner: 'octocat', repo: 'hello-world' });
    expect(resolveRepository({}, widgets)).toEqual(widgets);
    expect(resolveRepository({ repo: 'gadgets' }, widgets)).toEqual({ owner: 'acme', repo: 'gadgets' });
  });

  it('says how to fix a missing repository', () => {
    expect(clientMessageOf(() => resolveRepository({}, undefined))).toMatch(/Pass "owner" and "repo".*GITHUB_REPOSITORY=owner\/name/);
    expect(clientMessageOf(() => resolveRepository({ owner: 'acme' }, widgets))).toMatch(/without a repository name. Pass "repo" as well/);
  });
});

describe('known repositories', () => {
  it('lists the most recent first and stays bounded', () => {
    const known = new KnownRepositories(2);
    known.remember({ owner: 'a', repo: 'one' });
    known.remember({ owner: 'a', repo: 'two' });
    known.remember({ owner: 'a', repo: 'one' });
    known.remember({ owner: 'b', repo: 'three' });
    expect(known.list()).toEqual([
      { owner: 'b', repo: 'three' },
      { owner: 'a', repo: 'one' },
    ]);
  });
});
