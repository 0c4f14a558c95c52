import { describe, expect, it } from 'vitest';
import { SingleUpstreamView, UpstreamCatalog } from '../../../../gateway/catalog/upstreamCatalog.js';
import { capturingLogger, listedUpstream, silentLogger, tool } from '../../support/seams.js';

const prompt = (name: string) => ({ name, description: `${name} prompt` });

describe('the aggregate catalog', () => {
  it('exposes every upstream tool and prompt under <namespace><separator><name>, resolvable to its upstream', () => {
    const pm = listedUpstream('pm', { tools: [tool('create_task'), tool('list_tasks')], prompts: [prompt('plan_sprint')] });
    const docs = listedUpstream('docs', { tools: [tool('search_docs')] });
    const catalog = new UpstreamCatalog([pm, docs], '__', silentLogger);
    catalog.rebuild();

    expect(catalog.tools().map((t) => t.name)).toEqual(['pm__create_task', 'pm__list_tasks', 'docs__search_docs']);
    expect(catalog.tools()[0]).toMatchObject({ description: 'create_task (test tool)' });
    expect(catalog.prompts().map((p) => p.name)).toEqual(['pm__plan_sprint']);
    expect(catalog.resolveTool('docs__search_docs')).toEqual({ upstream: docs, name: 'search_docs' });
    expect(catalog.resolvePrompt('pm__plan_sprint')).toEqual({ upstream: pm, name: 'plan_sprint' });
    expect(catalog.resolveTool('search_docs')).toBeUndefined();
    expect(catalog.resolveTool('pm__search_docs')).toBeUndefined();
    expect(catalog.problems).toEqual([]);
  });

  it('reverses names through its index, so upstream names may contain the separator', () => {
    const pm = listedUpstream('pm', { tools: [tool('bulk__update')] });
    const catalog = new UpstreamCatalog([pm], '__', silentLogger);
    catalog.rebuild();
    expect(catalog.resolveTool('pm__bulk__update')).toEqual({ upstream: pm, name: 'bulk__update' });
  });

  it('uses the configured separator', () => {
    const gh = listedUpstream('gh', { tools: [tool('list_issues')] });
    const catalog = new UpstreamCatalog([gh], '-', silentLogger);
    catalog.rebuild();
    expect(catalog.tools().map((t) => t.name)).toEqual(['gh-list_issues']);
    expect(catalog.resolveTool('gh-list_issues')?.name).toBe('list_issues');
  });

  it('leaves out a colliding name on every side, reports it in problems and logs it once', () => {
    // With "-" as separator (namespaces may contain "-"), "a" + "b-c" and "a-b" + "c" both become "a-b-c".
    const a = listedUpstream('a', { tools: [tool('b-c'), tool('kept')] });
    const ab = listedUpstream('a-b', { tools: [tool('c')] });
    const { logger, lines } = capturingLogger();
    const catalog = new UpstreamCatalog([a, ab], '-', logger);
    catalog.rebuild();

    expect(catalog.tools().map((t) => t.name)).toEqual(['a-kept']);
    expect(catalog.resolveTool('a-b-c')).toBeUndefined();
    expect(catalog.problems).toEqual([
      'tool name "a-b-c" is claimed by "b-c" of "a" and "c" of "a-b"; none of them is exposed. ' +
        'Use a separator that cannot occur in namespaces (the default "__"), or deny one.',
    ]);
    expect(lines.filter((line) => line.level === 50).map((line) => line.problem)).toEqual(catalog.problems);

    // A rebuild with the same problem does not log it again.
    catalog.rebuild();
    expect(lines.filter((line) => line.level === 50)).toHaveLength(1);
  });

  it('leaves out names too long or with characters a model API refuses, saying what to do', () => {
    const pm = listedUpstream('pm', { tools: [tool('x'.repeat(61)), tool('has.dot'), tool('fine')], prompts: [prompt('p'.repeat(70))] });
    const catalog = new UpstreamCatalog([pm], '__', silentLogger);
    catalog.rebuild();

    expect(catalog.tools().map((t) => t.name)).toEqual(['pm__fine']);
    expect(catalog.prompts()).toEqual([]);
    expect(catalog.problems).toEqual([
      `tool "${'x'.repeat(61)}" of upstream "pm" is not exposed: its gateway name "pm__${'x'.repeat(61)}" is 65 characters long (the limit is 64). ` +
        'Shorten the namespace or the tool name, or deny it in the configuration.',
      'tool "has.dot" of upstream "pm" is not exposed: its gateway name "pm__has.dot" contains characters outside A-Z a-z 0-9 _ -. ' +
        'Shorten the namespace or the tool name, or deny it in the configuration.',
      `prompt "${'p'.repeat(70)}" of upstream "pm" is not exposed: its gateway name "pm__${'p'.repeat(70)}" is 74 characters long (the limit is 64). ` +
        'Shorten the namespace or the prompt name, or deny it in the configuration.',
    ]);
  });

  it('says which lists changed on a rebuild, and clears a problem once it is fixed', () => {
    const pm = listedUpstream('pm', { tools: [tool('a')] });
    const catalog = new UpstreamCatalog([pm], '__', silentLogger);
    expect(catalog.rebuild()).toEqual({ tools: true, prompts: false, resourceTemplates: false });
    expect(catalog.rebuild()).toEqual({ tools: false, prompts: false, resourceTemplates: false });

    pm.tools = [tool('a'), tool('bad name')];
    expect(catalog.rebuild()).toEqual({ tools: false, prompts: false, resourceTemplates: false });
    expect(catalog.problems).toHaveLength(1);

    pm.tools = [tool('a'), tool('good_name')];
    pm.resourceTemplates = [{ name: 'task', uriTemplate: 'project://tasks/{id}' }];
    expect(catalog.rebuild()).toEqual({ tools: true, prompts: false, resourceTemplates: true });
    expect(catalog.problems).toEqual([]);
  });

  it('namespaces resource templates and resolves exposed URIs back to their upstream', () => {
    const pm = listedUpstream('pm', { resourceTemplates: [{ name: 'task', uriTemplate: 'project://tasks/{id}' }] });
    const docs = listedUpstream('docs', {});
    const catalog = new UpstreamCatalog([pm, docs], '__', silentLogger);
    catalog.rebuild();

    expect(catalog.resourceTemplates()).toEqual([{ name: 'task', uriTemplate: 'pm+project://tasks/{id}' }]);
    expect(catalog.exposeUri('docs', 'docs://guides/setup.md#install')).toBe('docs+docs://guides/setup.md#install');
    expect(catalog.resolveUri('pm+project://tasks/42')).toEqual({ upstream: pm, uri: 'project://tasks/42' });
    expect(catalog.resolveUri('docs+docs://guides/setup.md#install')).toEqual({ upstream: docs, uri: 'docs://guides/setup.md#install' });
    // No such namespace, or no namespace at all: not the gateway's to resolve.
    expect(catalog.resolveUri('gh+repo://octo/hello')).toBeUndefined();
    expect(catalog.resolveUri('project://tasks/42')).toBeUndefined();
    expect(catalog.loggerName('pm', 'store')).toBe('pm/store');
    expect(catalog.loggerName('pm', undefined)).toBe('pm');
  });

  it("lists the gateway's own tools beside the upstreams', but never over an upstream tool of the same name", () => {
    const flow = listedUpstream('flow', { tools: [tool('triage')] });
    const catalog = new UpstreamCatalog([flow], '__', silentLogger);
    catalog.setVirtualTools({ namespace: 'flow', tools: () => [tool('triage'), tool('sync_task')] });

    expect(catalog.tools().map((t) => t.name)).toEqual(['flow__triage', 'flow__sync_task']);
    expect(catalog.resolveVirtualTool('flow__sync_task')).toBe('sync_task');
    expect(catalog.resolveVirtualTool('flow__triage')).toBeUndefined();
    expect(catalog.resolveTool('flow__triage')?.upstream).toBe(flow);
    expect(catalog.problems).toEqual(['composite tool "triage" is not exposed: its gateway name "flow__triage" is already taken.']);
  });

  it('serves only what the tool gate lets through and says why the rest is held back', () => {
    const pm = listedUpstream('pm', { tools: [tool('create_task'), tool('delete_all')] });
    const catalog = new UpstreamCatalog([pm], '__', silentLogger);
    catalog.setToolGate((upstream) => ({
      serve: upstream.tools.filter((t) => t.name !== 'delete_all'),
      withheld: [{ tool: 'delete_all', reason: 'its definition changed; an operator must approve it' }],
    }));
    catalog.rebuild();

    expect(catalog.tools().map((t) => t.name)).toEqual(['pm__create_task']);
    expect(catalog.resolveTool('pm__delete_all')).toBeUndefined();
    expect(catalog.withheldReason('pm__delete_all')).toBe('its definition changed; an operator must approve it');
    expect(catalog.isWithheld('pm', 'delete_all')).toBe(true);
    expect(catalog.isWithheld('pm', 'create_task')).toBe(false);
  });
});

