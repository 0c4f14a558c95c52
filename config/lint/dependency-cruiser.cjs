/**
 * Import boundaries of the repository, checked by `npm run lint` (dependency-cruiser). Type-only
 * imports count like any other.
 *
 * The gateway's folders form layers; a module may import its own folder and the layers below
 * it, never a layer above. From the top:
 */
const GATEWAY_LAYERS = [
  'compose', //       the composition root's helpers (with the entry points gateway/*.ts)
  'cluster', //       Redis-backed sharing between instances, wired onto sessions and policy
  'http', //          Koa app, routes, media types, operator page: writes every response
  'session', //       the gateway core, client sessions (2025) and stateless requests (2026), MCP methods
  'config', //        the configuration file: assembles every subsystem's settings
  'workflows', //     composite tools built on the call pipeline
  'views', //         curated views of the catalog
  'observability', // call records, audit, metrics, tracing stages
  'policy', //        authorization, limits, cache, validation stages
  'auth', //          token verification, scopes, the embedded authorization server
  'integrity', //     tool pins
  'limits', //        rate-limit counters (memory, Redis)
  'calls', //         one call's context, pipeline types and errors
  'catalog', //       naming and resolution of aggregated tools, prompts, resources
  'upstreams', //     upstream connections: supervision, transports, routing
  'oauth', //         OAuth client-side helpers (issuer discovery)
  'redis', //         the Redis connection every shared feature uses, and its health
];

const forbidden = [
  { name: 'no-circular', comment: 'No import cycles, of files or through type-only imports.', severity: 'error', from: {}, to: { circular: true } },
  {
    name: 'shared-stays-below',
    comment: 'shared/ is used by servers and gateway and imports neither.',
    severity: 'error',
    from: { path: '^shared/' },
    to: { path: '^(gateway|servers)/' },
  },
  {
    name: 'servers-stay-independent',
    comment: 'A domain server imports shared/ and its own folder only.',
    severity: 'error',
    from: { path: '^servers/([^/]+)/' },
    to: { path: '^(gateway/|servers/)', pathNot: '^servers/$1/' },
  },
  {
    name: 'product-never-imports-tests',
    severity: 'error',
    from: { path: '^(gateway|servers|shared)/' },
    to: { path: '^test/' },
  },
];

GATEWAY_LAYERS.forEach((folder, rank) => {
  const above = GATEWAY_LAYERS.slice(0, rank);
  if (above.length === 0) return;
  forbidden.push({
    name: `no-upward-import-from-${folder}`,
    comment: `gateway/${folder}/ may import only the layers below it: ${GATEWAY_LAYERS.slice(rank + 1).join(', ')}, and shared/.`,
    severity: 'error',
    from: { path: `^gateway/${folder}/` },
    to: { path: `^gateway/(${above.join('|')})/|^gateway/[^/]+\\.ts$` },
  });
});

forbidden.push({
  name: 'gateway-folders-are-layered',
  comment: 'Every gateway folder has a place in GATEWAY_LAYERS (config/lint/dependency-cruiser.cjs).',
  severity: 'error',
  from: { path: '^gateway/[^/]+/', pathNot: `^gateway/(${GATEWAY_LAYERS.join('|')})/` },
  to: {},
});

module.exports = {
  forbidden,
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|config/lint)/' },
  },
};
