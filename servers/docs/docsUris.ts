import { DomainError } from '../../shared/errors.js';
import { normalizeDocPath } from './docsRoot.js';

/**
 * Names for documents outside the process: `docs://` resource URIs and, when
 * DOCS_BASE_URL is set, web links.
 *
 * The resource template is `docs://{+path}`: RFC 6570 reserved expansion, which the
 * SDK's UriTemplate matches with `(.+)`, so nested paths ("guides/running.md") match
 * as one variable. A plain `{path}` matches only `[^/,]+` and would reach top-level
 * documents only.
 */

export const DOCS_URI_SCHEME = 'docs://';
export const INDEX_URI = 'docs://index';
/** How far indexing is, as JSON (for supervisors: the gateway's readiness, dashboards). */
export const STATUS_URI = 'docs://status';
export const DOCUMENT_URI_TEMPLATE = 'docs://{+path}';

/** The canonical resource URI of a document path: each segment percent-encoded. */
export function documentUri(relativePath: string): string {
  return DOCS_URI_SCHEME + relativePath.split('/').map(encodeURIComponent).join('/');
}

/**
 * The URI of one section: `docs://{path}#{anchor}` (the anchor is GitHub's heading slug);
 * the text before the first heading (anchor "") is named by the document URI itself.
 */
export function sectionUri(relativePath: string, anchor: string): string {
  return anchor === '' ? documentUri(relativePath) : `${documentUri(relativePath)}#${encodeURIComponent(anchor)}`;
}

/**
 * Split a `docs://` URI (or the template's raw `path` variable) into its validated document path
 * and, when it has a `#fragment`, the section anchor it names.
 */
export function parseDocsUri(uriOrVariable: string, fromVariable = false): { path: string; anchor?: string } {
  const hash = uriOrVariable.indexOf('#');
  if (hash < 0) return { path: pathFromDocumentUri(uriOrVariable, fromVariable) };
  const relativePath = pathFromDocumentUri(uriOrVariable.slice(0, hash), fromVariable);
  let anchor = uriOrVariable.slice(hash + 1);
  try {
    anchor = decodeURIComponent(anchor);
  } catch {
    throw new DomainError('invalid_input', `"${uriOrVariable}" has a malformed percent-encoded section anchor.`, { field: 'uri' });
  }
  return { path: relativePath, anchor };
}

/** The document path a `docs://` URI (or the template's raw `path` variable) names, validated. */
export function pathFromDocumentUri(uriOrVariable: string, fromVariable = false): string {
  let raw = uriOrVariable;
  if (!fromVariable) {
    if (!raw.startsWith(DOCS_URI_SCHEME)) {
      throw new DomainError('invalid_input', `"${uriOrVariable}" is not a docs:// URI.`, {
        action: 'Document URIs look like docs://guides/running.md; resources/list shows them.',
        field: 'uri',
      });
    }
    raw = raw.slice(DOCS_URI_SCHEME.length);
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw new DomainError('invalid_input', `"${uriOrVariable}" has malformed percent-encoding.`, { field: 'uri' });
  }
  return normalizeDocPath(decoded, 'uri');
}

/**
 * A web link for a document (and section) under DOCS_BASE_URL, or undefined when no
 * base is configured. The base is treated as a folder: "https://x/docs" and
 * "https://x/docs/" both give "https://x/docs/guides/running.md#install".
 */
export function webLink(baseUrl: URL | undefined, relativePath: string, anchor?: string): string | undefined {
  if (!baseUrl) return undefined;
  const base = new URL(baseUrl.href);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  base.search = '';
  base.hash = '';
  const link = new URL(relativePath.split('/').map(encodeURIComponent).join('/'), base);
  if (anchor) link.hash = anchor;
  return link.href;
}
