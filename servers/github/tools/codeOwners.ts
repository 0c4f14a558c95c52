import { z } from 'zod';
import { DomainError } from '../../../shared/errors.js';
import { CODEOWNERS_LOCATIONS, normalizeRepositoryPath, ownersOf, parseCodeOwners } from '../codeOwners.js';
import { callGithub, isHttpFailure } from '../githubErrors.js';
import { formatRepository, repositoryInputShape, resolveRepository, type RepositoryRef } from '../repositoryRef.js';
import { guardTool, toolSuccess } from '../../../shared/toolResult.js';
import { READ_ONLY_ANNOTATIONS, type GithubToolContext } from '../toolContext.js';
import { decodeText, refInput, toRepositoryFile } from './contents.js';
import type { SurfaceRegistrar } from '../../../shared/serving/serverSurface.js';

const MAX_PATHS = 100;

interface FoundCodeOwners {
  location: string;
  text: string;
}

/** The first CODEOWNERS file in GitHub's search order, or undefined when there is none. */
async function findCodeOwnersFile(context: GithubToolContext, repository: RepositoryRef, ref: string | undefined): Promise<FoundCodeOwners | undefined> {
  const at = ref ? ` at ${ref}` : '';
  for (const location of CODEOWNERS_LOCATIONS) {
    // A missing file is expected and means "try the next location"; a missing ref or repository is an error.
    const data = await callGithub(context, { action: `read ${location}${at}`, repository }, async () => {
      try {
        const response = await context.github.rest.repos.getContent({
          owner: repository.owner,
          repo: repository.repo,
          path: location,
          ...(ref ? { ref } : {}),
        });
        return response.data;
      } catch (error) {
        if (isHttpFailure(error) && error.status === 404 && !/No commit found for the ref/i.test(error.message)) return undefined;
        throw error;
      }
    });
    if (data === undefined) continue;
    const file = toRepositoryFile(location, data);
    if (file.kind !== 'file') continue;
    const text = decodeText(file.bytes);
    if (text === undefined) throw new DomainError('unsupported', `${location} in ${formatRepository(repository)}${at} is not UTF-8 text.`);
    context.knownRepositories.remember(repository);
    return { location, text };
  }
  return undefined;
}

export function registerCodeOwnerTools(server: SurfaceRegistrar, context: GithubToolContext): void {
  server.registerTool(
    'get_code_owners',
    {
      title: 'Find the code owners of paths',
      description:
        "Resolve who owns one or more file paths according to the repository's CODEOWNERS file, the way GitHub does when it requests reviews: " +
        'the file is looked up in .github/CODEOWNERS, then CODEOWNERS, then docs/CODEOWNERS (first found wins) at the given ref, and for each path the ' +
        'last matching rule decides; a matching rule with no owners means the path has no owners. Inputs: paths (1-100 repository-relative file paths), ' +
        "ref (optional; default branch when omitted), optional owner/repo (default: the server's repository). Returns, per path, the owners (@user, " +
        '@org/team or email) and the deciding rule with its line number, plus lines GitHub would skip as invalid. Use it to pick reviewers or to ' +
        'find who to ask about a file.',
      inputSchema: {
        ...repositoryInputShape,
        paths: z
          .array(z.string().trim().min(1).max(4096))
          .min(1)
          .max(MAX_PATHS)
          .describe('Repository-relative file paths, e.g. ["src/app.ts", "docs/setup.md"].'),
        ref: refInput,
      },
      outputSchema: z.object({
        repository: z.string(),
        ref: z.string().nullable().describe('The ref asked for; null means the default branch.'),
        codeowners_file: z.string().nullable().describe('Which CODEOWNERS file was used; null when the repository has none.'),
        results: z.array(
          z.object({
            path: z.string(),
            owners: z.array(z.string()).describe('Empty when no rule matches or the deciding rule lists no owners.'),
            rule: z.object({ pattern: z.string(), line: z.number() }).nullable().describe('The last matching rule; null when no rule matches.'),
          }),
        ),
        skipped_lines: z
          .array(z.object({ line: z.number(), text: z.string(), reason: z.string() }))
          .describe('CODEOWNERS lines GitHub treats as errors and skips.'),
      }),
      annotations: READ_ONLY_ANNOTATIONS,
    },
    guardTool(context.logger, 'get_code_owners', async (args) => {
      const repository = resolveRepository(args, context.defaultRepository);
      const slug = formatRepository(repository);
      const ref = args.ref ?? null;
      const at = ref ? ` at ${ref}` : '';
      const found = await findCodeOwnersFile(context, repository, args.ref);
      if (!found) {
        await confirmRepositoryExists(context, repository);
        const results = args.paths.map((path) => ({ path: normalizeRepositoryPath(path), owners: [], rule: null }));
        return toolSuccess(`${slug}${at} has no CODEOWNERS file (looked in ${CODEOWNERS_LOCATIONS.join(', ')}), so no path has code owners.`, {
          repository: slug,
          ref,
          codeowners_file: null,
          results,
          skipped_lines: [],
        });
      }
      const file = parseCodeOwners(found.text);
      const results = args.paths.map((input) => {
        const path = normalizeRepositoryPath(input);
        const answer = ownersOf(file, path);
        return { path, owners: answer.owners, rule: answer.rule ? { pattern: answer.rule.pattern, line: answer.rule.line } : null };
      });
      const lines = results.map((r) => {
        if (!r.rule) return `- ${r.path}: no owners (no rule matches)`;
        const rule = `line ${r.rule.line}: ${r.rule.pattern}`;
        return r.owners.length > 0 ? `- ${r.path}: ${r.owners.join(' ')} (${rule})` : `- ${r.path}: no owners (${rule} lists none)`;
      });
      const skipped = file.skipped.map((s) => `- line ${s.line} skipped: ${s.reason}: ${s.text}`);
      const text = [
        `Code owners in ${slug}${at} from ${found.location}:`,
        ...lines,
        ...(skipped.length > 0 ? ['', 'Invalid lines GitHub skips:', ...skipped] : []),
      ].join('\n');
      return toolSuccess(text, { repository: slug, ref, codeowners_file: found.location, results, skipped_lines: file.skipped });
    }),
  );
}

/** All three locations answered 404: make sure that is "no file", not "no repository". */
async function confirmRepositoryExists(context: GithubToolContext, repository: RepositoryRef): Promise<void> {
  await callGithub(context, { action: 'read the repository', repository }, () =>
    context.github.rest.repos.get({ owner: repository.owner, repo: repository.repo }),
  );
  context.knownRepositories.remember(repository);
}
