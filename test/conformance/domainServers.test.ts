import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpServer, tempDir, type HttpServerProcess } from '../support/processes.js';
import { conformanceAvailable, GENERIC_SCENARIOS, runScenario } from './conformanceSuite.js';

const servers = [
  { name: 'project-management', entry: 'servers/project-management/main.js' },
  { name: 'github', entry: 'servers/github/main.js' },
  { name: 'docs', entry: 'servers/docs/main.js' },
];

describe.runIf(conformanceAvailable()).each(servers)('MCP conformance suite against the $name server', ({ entry }) => {
  const data = tempDir('conformance');
  let server: HttpServerProcess;
  beforeAll(async () => {
    // GitHub is never contacted by the generic scenarios; point it at a closed port to be sure.
    server = await startHttpServer(entry, { MANIFOLD_DATA_DIR: data.path, GITHUB_API_URL: 'http://127.0.0.1:9' });
  });
  afterAll(async () => {
    await server?.stop();
    data.remove();
  });

  it.each(GENERIC_SCENARIOS)('passes %s', async (scenario) => {
    const outcome = await runScenario(server.url, scenario);
    expect(outcome.failed, outcome.output).toBe(0);
    expect(outcome.passed, outcome.output).toBeGreaterThan(0);
  });
});