describe('one upstream alone (/servers/{namespace}/mcp)', () => {
  it("shows the upstream's own names and URIs, without the withheld tools of the aggregate", () => {
    const pm = listedUpstream('pm', {
      tools: [tool('create_task'), tool('delete_all')],
      prompts: [prompt('plan_sprint')],
      resourceTemplates: [{ name: 'task', uriTemplate: 'project://tasks/{id}' }],
    });
    const aggregate = new UpstreamCatalog([pm], '__', silentLogger);
    aggregate.setToolGate((upstream) => ({ serve: upstream.tools.slice(0, 1), withheld: [{ tool: 'delete_all', reason: 'changed' }] }));
    aggregate.rebuild();
    const view = new SingleUpstreamView(pm, aggregate);

    expect(view.namespace).toBe('pm');
    expect(view.tools().map((t) => t.name)).toEqual(['create_task']);
    expect(view.resolveTool('create_task')).toEqual({ upstream: pm, name: 'create_task' });
    expect(view.resolveTool('pm__create_task')).toBeUndefined();
    expect(view.resolveTool('delete_all')).toBeUndefined();
    expect(view.withheldReason('delete_all')).toBe('changed');
    expect(view.resolvePrompt('plan_sprint')).toEqual({ upstream: pm, name: 'plan_sprint' });
    expect(view.resourceTemplates()).toEqual([{ name: 'task', uriTemplate: 'project://tasks/{id}' }]);
    expect(view.exposeUri('pm', 'project://tasks/1')).toBe('project://tasks/1');
    expect(view.resolveUri('project://tasks/1')).toEqual({ upstream: pm, uri: 'project://tasks/1' });
    expect(view.includes('pm')).toBe(true);
    expect(view.includes('docs')).toBe(false);
    expect(view.loggerName('pm', 'store')).toBe('store');
  });
});
