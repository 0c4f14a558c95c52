import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_KINDS } from '../support/eraClients.js';
import { copyFixtureTree, failureOf, startInProcess, structured, subscribe, textOf, type InProcessDocs } from './helpers.js';

interface Hit {
  path: string;
  anchor: string;
  title: string;
  breadcrumbs: string[];
  level: number;
  start_line: number;
  end_line: number;
  score: number;
  snippet: string;
  uri: string;
  link?: string;
}
interface SearchOutput {
  total: number;
  results: Hit[];
}
interface DocumentEntry {
  path: string;
  title: string;
  sections: number;
  uri: string;
  link?: string;
}
interface ListOutput {
  documents: DocumentEntry[];
  total: number;
  next_cursor?: string;
}

describe.each(CLIENT_KINDS)('docs server (in process), client %s', (kind) => {
  let tree: { root: string; remove: () => Promise<void> };
  let docs: InProcessDocs;

  beforeAll(async () => {
    tree = await copyFixtureTree();
    // A symbolic link that leads out of the root, and one that stays inside it.
    const outsideFile = path.join(path.dirname(tree.root), 'outside.md');
    await fs.writeFile(outsideFile, '# Outside\n\nSecret text that must not be served.\n');
    await fs.symlink(outsideFile, path.join(tree.root, 'escape.md'));
    await fs.symlink(path.join(tree.root, 'guides/installing.md'), path.join(tree.root, 'alias.md'));
    docs = await startInProcess(tree.root, { baseUrl: 'https://docs.example.com/handbook', client: kind });
  });
  afterAll(async () => {
    await docs?.close();
    await tree?.remove();
  });

  const search = async (query: string, extra: Record<string, unknown> = {}): Promise<SearchOutput> =>
    structured<SearchOutput>(await docs.client.callTool({ name: 'search_docs', arguments: { query, ...extra } }));

  const callError = async (name: string, args: Record<string, unknown>): Promise<{ code: string; message: string; text: string }> => {
    const result = await docs.client.callTool({ name, arguments: args });
    expect(result.isError).toBe(true);
    return { ...failureOf(result), text: textOf(result) };
  };

  it('offers answer_from_docs, embedding the best sections with their anchors and links', async () => {
    const { prompts } = await docs.client.listPrompts();
    expect(prompts.map((p) => p.name)).toEqual(['answer_from_docs']);
    const prompt = await docs.client.getPrompt({ name: 'answer_from_docs', arguments: { question: 'how do I install it with npm' } });
    expect(prompt.messages[0]?.content).toMatchObject({ type: 'text' });
    const first = prompt.messages[1]?.content;
    expect(first).toMatchObject({ type: 'resource', resource: { uri: 'docs://guides/installing.md#install-with-npm', mimeType: 'text/markdown' } });
    expect(JSON.stringify(first)).toContain('https://docs.example.com/handbook/guides/installing.md#install-with-npm');
    const none = await docs.client.getPrompt({ name: 'answer_from_docs', arguments: { question: 'zzyzx quantum marmalade' } });
    expect(none.messages).toHaveLength(1);
    expect(JSON.stringify(none.messages[0])).toContain('No section matched');
  });

  it('accepts a log level: logging/setLevel on 2025-11-25, the per-request _meta level on 2026-07-28', async () => {
    if (docs.client.era === 'legacy') {
      await expect(docs.client.setLoggingLevel('warning')).resolves.toBeUndefined();
      return;
    }
    // 2026-07-28 has no logging/setLevel: the client opts in per request instead.
    await expect(docs.client.setLoggingLevel('warning')).rejects.toThrow(/not supported by the negotiated protocol version/);
    const result = await docs.client.callTool({ name: 'list_documents', arguments: { limit: 1 }, _meta: { 'io.modelcontextprotocol/logLevel': 'warning' } });
    expect(result.isError).toBeFalsy();
    expect(structured<ListOutput>(result).total).toBe(8);
  });

  it('lists four read-only tools with output schemas and honest annotations', async () => {
    const { tools } = await docs.client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['get_document', 'get_section', 'list_documents', 'search_docs']);
    for (const tool of tools) {
      expect(tool.outputSchema).toBeDefined();
      expect(tool.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false });
      expect(tool.description?.length ?? 0).toBeGreaterThan(150);
    }
  });

  describe('ranking', () => {
    it.each([
      ['rate limit 429', 'reference/api/errors.md', 'rate-limits'],
      ['how do I install it with npm', 'guides/installing.md', 'install-with-npm'],
      ['retry backoff', 'guides/configuration.md', 'the-retry-option'],
      ['port already in use EADDRINUSE', 'troubleshooting.markdown', 'port-already-in-use'],
      ['health check load balancer', 'guides/deploying.md', 'health-checks'],
      ['which interface does the server listen on', 'guides/configuration.md', 'listening-address'],
      ['delete widget', 'reference/api/widgets.md', 'delete-a-widget'],
      ['verify the installation', 'guides/installing.md', 'verify-the-installation'],
    ])('"%s" ranks %s#%s first', async (query, expectedPath, expectedAnchor) => {
      const { results } = await search(query);
      expect(results[0]).toMatchObject({ path: expectedPath, anchor: expectedAnchor });
    });

    it('tolerates a typo and a word prefix', async () => {
      expect((await search('helth chek'))?.results[0]).toMatchObject({ anchor: 'health-checks' });
      expect((await search('zero-down'))?.results[0]).toMatchObject({ anchor: 'zero-downtime-upgrades' });
    });

    it('returns breadcrumbs, line range, a snippet around the match, the resource URI and a web link', async () => {
      const { results } = await search('Retry-After header');
      const hit = results[0];
      expect(hit).toMatchObject({
        path: 'reference/api/errors.md',
        anchor: 'rate-limits',
        title: 'Rate limits',
        breadcrumbs: ['API errors'],
        level: 2,
        uri: 'docs://reference/api/errors.md#rate-limits',
        document_uri: 'docs://reference/api/errors.md',
        link: 'https://docs.example.com/handbook/reference/api/errors.md#rate-limits',
      });
      expect(hit?.start_line).toBe(15);
      expect(hit?.end_line).toBe(20);
      expect(hit?.snippet).toContain('Retry-After');
      expect(hit?.score).toBeGreaterThan(0);
    });

    it('limits results and filters by path prefix', async () => {
      const limited = await search('widgets', { limit: 2 });
      expect(limited.results).toHaveLength(2);
      expect(limited.total).toBeGreaterThan(2);
      const scoped = await search('widgets', { path_prefix: 'reference/' });
      expect(scoped.results.length).toBeGreaterThan(0);
      expect(scoped.results.every((r) => r.path.startsWith('reference/'))).toBe(true);
    });

    it('rejects a limit above 50 and says so', async () => {
      const result = await docs.client.callTool({ name: 'search_docs', arguments: { query: 'x', limit: 51 } });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(/limit/i);
    });

    it('says plainly when nothing matches', async () => {
      const result = await docs.client.callTool({ name: 'search_docs', arguments: { query: 'xylophone quasar' } });
      expect(structured<SearchOutput>(result)).toMatchObject({ total: 0, results: [] });
      expect(textOf(result)).toContain('No section matches');
    });

    it('never indexes hidden folders, non-Markdown files, or links out of the root', async () => {
      expect((await search('unreleased plans')).results.some((r) => r.path.includes('drafts'))).toBe(false);
      expect((await search('plain-text notes')).results.some((r) => r.path.endsWith('.txt'))).toBe(false);
      expect((await search('secret text must not be served')).results.some((r) => r.path === 'escape.md')).toBe(false);
    });
  });

  describe('list_documents', () => {
    it('lists every document with titles, in path order, paginated by cursor', async () => {
      const first = structured<ListOutput>(await docs.client.callTool({ name: 'list_documents', arguments: { limit: 3 } }));
      expect(first.total).toBe(8);
      expect(first.documents.map((d) => d.path)).toEqual(['README.md', 'alias.md', 'guides/configuration.md']);
      expect(first.next_cursor).toBeTypeOf('string');
      const paths = [...first.documents.map((d) => d.path)];
      let cursor = first.next_cursor;
      while (cursor) {
        const page = structured<ListOutput>(await docs.client.callTool({ name: 'list_documents', arguments: { limit: 3, cursor } }));
        paths.push(...page.documents.map((d) => d.path));
        cursor = page.next_cursor;
      }
      expect(paths).toEqual([
        'README.md',
        'alias.md',
        'guides/configuration.md',
        'guides/deploying.md',
        'guides/installing.md',
        'reference/api/errors.md',
        'reference/api/widgets.md',
        'troubleshooting.markdown',
      ]);
    });

    it('gives titles from the first heading, front matter or setext heading, and web links', async () => {
      const { documents } = structured<ListOutput>(await docs.client.callTool({ name: 'list_documents', arguments: { path_prefix: 'guides' } }));
      expect(documents.map((d) => [d.path, d.title])).toEqual([
        ['guides/configuration.md', 'Configuring Acme Widgets'],
        ['guides/deploying.md', 'Deploying to production'],
        ['guides/installing.md', 'Installing Acme Widgets'],
      ]);
      expect(documents[0]?.link).toBe('https://docs.example.com/handbook/guides/configuration.md');
    });

    it('rejects a cursor it did not issue', async () => {
      const error = await callError('list_documents', { cursor: 'not-a-cursor' });
      expect(error.code).toBe('invalid_input');
      expect(error.message).toContain('cursor');
    });
  });

  describe('get_document and get_section', () => {
    it('returns a whole document with its outline (duplicate headings de-duplicated, fenced headings ignored)', async () => {
      const result = await docs.client.callTool({ name: 'get_document', arguments: { path: 'guides/configuration.md' } });
      const out = structured<{ document: DocumentEntry; content: string; truncated: boolean; outline: { anchor: string; level: number }[] }>(result);
      expect(out.document).toMatchObject({ path: 'guides/configuration.md', title: 'Configuring Acme Widgets', uri: 'docs://guides/configuration.md' });
      expect(out.truncated).toBe(false);
      expect(out.content).toContain('WIDGETS_RETRY');
      expect(out.outline.map((s) => s.anchor)).toEqual([
        'configuring-acme-widgets',
        'listening-address',
        'example',
        'the-retry-option',
        'example-1',
        'storage',
        'example-2',
        'whats-new-2024-edition',
        'example-3',
      ]);
      const installing = structured<{ outline: { anchor: string }[] }>(
        await docs.client.callTool({ name: 'get_document', arguments: { path: './guides/installing.md' } }),
      );
      expect(installing.outline.map((s) => s.anchor)).toEqual([
        'installing-acme-widgets',
        'requirements',
        'install-with-npm',
        'install-from-source',
        'verify-the-installation',
      ]);
    });

    it('returns one section with its subsections by default, or only its own text', async () => {
      const withSubs = structured<{ section: Hit; content: string; subsections: { anchor: string }[] }>(
        await docs.client.callTool({ name: 'get_section', arguments: { path: 'reference/api/errors.md', anchor: 'client-errors' } }),
      );
      expect(withSubs.section).toMatchObject({ title: 'Client errors', breadcrumbs: ['API errors'], start_line: 5, end_line: 14 });
      expect(withSubs.subsections.map((s) => s.anchor)).toEqual(['400-bad-request', '404-not-found']);
      expect(withSubs.content).toContain('The widget id does not exist');
      expect(withSubs.section.link).toBe('https://docs.example.com/handbook/reference/api/errors.md#client-errors');

      const own = structured<{ section: Hit; content: string; subsections: unknown[] }>(
        await docs.client.callTool({
          name: 'get_section',
          arguments: { path: 'reference/api/errors.md', anchor: '#client-errors', include_subsections: false },
        }),
      );
      expect(own.content.trim()).toBe('## Client errors');
      expect(own.subsections).toEqual([]);
    });

    it('finds the second duplicate and accepts a heading text in place of its anchor', async () => {
      const second = structured<{ content: string; section: Hit }>(
        await docs.client.callTool({ name: 'get_section', arguments: { path: 'guides/configuration.md', anchor: 'example-1' } }),
      );
      expect(second.content).toContain('WIDGETS_RETRY=5');
      expect(second.section.breadcrumbs).toEqual(['Configuring Acme Widgets', 'The retry option']);
      const byTitle = structured<{ section: Hit }>(
        await docs.client.callTool({ name: 'get_section', arguments: { path: 'guides/installing.md', anchor: 'Install with npm' } }),
      );
      expect(byTitle.section.anchor).toBe('install-with-npm');
    });

    it('names the valid anchors when the anchor is unknown', async () => {
      const error = await callError('get_section', { path: 'troubleshooting.markdown', anchor: 'no-such-thing' });
      expect(error.code).toBe('not_found');
      expect(error.message).toContain('port-already-in-use');
      expect(error.message).toContain('widgets-disappear-after-restart');
    });

    it('says a missing document is missing and how to find valid paths', async () => {
      const error = await callError('get_document', { path: 'guides/nope.md' });
      expect(error.code).toBe('not_found');
      expect(error.message).toContain('guides/nope.md');
      expect(error.message).toContain('list_documents');
    });

    it('cuts long documents at max_chars and says so', async () => {
      const out = structured<{ truncated: boolean; content: string }>(
        await docs.client.callTool({ name: 'get_document', arguments: { path: 'guides/configuration.md', max_chars: 1000 } }),
      );
      expect(out.truncated).toBe(true);
      expect(out.content.length).toBeLessThanOrEqual(1000);
    });

    it('follows a symbolic link that stays inside the root', async () => {
      const out = structured<{ content: string }>(await docs.client.callTool({ name: 'get_document', arguments: { path: 'alias.md' } }));
      expect(out.content).toContain('# Installing Acme Widgets');
    });
  });

  describe('paths outside the root are refused', () => {
    it.each([
      ['../outside.md', 'contains ".."'],
      ['guides/../../outside.md', 'contains ".."'],
      ['..\\outside.md', 'contains ".."'],
      ['/etc/passwd.md', 'is absolute'],
      ['C:\\Windows\\win.md', 'is absolute'],
      ['..%2Foutside.md', 'encoded ".."'],
      ['%2e%2e/outside.md', 'encoded ".."'],
      ['%2Fetc%2Fpasswd.md', 'encoded absolute'],
    ])('get_document refuses %j', async (badPath, why) => {
      const error = await callError('get_document', { path: badPath });
      expect(error.code).toBe('forbidden');
      expect(error.message).toContain(`"${badPath}"`);
      expect(error.message).toContain(why);
      expect(error.message).toContain('relative to the docs root');
    });

    it('refuses a symbolic link that resolves outside the root, naming it', async () => {
      const error = await callError('get_section', { path: 'escape.md', anchor: 'outside' });
      expect(error.code).toBe('forbidden');
      expect(error.message).toContain('"escape.md"');
      expect(error.message).toContain('symbolic link');
      expect(error.text).not.toContain('Secret text');
    });

    it('refuses non-Markdown files and hidden folders', async () => {
      const txt = await callError('get_document', { path: 'notes.txt' });
      expect(txt.code).toBe('invalid_input');
      expect(txt.message).toContain('only .md and .markdown');
      const hidden = await callError('get_document', { path: '.drafts/secret.md' });
      expect(hidden.message).toContain('hidden');
    });

    it('refuses traversal through the resource template too', async () => {
      for (const uri of ['docs://..%2Foutside.md', 'docs://%2e%2e/outside.md', 'docs:///etc/passwd.md', 'docs://notes.txt', 'docs://escape.md']) {
        await expect(docs.client.readResource({ uri }), uri).rejects.toThrow(/refused|only \.md/);
      }
    });
  });

  describe('resources', () => {
    it('lists every document under docs://{+path} and the index resource', async () => {
      const { resources } = await docs.client.listResources();
      const uris = resources.map((r) => r.uri);
      expect(uris).toContain('docs://index');
      expect(uris).toContain('docs://reference/api/errors.md');
      expect(uris).toContain('docs://troubleshooting.markdown');
      expect(uris).toContain('docs://status');
      expect(uris.filter((u) => u !== 'docs://index' && u !== 'docs://status')).toHaveLength(8);
      const { resourceTemplates } = await docs.client.listResourceTemplates();
      expect(resourceTemplates.map((t) => t.uriTemplate)).toEqual(['docs://{+path}']);
    });

    it('reads a nested document and the index', async () => {
      const doc = await docs.client.readResource({ uri: 'docs://reference/api/errors.md' });
      expect(doc.contents[0]).toMatchObject({ uri: 'docs://reference/api/errors.md', mimeType: 'text/markdown' });
      expect((doc.contents[0] as { text: string }).text).toContain('## Rate limits');
      const index = await docs.client.readResource({ uri: 'docs://index' });
      const text = (index.contents[0] as { text: string }).text;
      expect(text).toContain('8 documents');
      expect(text).toContain('[API errors](docs://reference/api/errors.md)');
    });

    it('reads one section by its section URI (as search_docs returns it), also in the gateway-namespaced form after the prefix is stripped', async () => {
      const { results } = await search('rate limit 429');
      expect(results[0]).toMatchObject({ uri: 'docs://reference/api/errors.md#rate-limits', document_uri: 'docs://reference/api/errors.md' });
      const section = await docs.client.readResource({ uri: results[0]?.uri ?? '' });
      expect(section.contents).toHaveLength(1);
      expect(section.contents[0]).toMatchObject({ uri: 'docs://reference/api/errors.md#rate-limits', mimeType: 'text/markdown' });
      const text = (section.contents[0] as { text: string }).text;
      expect(text.startsWith('## Rate limits')).toBe(true);
      expect(text).toContain('Retry-After');
      expect(text).not.toContain('## Server errors');
      expect(text).not.toContain('## Client errors');

      // A section with subsections comes with them; the whole document without a fragment.
      const withSubs = (await docs.client.readResource({ uri: 'docs://reference/api/errors.md#client-errors' })).contents[0] as { text: string };
      expect(withSubs.text).toContain('### 404 Not Found');
      expect(withSubs.text).not.toContain('## Rate limits');
      const whole = (await docs.client.readResource({ uri: 'docs://reference/api/errors.md' })).contents[0] as { text: string };
      expect(whole.text).toContain('## Rate limits');
      expect(whole.text).toContain('## Client errors');

      // A .markdown document, and an unknown anchor (named with the valid ones).
      const trouble = (await docs.client.readResource({ uri: 'docs://troubleshooting.markdown#port-already-in-use' })).contents[0] as { text: string };
      expect(trouble.text).toMatch(/^## Port already in use/);
      await expect(docs.client.readResource({ uri: 'docs://troubleshooting.markdown#no-such-section' })).rejects.toThrow(/port-already-in-use/);
    });

    it('reports an unknown document as resource-not-found (-32602 in both eras)', async () => {
      const read = docs.client.readResource({ uri: 'docs://guides/missing.md' });
      await expect(read).rejects.toThrow(/No document "guides\/missing.md"/);
      await expect(read).rejects.toMatchObject({ code: -32602 });
    });

    it('completes document paths', async () => {
      const result = await docs.client.complete({
        ref: { type: 'ref/resource', uri: 'docs://{+path}' },
        argument: { name: 'path', value: 'guides/' },
      });
      expect(result.completion.values).toEqual(['guides/configuration.md', 'guides/deploying.md', 'guides/installing.md']);
      const fuzzy = await docs.client.complete({ ref: { type: 'ref/resource', uri: 'docs://{+path}' }, argument: { name: 'path', value: 'errors' } });
      expect(fuzzy.completion.values).toEqual(['reference/api/errors.md']);
    });

    it('advertises subscriptions and refuses a subscription to a missing document', async () => {
      expect(docs.client.getServerCapabilities()?.resources).toMatchObject({ subscribe: true, listChanged: true });
      // A 2026-07-28 listen filter is not checked URI by URI (the spec has no per-URI refusal); resources/subscribe is.
      if (docs.client.era === 'legacy') await expect(subscribe(docs.client, 'docs://nope.md')).rejects.toThrow(/No document "nope.md" to subscribe to/);
    });
  });
});
