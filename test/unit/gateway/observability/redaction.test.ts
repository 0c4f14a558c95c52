import { describe, expect, it } from 'vitest';
import { createRedactor, REDACTED } from '../../../../gateway/observability/redaction.js';

describe('redaction of logged arguments', () => {
  it('replaces values under secret-looking names, at any depth', () => {
    const redact = createRedactor([]);
    expect(
      redact({ title: 'Fix login', token: 'abc', nested: { apiKey: 'k', api_key: 'k', Password: 'p', list: [{ cookie: 'c', keep: 1 }] }, private_key: 'pem' }),
    ).toEqual({
      title: 'Fix login',
      token: REDACTED,
      nested: { apiKey: REDACTED, api_key: REDACTED, Password: REDACTED, list: [{ cookie: REDACTED, keep: 1 }] },
      private_key: REDACTED,
    });
  });

  it('cuts bearer and basic credentials out of text', () => {
    const redact = createRedactor([]);
    expect(redact({ note: 'curl -H "Authorization: Bearer eyJhbGciOi.x.y" and Basic dXNlcjpwdw==' })).toEqual({
      note: `curl -H "Authorization: Bearer ${REDACTED}" and Basic ${REDACTED}`,
    });
  });

  it('also redacts the configured field names, whatever their case', () => {
    const redact = createRedactor(['ssn']);
    expect(redact({ SSN: '123', name: 'Ada' })).toEqual({ SSN: REDACTED, name: 'Ada' });
  });

  it('leaves other values as they are, and stops at a depth limit', () => {
    const redact = createRedactor([]);
    expect(redact([1, null, true, 'text'])).toEqual([1, null, true, 'text']);
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 30; i++) deep = { next: deep };
    expect(JSON.stringify(redact(deep))).toContain('"[too deep]"');
  });
});
