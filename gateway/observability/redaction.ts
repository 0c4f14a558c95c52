/**
 * Redaction for call logs and the audit log: values under secret-looking names (and the
 * configured ones) are replaced, and bearer/basic credentials inside strings are cut out.
 */
const SECRET_NAME = /(authorization|token|secret|password|passwd|api[-_]?key|cookie|credential|private[-_]?key)/i;
const CREDENTIAL_IN_TEXT = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;
export const REDACTED = '[redacted]';

export function createRedactor(extraFields: readonly string[]): (value: unknown) => unknown {
  const extra = new Set(extraFields.map((field) => field.toLowerCase()));
  const isSecret = (name: string): boolean => SECRET_NAME.test(name) || extra.has(name.toLowerCase());
  const walk = (value: unknown, depth: number): unknown => {
    if (typeof value === 'string') return value.replace(CREDENTIAL_IN_TEXT, `$1 ${REDACTED}`);
    if (value === null || typeof value !== 'object') return value;
    if (depth > 20) return '[too deep]';
    if (Array.isArray(value)) return value.map((item) => walk(item, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = isSecret(key) ? REDACTED : walk(item, depth + 1);
    return out;
  };
  return (value) => walk(value, 0);
}
