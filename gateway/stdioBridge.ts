import { parseArgs } from 'node:util';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { isJSONRPCResultResponse, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { ConfigError } from '../shared/config.js';
import { runMain } from '../shared/runtimeEnv.js';

/**
 * A stdio bridge for clients that can only launch local servers: it speaks MCP over stdio to
 * the client and Streamable HTTP to a Manifold gateway, passing every message through
 * unchanged (requests, responses, notifications, and the gateway's own requests such as
 * sampling). The access token comes from an environment variable, never from the command line.
 *
 *   MANIFOLD_TOKEN=$(npm run -s token -- --user admin --scope "pm:read") \
 *     node dist/gateway/stdioBridge.js --url http://127.0.0.1:8080/mcp
 */
const USAGE = 'Usage: stdioBridge --url http://127.0.0.1:8080/mcp [--token-env MANIFOLD_TOKEN]';

runMain('stdio-bridge', async (logger) => {
  let values: { url?: string; 'token-env'?: string };
  try {
    ({ values } = parseArgs({ args: process.argv.slice(2), options: { url: { type: 'string' }, 'token-env': { type: 'string' } }, strict: true }));
  } catch (error) {
    throw new ConfigError([`${(error as Error).message}. ${USAGE}`]);
  }
  if (!values.url || !URL.canParse(values.url)) throw new ConfigError([`--url: the gateway's MCP endpoint is required, e.g. http://127.0.0.1:8080/mcp. ${USAGE}`]);
  const tokenEnv = values['token-env'] ?? 'MANIFOLD_TOKEN';
  const token = process.env[tokenEnv];
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  if (!token) logger.warn({ tokenEnv }, 'no access token in the environment: requests go unauthenticated (works only with a loopback development gateway)');

  const upstream = new StreamableHTTPClientTransport(new URL(values.url), { requestInit: { headers } });
  const local = new StdioServerTransport();
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
