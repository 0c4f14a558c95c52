import { describe, expect, it } from 'vitest';
import { paramHeaderMismatch, paramHeadersFor, undeclaredParamHeaders } from '../../../../gateway/upstreams/mcpParamHeaders.js';

/** A tool that mirrors its `repo` and `issue` arguments in headers (SEP-2243). */
const schema = () => ({
  type: 'object',
  properties: {
    repo: { type: 'string', 'x-mcp-header': 'Repo' },
    issue: { type: 'integer', 'x-mcp-header': 'Issue' },
    options: { type: 'object', properties: { draft: { type: 'boolean', 'x-mcp-header': 'Draft' } } },
    body: { type: 'string' },
  },
});

const b64 = (text: string) => `=?base64?${Buffer.from(text, 'utf8').toString('base64')}?=`;

describe('the Mcp-Param-* headers the gateway sends upstream', () => {
  it('mirrors each declared primitive argument, nested ones too', () => {
    expect(paramHeadersFor(schema(), { repo: 'octo/hello', issue: 42, options: { draft: false }, body: 'text' })).toEqual({
      'Mcp-Param-Repo': 'octo/hello',
      'Mcp-Param-Issue': '42',
      'Mcp-Param-Draft': 'false',
    });
  });

  it('wraps values that are not plain ASCII field values in Base64', () => {
    expect(paramHeadersFor(schema(), { repo: 'équipe/dépôt' })).toEqual({ 'Mcp-Param-Repo': b64('équipe/dépôt') });
    expect(paramHeadersFor(schema(), { repo: ' padded ' })).toEqual({ 'Mcp-Param-Repo': b64(' padded ') });
    expect(paramHeadersFor(schema(), { repo: '' })).toEqual({ 'Mcp-Param-Repo': b64('') });
  });

  it('sends nothing for absent, null or non-primitive arguments, or a schema without declarations', () => {
    expect(paramHeadersFor(schema(), { repo: null, issue: { n: 1 } })).toBeUndefined();
    expect(paramHeadersFor({ type: 'object', properties: { repo: { type: 'string' } } }, { repo: 'x' })).toBeUndefined();
    expect(paramHeadersFor(undefined, { repo: 'x' })).toBeUndefined();
  });
});

describe("checking a client's Mcp-Param-* headers against the body", () => {
  it('accepts headers that agree, plain or in Base64, numbers compared as numbers', () => {
    expect(paramHeaderMismatch({ 'mcp-param-repo': 'octo/hello', 'mcp-param-issue': '42.0' }, schema(), { repo: 'octo/hello', issue: 42 })).toBeUndefined();
    expect(paramHeaderMismatch({ 'mcp-param-repo': b64('équipe') }, schema(), { repo: 'équipe' })).toBeUndefined();
    expect(paramHeaderMismatch({}, schema(), { body: 'no declared argument' })).toBeUndefined();
  });

  it('names a missing header', () => {
    expect(paramHeaderMismatch({}, schema(), { repo: 'octo/hello' })).toEqual({
      header: 'Mcp-Param-Repo',
      message: 'the body carries repo="octo/hello" but the Mcp-Param-Repo header is absent',
    });
  });

  it('names a header that disagrees with the body', () => {
    expect(paramHeaderMismatch({ 'mcp-param-issue': '41' }, schema(), { issue: 42 })).toEqual({
      header: 'Mcp-Param-Issue',
      message: 'the Mcp-Param-Issue header decodes to "41" but the body carries issue=42',
    });
    expect(paramHeaderMismatch({ 'mcp-param-draft': 'true' }, schema(), { options: { draft: false } })?.header).toBe('Mcp-Param-Draft');
  });

  it('refuses Base64 that is not canonical or not UTF-8', () => {
    expect(paramHeaderMismatch({ 'mcp-param-repo': '=?base64?not base64?=' }, schema(), { repo: 'x' })?.message).toBe(
      'the Mcp-Param-Repo header carries an invalid Base64 value (=?base64?…?= must wrap canonical Base64 of UTF-8)',
    );
    expect(paramHeaderMismatch({ 'mcp-param-repo': `=?base64?${Buffer.from([0xff, 0xfe]).toString('base64')}?=` }, schema(), { repo: 'x' })).toBeDefined();
  });

  it('passes on the headers the tool does not declare, as they came', () => {
    expect(undeclaredParamHeaders({ 'mcp-param-repo': 'octo/hello', 'mcp-param-region': 'eu', 'content-type': 'application/json' }, schema())).toEqual({
      'mcp-param-region': 'eu',
    });
    expect(undeclaredParamHeaders({ 'mcp-param-repo': 'x' }, schema())).toBeUndefined();
    expect(undeclaredParamHeaders({ 'mcp-param-any': 'y' }, undefined)).toEqual({ 'mcp-param-any': 'y' });
  });
});
