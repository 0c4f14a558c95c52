import { describe, expect, it } from 'vitest';
import { exposedName, exposeUri, MODEL_SAFE_NAME, nameProblem, parseExposedUri } from '../../../../gateway/catalog/naming.js';

describe('exposed tool and prompt names', () => {
  it('joins namespace, separator and name', () => {
    expect(exposedName('pm', '__', 'create_task')).toBe('pm__create_task');
    expect(exposedName('gh', '-', 'list_issues')).toBe('gh-list_issues');
  });

  it('accepts names a model API accepts, up to 64 characters', () => {
    expect(nameProblem('pm__create_task')).toBeUndefined();
    expect(nameProblem('a'.repeat(64))).toBeUndefined();
    expect(MODEL_SAFE_NAME.test('pm__create_task')).toBe(true);
  });

  it('says why a name cannot be exposed', () => {
    expect(nameProblem('a'.repeat(65))).toBe('is 65 characters long (the limit is 64)');
    expect(nameProblem('pm__create task')).toBe('contains characters outside A-Z a-z 0-9 _ -');
    expect(nameProblem('pm__tâche')).toBe('contains characters outside A-Z a-z 0-9 _ -');
    expect(nameProblem('pm__a.b')).toBe('contains characters outside A-Z a-z 0-9 _ -');
  });
});

describe('namespaced resource URIs', () => {
  it('prefixes the scheme with the namespace and a plus', () => {
    expect(exposeUri('pm', 'project://status')).toBe('pm+project://status');
    expect(exposeUri('everything', 'demo://resource/{id}')).toBe('everything+demo://resource/{id}');
  });

  it.each([
    ['pm', 'project://status'],
    ['docs', 'docs://guides/setup.md#install'],
    ['everything', 'demo://resource/{id}'],
    ['gh', 'repo://octo/hello+world/issues?state=open'],
    ['pm', 'pm+project://already-prefixed'],
    ['x-1', 'file:///tmp/a b\nc'],
  ])('round-trips %s + %s', (namespace, uri) => {
    expect(parseExposedUri(exposeUri(namespace, uri))).toEqual({ namespace, uri });
  });

  it('takes the namespace from the text before the first plus', () => {
    expect(parseExposedUri('pm+a+b://x')).toEqual({ namespace: 'pm', uri: 'a+b://x' });
  });

  it('finds no namespace in a URI the gateway did not namespace', () => {
    expect(parseExposedUri('project://status')).toBeUndefined();
    expect(parseExposedUri('+project://status')).toBeUndefined();
    expect(parseExposedUri('PM+project://status')).toBeUndefined();
    expect(parseExposedUri('9pm+project://status')).toBeUndefined();
    expect(parseExposedUri(`${'a'.repeat(17)}+project://status`)).toBeUndefined();
  });
});
