import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_KINDS } from '../support/eraClients.js';
import { waitFor } from '../support/waitFor.js';
import {
  assertBuilt,
  connectHttp,
  copyFixtureTree,
  DOCS_MAIN,
  failureOf,
  hearListChanges,
  startHttpProcess,
  startStdioProcess,
  structured,
  subscribe,
} from './helpers.js';

interface SearchOutput {
  results: { path: string; anchor: string; link?: string; uri: string }[];
}

describe.each(CLIENT_KINDS)('docs server process over stdio, client %s', (kind) => {
  let tree: { root: string; remove: () => Promise<void> };
  let server: Awaited<ReturnType<typeof startStdioProcess>>;

  beforeAll(async () => {
    tree = await copyFixtureTree();
    server = await startStdioProcess({ DOCS_ROOT: tree.root, DOCS_BASE_URL: 'https://github.com/acme/widgets/blob/main/docs/' }, kind);
  });
  afterAll(async () => {
    await server?.close();
    await tree?.remove();
  });

  it('searches the tree and links results under DOCS_BASE_URL', async () => {
    const { results } = structured<SearchOutput>(await server.client.callTool({ name: 'search_docs', arguments: { query: 'rate limit 429' } }));
    expect(results[0]).toMatchObject({
      path: 'reference/api/errors.md',
      anchor: 'rate-limits',
      uri: 'docs://reference/api/errors.md#rate-limits',
      document_uri: 'docs://reference/api/errors.md',
      link: 'https://github.com/acme/widgets/blob/main/docs/reference/api/errors.md#rate-limits',
    });
  });

  it('logs JSON to stderr only (stdout carries the protocol)', async () => {
    // stderr and stdout are separate pipes: the log may arrive after the first answer.
    await waitFor('the "indexed docs" log line', () => server.stderr().includes('"msg":"indexed docs"'));
    const lines = server
      .stderr()
      .split('\n')
      .filter((l) => l.trim() !== '');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(server.stderr()).toContain('"msg":"indexed docs"');
  });

  it('refuses traversal and links out of the root', async () => {
    await fs.symlink('/etc/hostname', path.join(tree.root, 'host.md')).catch(() => undefined);
    for (const [bad, code] of [
      ['../../etc/passwd.md', 'forbidden'],
      ['/etc/passwd.md', 'forbidden'],
      ['..%2F..%2Fetc%2Fpasswd.md', 'forbidden'],
      ['host.md', 'forbidden'],
      ['notes.txt', 'invalid_input'],
    ] as const) {
      const result = await server.client.callTool({ name: 'get_document', arguments: { path: bad } });
      expect(result.isError, bad).toBe(true);
      expect(failureOf(result).code, bad).toBe(code);
      expect(failureOf(result).message, bad).toContain(bad);
    }
    await expect(server.client.readResource({ uri: 'docs://..%2F..%2Fetc%2Fpasswd.md' })).rejects.toThrow(/leaves the docs root/);
  });

  it('re-indexes an edit, notifies the subscriber, and announces a new file', async () => {
    await subscribe(server.client, 'docs://troubleshooting.markdown');
    await hearListChanges(server.client);
    await fs.appendFile(path.join(tree.root, 'troubleshooting.markdown'), '\n## Slow searches\n\nA pangolin-sized index takes longer to build.\n');
    await waitFor('resources/updated over stdio', () => server.notifications.updated.includes('docs://troubleshooting.markdown'));
    const { results } = structured<SearchOutput>(await server.client.callTool({ name: 'search_docs', arguments: { query: 'pangolin' } }));
    expect(results[0]).toMatchObject({ path: 'troubleshooting.markdown', anchor: 'slow-searches' });

    await fs.writeFile(path.join(tree.root, 'faq.md'), '# FAQ\n\n## Is there a dark mode?\n\nYes, the wombat theme.\n');
    await waitFor('resources/list_changed over stdio', () => server.notifications.listChanged > 0);
    const found = structured<SearchOutput>(await server.client.callTool({ name: 'search_docs', arguments: { query: 'wombat theme' } }));
    expect(found.results[0]).toMatchObject({ path: 'faq.md', anchor: 'is-there-a-dark-mode' });
  });
});

describe.each(CLIENT_KINDS)('docs server process over Streamable HTTP, client %s', (kind) => {
  let tree: { root: string; remove: () => Promise<void> };
  let server: Awaited<ReturnType<typeof startHttpProcess>>;

  beforeAll(async () => {
    tree = await copyFixtureTree();
    server = await startHttpProcess({ DOCS_ROOT: tree.root });
  });
  afterAll(async () => {
    await server?.stop();
    await tree?.remove();
  });

  it('serves two clients from one index and pushes updates to the subscribed one', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const first = await connectHttp(server.url, kind);
    const second = await connectHttp(server.url, kind);
    try {
      const { results } = structured<SearchOutput>(await second.client.callTool({ name: 'search_docs', arguments: { query: 'health check' } }));
      expect(results[0]).toMatchObject({ path: 'guides/deploying.md', anchor: 'health-checks' });
      expect(results[0]?.link).toBeUndefined();

      await subscribe(first.client, 'docs://guides/deploying.md');
      // The second client listens too, but to another document.
      await subscribe(second.client, 'docs://README.md');
      await fs.appendFile(path.join(tree.root, 'guides/deploying.md'), '\n## Rollbacks\n\nRedeploy the previous capybara image.\n');
      await waitFor('resources/updated over HTTP', () => first.notifications.updated.includes('docs://guides/deploying.md'));
      // Only the client that subscribed hears about the document.
      expect(second.notifications.updated).toEqual([]);
      const section = structured<{ content: string }>(
        await second.client.callTool({ name: 'get_section', arguments: { path: 'guides/deploying.md', anchor: 'rollbacks' } }),
      );
      expect(section.content).toContain('capybara');
    } finally {
      await first.client.close();
      await second.client.close();
    }
  });
});

describe('docs server process configuration', () => {
  it.each(CLIENT_KINDS)('defaults DOCS_ROOT to the project docs/ folder, whatever the working directory (client %s)', async (kind) => {
    const { client } = await startStdioProcess({ DOCS_WATCH: '0', LOG_LEVEL: 'warn' }, kind, os.tmpdir());
    try {
      const list = structured<{ documents: { path: string }[]; total: number }>(await client.callTool({ name: 'list_documents', arguments: {} }));
      expect(list.total).toBeGreaterThanOrEqual(5);
      expect(list.documents.map((d) => d.path)).toContain('README.md');
      const { results } = structured<SearchOutput>(await client.callTool({ name: 'search_docs', arguments: { query: 'bearer token loopback' } }));
      expect(results.length).toBeGreaterThan(0);
    } finally {
      await client.close();
    }
  });

  it('exits with status 2 and names DOCS_ROOT when it does not exist', async () => {
    assertBuilt();
    const child = spawn(process.execPath, [DOCS_MAIN], {
      env: { PATH: process.env.PATH ?? '', DOCS_ROOT: path.join(os.tmpdir(), 'manifold-no-such-docs-root') },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toContain('DOCS_ROOT');
    expect(stderr).toContain('does not exist');
  });

  it('rejects a DOCS_BASE_URL that is not an http(s) URL', async () => {
    assertBuilt();
    const child = spawn(process.execPath, [DOCS_MAIN], {
      env: { PATH: process.env.PATH ?? '', DOCS_BASE_URL: 'ftp://example.com/docs' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toContain('DOCS_BASE_URL');
  });
});
