/**
 * How upstream names become gateway names.
 *
 * Tools and prompts: `<namespace><separator><name>` (`pm__create_task`). Every exposed name
 * must match MODEL_SAFE_NAME so that major model APIs accept it; names are reversed through
 * the catalog's index, never by splitting, since upstream names may contain the separator.
 *
 * Resources: the namespace is prefixed to the URI scheme with `+`:
 *   project://status       (upstream "pm")   ⇄   pm+project://status
 *   demo://resource/{id}   (template)        ⇄   everything+demo://resource/{id}
 * `pm+project` is still a valid URI scheme (RFC 3986 §3.1 allows `+`), the original URI reads
 * unchanged after the prefix, and RFC 6570 templates keep working because the prefix is a
 * literal. Reversal takes the text before the first `+` as the namespace.
 */
export const MODEL_SAFE_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

const NAMESPACED_URI = /^([a-z][a-z0-9-]{0,15})\+([\s\S]*)$/;

export function exposedName(namespace: string, separator: string, name: string): string {
  return `${namespace}${separator}${name}`;
}

export function exposeUri(namespace: string, uri: string): string {
  return `${namespace}+${uri}`;
}

/** The namespace and original URI of a gateway URI, or undefined when it has no namespace. */
export function parseExposedUri(uri: string): { namespace: string; uri: string } | undefined {
  const match = NAMESPACED_URI.exec(uri);
  return match ? { namespace: match[1]!, uri: match[2]! } : undefined;
}

/** Why a name cannot be exposed, or undefined when it can. */
export function nameProblem(name: string): string | undefined {
  if (name.length > 64) return `is ${name.length} characters long (the limit is 64)`;
  if (!MODEL_SAFE_NAME.test(name)) return 'contains characters outside A-Z a-z 0-9 _ -';
  return undefined;
}
