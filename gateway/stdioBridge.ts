import { parseArgs } from 'node:util';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { isJSONRPCResultResponse, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { ConfigError } from '../shared/config.js';
import { runMain } from '../shared/runtimeEnv.js';
import { DEFAULT_LIST_LIMITS, ListGathering } from './stdioBridgeLists.js';

/**
 * A stdio bridge for clients that can only launch local servers: it speaks MCP over stdio to
 * the client and Streamable HTTP to a Manifold gateway, passing every message through
 * unchanged (requests, responses, notifications, and the gateway's own requests such as
 * sampling), except that a list request without a cursor is answered with every page
 * (`stdioBridgeLists.ts`), for clients that never follow `nextCursor`. The access token comes from an environment variable, never from the command line.
 *
 *   MANIFOLD_TOKEN=$(npm run -s token -- --user admin --scope "pm:read") \
 *     node dist/gateway/stdioBridge.js --url http://127.0.0.1:8080/mcp
 */
const USAGE = 'Usage: stdioBridge --url http://127.0.0.1:8080/mcp [--token-env MANIFOLD_TOKEN] [--max-list-pages 1000]';

runMain('stdio-bridge', async (logger) => {
  let values: { url?: string; 'token-env'?: string; 'max-list-pages'?: string };
  try {
    ({ values } = parseArgs({
      args: process.argv.slice(2),
      options: { url: { type: 'string' }, 'token-env': { type: 'string' }, 'max-list-pages': { type: 'string' } },
      strict: true,
    }));
  } catch (error) {
    throw new ConfigError([`${(error as Error).message}. ${USAGE}`]);
  }
  if (!values.url || !URL.canParse(values.url))
    throw new ConfigError([`--url: the gateway's MCP endpoint is required, e.g. http://127.0.0.1:8080/mcp. ${USAGE}`]);
  const maxPages = Number(values['max-list-pages'] ?? DEFAULT_LIST_LIMITS.maxPages);
  if (!Number.isInteger(maxPages) || maxPages < 1)
    throw new ConfigError([`--max-list-pages: a whole number of pages of at least 1, got "${values['max-list-pages']}". ${USAGE}`]);
  const tokenEnv = values['token-env'] ?? 'MANIFOLD_TOKEN';
  const token = process.env[tokenEnv];
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  if (!token) logger.warn({ tokenEnv }, 'no access token in the environment: requests go unauthenticated (works only with a loopback development gateway)');

  const upstream = new StreamableHTTPClientTransport(new URL(values.url), { requestInit: { headers } });
  const local = new StdioServerTransport();
  const lists = new ListGathering(
    (message) => upstream.send(message),
    (message) => void local.send(message),
    { ...DEFAULT_LIST_LIMITS, maxPages },
  );
  let initializeId: string | number | undefined;
  let closing = false;
  const close = async (reason: string): Promise<void> => {
    if (closing) return;
    closing = true;
    logger.info({ reason }, 'bridge closing');
    await upstream.close().catch(() => undefined);
    await local.close().catch(() => undefined);
    process.exit(0);
  };

  local.onmessage = (message: JSONRPCMessage) => {
    if ('method' in message && message.method === 'initialize' && 'id' in message) initializeId = message.id;
    if (lists.fromClient(message)) return;
    upstream.send(message).catch((error: unknown) => {
      logger.error({ err: error }, 'gateway request failed');
      if ('id' in message && 'method' in message) {
        const detail = error instanceof Error ? error.message : String(error);
        void local.send({ jsonrpc: '2.0', id: message.id, error: { code: -32000, message: `The gateway did not accept the request: ${detail}` } });
      }
    });
  };
  upstream.onmessage = (message: JSONRPCMessage) => {
    // After initialize, later requests must carry MCP-Protocol-Version (Streamable HTTP).
    if (initializeId !== undefined && isJSONRPCResultResponse(message) && message.id === initializeId) {
      const version = (message.result as { protocolVersion?: unknown }).protocolVersion;
      if (typeof version === 'string') upstream.setProtocolVersion(version);
    }
    if (lists.fromGateway(message)) return;
    void local.send(message);
  };
  upstream.onerror = (error) => logger.warn({ err: error }, 'gateway stream error');
  local.onclose = () => void close('client closed stdin');
  upstream.onclose = () => void close('gateway closed the session');
  process.stdin.once('end', () => void close('client closed stdin'));

  await upstream.start();
  await local.start();
  logger.info({ url: values.url }, 'bridging stdio to the gateway');
});
