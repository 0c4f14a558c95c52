import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DomainError, invalidInput, notFound } from '../../shared/errors.js';

/**
 * The one place that turns a client-supplied path into a file: every read goes
 * through `DocsRoot`, so nothing outside the root (by `..`, an absolute path, an
 * encoded separator or a symbolic link) and nothing but Markdown is ever opened.
 */

export const MARKDOWN_EXTENSIONS = ['.md', '.markdown'] as const;

const PATH_HINT = 'Paths are relative to the docs root and use "/" (for example "guides/running.md"); list_documents shows them.';

export function isMarkdownFile(name: string): boolean {
  const lower = name.toLowerCase();
  return MARKDOWN_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

/** True for a file or folder name the tree walk and the watcher skip (".git", ".drafts", node_modules). */
export function isHiddenName(name: string): boolean {
  return name.startsWith('.') || name === 'node_modules';
}

function outside(input: string, why: string, field: string): DomainError {
  return new DomainError('forbidden', `Path "${input}" ${why}, which leaves the docs root; refused.`, { action: PATH_HINT, field });
}

/**
 * Validate and normalise a document path given by a client: "/" separators, no
 * leading "./", no empty or "." segments. Refuses absolute paths, ".." segments
 * (also when percent-encoded or written with "\"), hidden segments and
 * non-Markdown names. Returns the canonical relative path used as the key everywhere.
 */
export function normalizeDocPath(input: string, field = 'path'): string {
  const candidate = normalizeRelative(input, field);
  if (candidate === '') throw invalidInput(field, 'is empty.', PATH_HINT);
  if (!isMarkdownFile(candidate)) {
    throw invalidInput(field, `"${input}" is not a Markdown file; only .md and .markdown files are served.`, PATH_HINT);
  }
  return candidate;
}

/** Like normalizeDocPath for a folder prefix (search and list filters): may be empty, any name. */
export function normalizePathPrefix(input: string, field = 'pathPrefix'): string {
  const trailingSlash = /[/\\]$/.test(input.trim());
  const normalized = normalizeRelative(input, field);
  return trailingSlash && normalized !== '' ? `${normalized}/` : normalized;
}

function normalizeRelative(input: string, field: string): string {
  if (input.includes('\0')) throw invalidInput(field, 'contains a NUL character.', PATH_HINT);
  const raw = input.trim();
  let decoded = raw;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    // Not percent-encoded text; check it as written.
  }
  for (const form of new Set([raw, decoded])) {
    const slashed = form.replace(/\\/g, '/');
    if (slashed.startsWith('/') || /^[A-Za-z]:/.test(slashed)) {
      throw outside(input, form === raw ? 'is absolute' : 'is an encoded absolute path', field);
    }
    if (slashed.split('/').includes('..')) {
      throw outside(input, form === raw ? 'contains ".."' : 'contains an encoded ".."', field);
    }
  }
  const segments = raw
    .replace(/\\/g, '/')
    .split('/')
    .filter((segment) => segment !== '' && segment !== '.');
  const hidden = segments.find((segment) => isHiddenName(segment));
  if (hidden !== undefined) {
    throw invalidInput(field, `"${input}" names a hidden folder or file ("${hidden}"), which is not served.`, PATH_HINT);
  }
  return segments.join('/');
}

export interface DocumentFile {
  text: string;
  sizeBytes: number;
  mtimeMs: number;
}

export class DocsRoot {
  private constructor(
    /** The root as configured (absolute). */
    readonly configuredPath: string,
    /** The root with symbolic links resolved: containment is checked against this. */
    readonly realPath: string,
  ) {}

  /** Open a root folder; fails with a clear message when it is missing or not a folder. */
  static async open(rootPath: string): Promise<DocsRoot> {
    const absolute = path.resolve(rootPath);
    let real: string;
    try {
      real = await fs.realpath(absolute);
    } catch {
      throw new DomainError('unavailable', `The docs root ${absolute} does not exist.`, {
        action: 'Set DOCS_ROOT to a folder of Markdown files.',
      });
    }
    if (!(await fs.stat(real)).isDirectory()) {
      throw new DomainError('unavailable', `The docs root ${absolute} is not a folder.`, {
        action: 'Set DOCS_ROOT to a folder of Markdown files.',
      });
    }
    return new DocsRoot(absolute, real);
  }

  /** True when an absolute, already-resolved path lies inside the root. */
  contains(realPath: string): boolean {
    const relative = path.relative(this.realPath, realPath);
    return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
  }

  /** The canonical relative path ("/" separated) of an absolute path under the real root. */
  relativeOf(absolutePath: string): string {
    return path.relative(this.realPath, absolutePath).split(path.sep).join('/');
  }

  /** The absolute path (under the real root) of a normalised relative path, links not resolved. */
  absoluteOf(relativePath: string): string {
    return relativePath === '' ? this.realPath : path.join(this.realPath, ...relativePath.split('/'));
  }

  /**
   * Resolve a normalised relative path to the real file it names, refusing one that
   * resolves (through a symbolic link anywhere on the way) outside the root.
   * Returns undefined when nothing exists there.
   */
  async resolve(relativePath: string): Promise<string | undefined> {
    let real: string;
    try {
      real = await fs.realpath(this.absoluteOf(relativePath));
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    if (!this.contains(real)) {
      throw new DomainError('forbidden', `Path "${relativePath}" is a symbolic link that resolves outside the docs root; refused.`, {
        action: PATH_HINT,
        field: 'path',
      });
    }
    return real;
  }

  /**
   * Read a document. The path must already be normalised (normalizeDocPath); the
   * real file is re-checked here, so a file swapped for an outward symlink after
   * indexing is still refused.
   */
  async read(relativePath: string, maxBytes: number): Promise<DocumentFile> {
    const real = await this.resolve(relativePath);
    if (real === undefined) throw missingDocument(relativePath);
    const handle = await fs.open(real, 'r');
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw missingDocument(relativePath);
      if (stat.size > maxBytes) {
        throw new DomainError('unsupported', `Document "${relativePath}" is ${stat.size} bytes, above the ${maxBytes}-byte limit.`, {
          action: 'Raise DOCS_MAX_FILE_BYTES to serve it.',
        });
      }
      const text = await handle.readFile({ encoding: 'utf8' });
      return { text, sizeBytes: stat.size, mtimeMs: stat.mtimeMs };
    } finally {
      await handle.close();
    }
  }
}

export function missingDocument(relativePath: string): DomainError {
  return notFound(`No document "${relativePath}" in the docs root.`, 'Use list_documents or search_docs to find valid paths.');
}

export function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
