/**
 * Redaction for call logs and the audit log: values under secret-looking names (and the
 * configured ones) are replaced, and bearer/basic credentials inside strings are cut out.
 *
 * Why not pino's `redact` alone (which the logger uses for its own fixed paths, shared/logger.ts):
 * tool arguments are arbitrary JSON from clients, and a secret may sit under any key at any
 * depth (`{"config":{"db":{"password":…}}}`) or inside a string; pino's paths (fast-redact)
 * name fixed positions with one-level wildcards, and do not look inside values. Arguments pass
 * here once, and the call line that carries them skips pino's pass (callRecorder.ts).
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
