import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { fixtureUpstream } from '../gateway/harness.js';

/** The fixture upstream with its policy tools (counted_read, bump, announce, big, fixture://counted). */
export function policyFixture(namespace = 'fx'): Record<string, unknown> {
  return fixtureUpstream(namespace, {}, { FIXTURE_POLICY: '1' });
}

/** An SDK client that sends a bearer token on every request. */
export async function connectWithToken(url: string, token: string | undefined): Promise<Client> {
  const client = new Client({ name: 'production-test', version: '1.0.0' });
  const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}

export interface ToolResult {
  isError?: boolean;
  content: Array<{ type: string; text?: string }>;
  _meta?: Record<string, Record<string, unknown>>;
}

export async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<ToolResult> {
  return (await client.callTool({ name, arguments: args })) as ToolResult;
}

export function text(result: ToolResult): string {
  return result.content.map((block) => block.text ?? '').join('');
}

export function failure(result: ToolResult): Record<string, unknown> {
  return result._meta?.['io.manifold/failure'] ?? {};
}
