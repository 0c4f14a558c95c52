import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../gateway/auth/embedded/passwords.js';
import { domainUpstreams, ROOT, startGateway, waitReady, type RunningGateway } from '../gateway/harness.js';
import { conformanceAvailable, GENERIC_SCENARIOS, inspectorAvailable, inspectorCli, runScenario } from './conformanceSuite.js';

describe('clients nobody here wrote, against the OAuth-protected gateway', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'manifold-clients-'));
  let gateway: RunningGateway;
  let token: string;

  beforeAll(async () => {
    gateway = await startGateway(
      {
        auth: { mode: 'oauth', embedded: { users: [{ id: 'ops', email: 'ops@example.com', passwordHash: await hashPassword('operator-password') }] } },
        upstreams: domainUpstreams(dataDir),
      },
      { env: { MANIFOLD_DATA_DIR: dataDir } },
    );
    await waitReady(gateway);
    // The documented way for scripts and the Inspector to get a token.
    token = execFileSync(
      process.execPath,
      [
        join(ROOT, 'dist', 'gateway', 'tokenCommand.js'),
        '--config',
        gateway.configFile,
        '--user',
        'ops',
        '--scope',
        'pm:read pm:write docs:read',
        '--public-url',
        gateway.base,
      ],
      { env: { ...process.env, MANIFOLD_DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'ignore'] },
    )
      .toString()
      .trim();
  });
  afterAll(async () => {
    await gateway?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it.runIf(inspectorAvailable())('the MCP Inspector CLI lists and calls tools, reads resources and gets prompts', async () => {
    const auth = { Authorization: `Bearer ${token}` };
    const tools = (await inspectorCli(gateway.url, ['--method', 'tools/list'], auth)) as { tools: Array<{ name: string }> };
    expect(tools.tools.map((t) => t.name)).toEqual(expect.arrayContaining(['pm__create_task', 'docs__search_docs']));
    const created = (await inspectorCli(
      gateway.url,
      ['--method', 'tools/call', '--tool-name', 'pm__create_task', '--tool-arg', 'title=Filed by the Inspector'],
      auth,
    )) as CallToolResult;
    expect((created.structuredContent as { task: { title: string; created_by: string } }).task).toMatchObject({
      title: 'Filed by the Inspector',
      created_by: 'ops',
    });
    const resource = (await inspectorCli(gateway.url, ['--method', 'resources/read', '--uri', 'pm+project://recent-activity'], auth)) as {
      contents: Array<{ text: string }>;
    };
    expect(resource.contents[0]?.text).toContain('Filed by the Inspector');
    const prompt = (await inspectorCli(gateway.url, ['--method', 'prompts/get', '--prompt-name', 'pm__status_report'], auth)) as { messages: unknown[] };
    expect(prompt.messages.length).toBeGreaterThan(0);
    await expect(inspectorCli(gateway.url, ['--method', 'tools/list'])).rejects.toThrow();
  });

  it('a stdio-only client reaches the gateway through the stdio bridge', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [join(ROOT, 'dist', 'gateway', 'stdioBridge.js'), '--url', gateway.url],
      env: { PATH: process.env.PATH ?? '', MANIFOLD_TOKEN: token, LOG_LEVEL: 'warn' },
      stderr: 'pipe',
    });
    const client = new Client({ name: 'stdio-only-client', version: '1.0.0' });
    await client.connect(transport);
    expect(client.getServerVersion()?.name).toBe('manifold-gateway');
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain('pm__list_tasks');
    const listed = (await client.callTool({ name: 'pm__list_tasks', arguments: {} })) as CallToolResult;
    expect(listed.isError).toBeFalsy();
    const search = (await client.callTool({ name: 'docs__search_docs', arguments: { query: 'gateway' } })) as CallToolResult;
    expect(search.isError).toBeFalsy();
    await client.close();
  });
});

describe.runIf(conformanceAvailable())('MCP conformance suite against the gateway', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'manifold-gw-conformance-'));
  let gateway: RunningGateway;
  beforeAll(async () => {
    // The suite cannot obtain OAuth tokens; it runs against a loopback development gateway.
    gateway = await startGateway({ upstreams: domainUpstreams(dataDir) });
    await waitReady(gateway);
  });
  afterAll(async () => {
    await gateway?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it.each(GENERIC_SCENARIOS)('passes %s', async (scenario) => {
    const outcome = await runScenario(gateway.url, scenario);
    expect(outcome.failed, outcome.output).toBe(0);
    expect(outcome.passed, outcome.output).toBeGreaterThan(0);
  });
});
