import { describe, expect, it } from 'vitest';
import { metadataDocumentFetch, MetadataDocumentRefused } from '../../gateway/auth/embedded/metadataDocumentFetch.js';

/** The refusal for a URL, which these cases get before any connection is attempted. */
async function refusalOf(url: string, allowLoopback = false): Promise<MetadataDocumentRefused> {
  const error = await metadataDocumentFetch({ allowLoopback })(url).catch((e: unknown) => e);
  expect(error, url).toBeInstanceOf(MetadataDocumentRefused);
  return error as MetadataDocumentRefused;
}

describe('what the metadata document fetch refuses before connecting', () => {
  it('refuses every scheme but https', async () => {
    for (const url of ['http://client.example.com/metadata.json', 'ftp://client.example.com/metadata.json', 'file:///etc/passwd']) {
      expect(await refusalOf(url)).toMatchObject({ code: 'not_https', message: expect.stringContaining('must be served over https') });
    }
  });

  it.each([
    ['a private IPv4 address', 'https://192.168.1.10/client.json', '192.168.1.10 is a private or special-use address'],
    ['the cloud metadata address', 'https://169.254.169.254/latest/meta-data', '169.254.169.254 is a private or special-use address'],
    ['shared address space (CGNAT)', 'https://100.64.0.1/client.json', '100.64.0.1 is a private or special-use address'],
    ['a unique-local IPv6 address', 'https://[fd00::1]/client.json', 'fd00::1 is a private or special-use address'],
    ['a link-local IPv6 address', 'https://[fe80::1]/client.json', 'fe80::1 is a private or special-use address'],
    ['an IPv4-mapped private address', 'https://[::ffff:10.0.0.1]/client.json', 'is a private or special-use address'],
    ['the unspecified address', 'https://0.0.0.0/client.json', '0.0.0.0 is a private or special-use address'],
    ['IPv4 loopback', 'https://127.0.0.1/client.json', '127.0.0.1 is a loopback address'],
    ['IPv6 loopback', 'https://[::1]/client.json', '::1 is a loopback address'],
    ['a name that resolves to loopback', 'https://localhost/client.json', 'localhost resolves to'],
  ])('refuses %s, naming it', async (_label, url, message) => {
    const refusal = await refusalOf(url);
    expect(refusal.code).toBe('special_use_address');
    expect(refusal.message).toContain(message);
    expect(refusal.message).toContain('fetched only from public addresses');
  });

  it('allows loopback only when told to, and still refuses private addresses then', async () => {
    const loopback = await metadataDocumentFetch({ allowLoopback: true })('https://127.0.0.1:1/client.json').catch((e: unknown) => e);
    // Allowed through the address check, it fails only at the connection (nothing listens on port 1).
    expect(loopback).toMatchObject({ code: 'unreachable' });
    expect(await refusalOf('https://10.0.0.1/client.json', true)).toMatchObject({ code: 'special_use_address' });
  });
});
