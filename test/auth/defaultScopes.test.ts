import { describe, expect, it } from 'vitest';
import { defaultScopesOf, GatewayResources } from '../../gateway/compose/gatewayAuth.js';
import { viewDefaultScopes } from '../../gateway/auth/gatewayResources.js';
import { parseGatewayConfig } from '../../gateway/config/load.js';
import { ConfigError } from '../../shared/config.js';

const upstreams = [
  { namespace: 'pm', stdio: { command: 'node', args: ['pm.js'] } },
  { namespace: 'docs', stdio: { command: 'node', args: ['docs.js'] } },
];

describe('the least-privilege default scopes', () => {
  it('are read and write of every namespace, never admin, unless auth.defaultScopes says otherwise', () => {
    expect(defaultScopesOf(parseGatewayConfig({ auth: { mode: 'oauth' }, upstreams }, 'gateway.json'))).toEqual([
      'pm:read',
      'pm:write',
      'docs:read',
      'docs:write',
    ]);
    expect(defaultScopesOf(parseGatewayConfig({ auth: { mode: 'oauth', defaultScopes: ['pm:read', 'docs:read'] }, upstreams }, 'gateway.json'))).toEqual([
      'pm:read',
      'docs:read',
    ]);
  });

  it('refuses a configured scope of no upstream, and one that is not a gateway scope, naming it', () => {
    const foreign = parseGatewayConfig({ auth: { mode: 'oauth', defaultScopes: ['pm:read', 'github:read'] }, upstreams }, 'gateway.json');
    expect(() => defaultScopesOf(foreign)).toThrow(ConfigError);
    expect(() => defaultScopesOf(foreign)).toThrow(/auth\.defaultScopes: "github:read" name no upstream; namespaces here: pm, docs/);
    expect(() => parseGatewayConfig({ auth: { mode: 'oauth', defaultScopes: ['pm:everything'] }, upstreams }, 'gateway.json')).toThrow(/defaultScopes/);
  });

  it("are named per endpoint: all of them on the gateway, a namespace's own on its endpoint, a view's own on it", () => {
    const defaults = ['pm:read', 'pm:write', 'docs:read'];
    const triage = viewDefaultScopes(
      { tools: ['pm__list_tasks', { tool: 'flow__triage_issues' }], prompts: [], resources: [], scopes: ['view:triage'] },
      { separator: '__', defaultScopes: defaults, workflowNamespace: 'flow', workflowUpstreams: ['pm', 'github'] },
    );
    expect(triage).toEqual(['view:triage', 'pm:read', 'pm:write']);
    expect(
      viewDefaultScopes({ tools: [], prompts: [], resources: ['docs'], scopes: [] }, { separator: '__', defaultScopes: defaults, workflowUpstreams: [] }),
    ).toEqual(['docs:read']);
    const resources = new GatewayResources('https://mcp.example.com', ['pm', 'docs'], defaults, new Map([['triage', triage]]));
    expect(resources.resourceFor('/mcp').defaultScopes).toEqual(['pm:read', 'pm:write', 'docs:read']);
    expect(resources.resourceFor('/servers/docs/mcp').defaultScopes).toEqual(['docs:read']);
    expect(resources.resourceFor('/views/triage/mcp').defaultScopes).toEqual(['view:triage', 'pm:read', 'pm:write']);
    // A view the gateway does not know (a 404 follows) is challenged with the gateway's set.
    expect(resources.resourceFor('/views/other/mcp').defaultScopes).toEqual(defaults);
    // A namespace the configured default leaves out: its read scope, never nothing (which would send clients to scopes_supported).
    expect(new GatewayResources('https://mcp.example.com', ['pm', 'docs'], ['pm:read']).resourceFor('/servers/docs/mcp').defaultScopes).toEqual(['docs:read']);
  });
});
