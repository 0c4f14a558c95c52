import { describe, expect, it } from 'vitest';
import { UpstreamCatalog } from '../../../../gateway/catalog/upstreamCatalog.js';
import { CuratedView, viewProblems } from '../../../../gateway/views/curatedView.js';
import { viewSchema } from '../../../../gateway/views/viewSettings.js';
import { listedUpstream, silentLogger, tool } from '../../support/seams.js';

function catalog(): UpstreamCatalog {
  const pm = listedUpstream('pm', {
    tools: [tool('create_task'), tool('list_tasks'), tool('delete_all')],
    prompts: [{ name: 'plan_sprint' }],
    resourceTemplates: [{ name: 'task', uriTemplate: 'project://tasks/{id}' }],
  });
  const docs = listedUpstream('docs', { tools: [tool('search_docs')], resourceTemplates: [{ name: 'page', uriTemplate: 'docs://{path}' }] });
  const gh = listedUpstream('gh', { tools: [tool('list_issues')] });
  const built = new UpstreamCatalog([pm, docs, gh], '__', silentLogger);
  built.rebuild();
  return built;
}

const triage = viewSchema.parse({
  name: 'triage',
  tools: ['pm__list_tasks', { tool: 'docs__search_docs', as: 'find_docs', description: 'Find where something is documented.' }, 'pm__missing'],
  prompts: ['pm__plan_sprint'],
  resources: ['docs'],
});

describe('a curated view over the catalog', () => {
  it('shows only the tools it names, renamed and re-described where it says, and resolves them to their upstream', () => {
    const aggregate = catalog();
    const view = new CuratedView(triage, aggregate);
    expect(view.tools().map((t) => [t.name, t.description])).toEqual([
      ['pm__list_tasks', 'list_tasks (test tool)'],
      ['find_docs', 'Find where something is documented.'],
    ]);
    expect(view.resolveTool('find_docs')).toEqual({ upstream: aggregate.upstream('docs'), name: 'search_docs' });
    expect(view.aggregateName('find_docs')).toBe('docs__search_docs');
    expect(view.resolveTool('docs__search_docs')).toBeUndefined();
    expect(view.resolveTool('pm__create_task')).toBeUndefined();
  });

  it('shows the prompts and resource namespaces it names, and only those', () => {
    const view = new CuratedView(triage, catalog());
    expect(view.prompts().map((p) => p.name)).toEqual(['pm__plan_sprint']);
    expect(view.resolvePrompt('pm__plan_sprint')?.name).toBe('plan_sprint');
    expect(view.resourceTemplates().map((t) => t.uriTemplate)).toEqual(['docs+docs://{path}']);
    expect(view.resolveUri('docs+docs://guide.md')?.uri).toBe('docs://guide.md');
    expect(view.resolveUri('pm+project://tasks/1')).toBeUndefined();
    expect(view.upstreams().map((u) => u.namespace)).toEqual(['pm', 'docs']);
    expect(view.includes('gh')).toBe(false);
  });

  it('shows nothing once removed from the configuration', () => {
    const view = new CuratedView(triage, catalog());
    view.active = false;
    expect(view.tools()).toEqual([]);
    expect(view.prompts()).toEqual([]);
    expect(view.resourceTemplates()).toEqual([]);
    expect(view.resolveTool('find_docs')).toBeUndefined();
    expect(view.resolveUri('docs+docs://guide.md')).toBeUndefined();
  });

  it('reports each reference the catalog does not have, with its place in the configuration', () => {
    const broken = viewSchema.parse({ name: 'broken', tools: ['pm__list_tasks', 'pm__nope'], prompts: ['docs__nothing'], resources: ['wiki'] });
    expect(viewProblems([triage, broken], catalog(), '__', () => true)).toEqual([
      'views[0].tools[2]: "pm__missing" does not exist; views name tools as tools/list on /mcp shows them (e.g. "pm__create_task").',
      'views[1].tools[1]: "pm__nope" does not exist; views name tools as tools/list on /mcp shows them (e.g. "pm__create_task").',
      'views[1].prompts[0]: "docs__nothing" does not exist; use a name prompts/list on /mcp shows.',
      'views[1].resources[0]: "wiki" is not an upstream namespace (known: pm, docs, gh).',
    ]);
  });

  it('leaves references to an upstream not up yet to be checked when it is', () => {
    expect(viewProblems([triage], catalog(), '__', (namespace) => namespace !== 'pm')).toEqual([]);
  });
});
