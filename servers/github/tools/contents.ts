import { z } from 'zod';
import { DomainError } from '../../../shared/errors.js';
import { normalizeRepositoryPath } from '../codeOwners.js';
import { callGithub, type GithubTarget } from '../githubErrors.js';
import { formatRepository, repositoryInputShape, resolveRepository, type RepositoryRef } from '../repositoryRef.js';
import { guardTool, toolSuccess } from '../../../shared/toolResult.js';
import { READ_ONLY_ANNOTATIONS, type GithubToolContext } from '../toolContext.js';
import type { SurfaceRegistrar } from '../../../shared/serving/serverSurface.js';

/** The contents API includes file content only up to 1 MB. */
const CONTENTS_API_MAX_BYTES = 1024 * 1024;
const DEFAULT_MAX_BYTES = 200_000;
/** Git's own heuristic: a NUL byte in the first 8,000 bytes means binary. */
const BINARY_SNIFF_BYTES = 8000;

export const refInput = z
  .string()
  .trim()
  .min(1)
  .max(255)
  .regex(/^[^\s~^:?*[\\]+$/, 'must be a branch, tag or commit SHA')
  .optional()
  .describe("Branch, tag or commit SHA to read at. Omit for the repository's default branch.");

/** One entry of GitHub's contents answer (file, dir, symlink or submodule). */
export interface ApiContentEntry {
  type: string;
  name: string;
  path: string;
  size: number;
  sha: string;
  html_url: string | null;
  download_url: string | null;
  content?: string | undefined;
  encoding?: string | undefined;
  target?: string | undefined;
  submodule_git_url?: string | undefined;
}

export type RepositoryFile =
  | { kind: 'file'; entry: ApiContentEntry; bytes: Buffer }
  | { kind: 'directory'; entries: ApiContentEntry[] }
  | { kind: 'symlink'; entry: ApiContentEntry }
  | { kind: 'submodule'; entry: ApiContentEntry };

/** Read a path through the contents API, decoding a file's base64 content. */
export async function readRepositoryPath(
  context: GithubToolContext,
  repository: RepositoryRef,
  path: string,
  ref: string | undefined,
  target: GithubTarget,
): Promise<RepositoryFile> {
  const { data } = await callGithub(context, target, () =>
    context.github.rest.repos.getContent({ owner: repository.owner, repo: repository.repo, path, ...(ref ? { ref } : {}) }),
  );
  context.knownRepositories.remember(repository);
  return toRepositoryFile(path, data);
}

/** Interpret a contents API answer: a directory listing, a file (decoded), a symlink or a submodule. */
export function toRepositoryFile(path: string, data: ApiContentEntry | ApiContentEntry[]): RepositoryFile {
  if (Array.isArray(data)) return { kind: 'directory', entries: data };
  const entry = data;
  if (entry.type === 'symlink') return { kind: 'symlink', entry };
  if (entry.type === 'submodule') return { kind: 'submodule', entry };
  if (entry.type !== 'file') {
    throw new DomainError('unsupported', `${path} is a ${entry.type}, which this server cannot read.`);
  }
  if (entry.encoding !== 'base64' || entry.content === undefined || (entry.content === '' && entry.size > 0)) {
    throw new DomainError('unsupported', `${path} is ${entry.size.toLocaleString('en-US')} bytes, larger than the 1 MB the GitHub contents API returns.`, {
      action: entry.download_url ? `Download it from ${entry.download_url} instead.` : 'Read it with a git clone instead.',
    });
  }
  return { kind: 'file', entry, bytes: Buffer.from(entry.content, 'base64') };
}

/** Decode UTF-8 text, or undefined for binary content. */
export function decodeText(bytes: Buffer): string | undefined {
  if (bytes.subarray(0, BINARY_SNIFF_BYTES).includes(0)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

const directoryEntrySchema = z.object({
  name: z.string(),
  path: z.string(),
  type: z.string().describe('file, dir, symlink or submodule.'),
  size: z.number(),
});

export function registerContentTools(server: SurfaceRegistrar, context: GithubToolContext): void {
  server.registerTool(
    'get_file_contents',
    {
      title: 'Get a file or directory from a GitHub repository',
      description:
        'Read a text file at a branch, tag or commit, or list a directory. Inputs: path (repository-relative, e.g. "src/index.ts"; empty or "/" for the ' +
        "root), ref (optional; default branch when omitted), optional owner/repo (default: the server's repository), max_bytes (largest file returned, " +
        '1,000-1,000,000, default 200,000). For a file it returns the decoded UTF-8 text with its size and blob SHA; for a directory, its entries ' +
        '(name, path, type, size). Binary files and files over max_bytes are refused with their size and a download URL, not returned. ' +
        'Use get_code_owners for who owns a path.',
      inputSchema: {
        ...repositoryInputShape,
        path: z.string().max(4096).default('').describe('Path inside the repository; "" or "/" for the root directory.'),
        ref: refInput,
        max_bytes: z
          .number()
          .int()
          .min(1000)
          .max(CONTENTS_API_MAX_BYTES)
          .default(DEFAULT_MAX_BYTES)
          .describe('Refuse files larger than this many bytes (1,000-1,048,576; default 200,000).'),
      },
      outputSchema: z.object({
        repository: z.string(),
        path: z.string(),
        ref: z.string().nullable().describe('The ref asked for; null means the default branch.'),
        kind: z.enum(['file', 'directory', 'symlink', 'submodule']),
        size: z.number().optional(),
        sha: z.string().optional(),
        content: z.string().optional().describe('The file text (kind "file").'),
        entries: z.array(directoryEntrySchema).optional().describe('The directory listing (kind "directory").'),
        target: z.string().optional().describe("Where a symlink points, or a submodule's git URL."),
        html_url: z.string().nullable().optional(),
      }),
      annotations: READ_ONLY_ANNOTATIONS,
    },
    guardTool(context.logger, 'get_file_contents', async (args) => {
      const repository = resolveRepository(args, context.defaultRepository);
      const slug = formatRepository(repository);
      const path = normalizeRepositoryPath(args.path);
      const ref = args.ref ?? null;
      const at = ref ? ` at ${ref}` : '';
      const result = await readRepositoryPath(context, repository, path, args.ref, {
        action: `read ${path === '' ? 'the root directory' : path}${at}`,
        repository,
        subject: {
          label: path === '' ? `The root directory${at}` : `Path ${path}${at}`,
          listHint: `List what exists with get_file_contents on the parent directory (path "${path.split('/').slice(0, -1).join('/')}").`,
        },
      });
      const base = { repository: slug, path, ref };
      if (result.kind === 'directory') {
        const entries = result.entries.map((e) => ({ name: e.name, path: e.path, type: e.type, size: e.size }));
        const text = [
          `${path === '' ? 'Root directory' : `Directory ${path}`} of ${slug}${at}: ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}`,
          ...entries.map(
            (e) => `- ${e.type === 'dir' ? `${e.name}/` : e.name}${e.type === 'file' ? ` (${e.size} bytes)` : e.type === 'dir' ? '' : ` (${e.type})`}`,
          ),
        ].join('\n');
        return toolSuccess(text, { ...base, kind: 'directory', entries });
      }
      if (result.kind === 'symlink' || result.kind === 'submodule') {
        const target = (result.kind === 'symlink' ? result.entry.target : result.entry.submodule_git_url) ?? '';
        return toolSuccess(`${path} in ${slug}${at} is a ${result.kind} → ${target}`, {
          ...base,
          kind: result.kind,
          sha: result.entry.sha,
          target,
          html_url: result.entry.html_url,
        });
      }
      const { entry, bytes } = result;
      if (bytes.length > args.max_bytes) {
        throw new DomainError(
          'invalid_input',
          `${path} is ${bytes.length.toLocaleString('en-US')} bytes, more than max_bytes (${args.max_bytes.toLocaleString('en-US')}).`,
          {
            field: 'max_bytes',
            action: `Call again with a larger max_bytes (up to ${CONTENTS_API_MAX_BYTES.toLocaleString('en-US')})${entry.download_url ? `, or download it from ${entry.download_url}` : ''}.`,
          },
        );
      }
      const content = decodeText(bytes);
      if (content === undefined) {
        throw new DomainError('unsupported', `${path} is a binary file (${bytes.length.toLocaleString('en-US')} bytes); this tool returns text only.`, {
          action: entry.download_url ? `Download it from ${entry.download_url}.` : 'Read it with a git clone.',
        });
      }
      return toolSuccess(`${path} in ${slug}${at} (${bytes.length} bytes):\n\n${content}`, {
        ...base,
        kind: 'file',
        size: bytes.length,
        sha: entry.sha,
        content,
        html_url: entry.html_url,
      });
    }),
  );
}
