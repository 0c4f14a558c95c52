import { Client as V2Client } from '@modelcontextprotocol/client';
import { StdioClientTransport as V2StdioTransport } from '@modelcontextprotocol/client/stdio';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as V1StdioTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { LoggingMessageNotificationSchema, type LoggingMessageNotification } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childEnv, distEntry } from '../support/processes.js';
import { FakeGithubApi, FIXTURE_TOKENS } from './fakeGithubApi.js';
import { GITHUB_ENTRY, parseLogs } from './harness.js';

type LogMessage = LoggingMessageNotification['params'];
const SECRET = 'ghp_doNotLogThisArgument000000000000000';

/**
 * The GitHub server reports each tool call: as MCP notifications/message at or above the level
 * the client chose (2025-11-25: logging/setLevel for the session; 2026-07-28: the request's
 * `_meta` io.modelcontextprotocol/logLevel), and to stderr at debug without arguments.
 */
describe('tool-call logging of the GitHub server', () => {
  let api: FakeGithubApi;
  let env: Record<string, string>;

  beforeAll(async () => {
    api = new FakeGithubApi();
    await api.start();
    env = childEnv({
      GITHUB_API_URL: api.url,
      GITHUB_TOKEN: FIXTURE_TOKENS.write,
      GITHUB_REPOSITORY: 'acme/widgets',
      GITHUB_REQUEST_RETRIES: '0',
      LOG_LEVEL: 'debug',
    });
  });

  afterAll(async () => {
    await api?.stop();
  });

  it("2025-11-25: messages at and above the session's level, none below; stderr names tool, duration and outcome, never arguments", async () => {
    let stderr = '';
    const transport = new V1StdioTransport({ command: process.execPath, args: [distEntry(GITHUB_ENTRY)], env, stderr: 'pipe' });
    transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const client = new V1Client({ name: 'logging-test', version: '1.0.0' });
    const messages: LogMessage[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void messages.push(n.params));
    await client.connect(transport);
    try {
      await client.setLoggingLevel('warning');
      await client.callTool({ name: 'get_issue', arguments: { issue_number: 1 } });
      const missing = await client.callTool({ name: 'get_issue', arguments: { issue_number: 999 } });
      expect(missing.isError).toBe(true);
      expect(messages.map((m) => [m.level, (m.data as { tool: string; outcome: string }).tool, (m.data as { outcome: string }).outcome])).toEqual([
        ['warning', 'get_issue', 'not_found'],
      ]);

      messages.length = 0;
      await client.setLoggingLevel('debug');
      await client.callTool({ name: 'comment_on_issue', arguments: { issue_number: 2, body: `token ${SECRET}` } });
      expect(messages.map((m) => [m.level, (m.data as { tool: string }).tool, (m.data as { outcome: string }).outcome])).toEqual([
        ['debug', 'comment_on_issue', 'ok'],
      ]);
      expect(JSON.stringify(messages)).not.toContain(SECRET);

      const calls = parseLogs(stderr).filter((line) => line.msg === 'tool call');
      expect(calls.map((line) => [line.tool, line.outcome])).toEqual([
        ['get_issue', 'ok'],
        ['get_issue', 'not_found'],
        ['comment_on_issue', 'ok'],
      ]);
      for (const line of calls) {
        expect(typeof line.ms).toBe('number');
        expect(line.level).toBe(20);
        expect(Object.keys(line)).not.toContain('arguments');
      }
      expect(stderr).not.toContain(SECRET);
    } finally {
      await client.close();
    }
  });

  it('2026-07-28: the level a request carries decides; a request without one gets no messages', async () => {
    const client = new V2Client({ name: 'logging-test', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    const messages: LogMessage[] = [];
    client.setNotificationHandler('notifications/message', (n) => void messages.push(n.params as LogMessage));
    await client.connect(new V2StdioTransport({ command: process.execPath, args: [distEntry(GITHUB_ENTRY)], env, stderr: 'ignore' }));
    try {
      const level = (value: string) => ({ 'io.modelcontextprotocol/logLevel': value });
      await client.callTool({ name: 'get_issue', arguments: { issue_number: 1 }, _meta: level('warning') });
      await client.callTool({ name: 'get_issue', arguments: { issue_number: 999 }, _meta: level('warning') });
      await client.callTool({ name: 'get_issue', arguments: { issue_number: 999 } });
      await client.callTool({ name: 'get_issue', arguments: { issue_number: 1 }, _meta: level('debug') });
      expect(messages.map((m) => [m.level, (m.data as { outcome: string }).outcome])).toEqual([
        ['warning', 'not_found'],
        ['debug', 'ok'],
      ]);
    } finally {
      await client.close();
    }
  });
});
