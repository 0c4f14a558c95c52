import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../shared/config.js';
import { packageRoot } from '../shared/packageRoot.js';
import { runMain } from '../shared/runtimeEnv.js';
import { publicUrlFor, setUpGatewayAuth } from './auth/gatewayAuth.js';
import { loadGatewayConfig } from './config/load.js';
import { ManifoldGateway } from './gateway.js';
import { createHttpApp } from './http/app.js';

const USAGE = 'Usage: gateway [--config PATH]  (default: config/gateway.json in the package; env MANIFOLD_GATEWAY_HOST, MANIFOLD_GATEWAY_PORT override listen)';

function parseFlags(argv: readonly string[]): { config: string } {
  try {
    const { values } = parseArgs({ args: [...argv], options: { config: { type: 'string' } }, strict: true, allowPositionals: false });
    return { config: resolve(values.config ?? resolve(packageRoot(), 'config', 'gateway.json')) };
  } catch (error) {
    throw new ConfigError([`${(error as Error).message}. ${USAGE}`]);
  }
}

runMain('gateway', async (logger) => {
  const flags = parseFlags(process.argv.slice(2));
  const config = await loadGatewayConfig(flags.config);
  const gateway = new ManifoldGateway(config, logger);

  // Listen first: the public URL (and so the OAuth resource identifiers) may depend on the bound port.
  let handle: RequestListener = (_req, res) => {
    res.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '1' }).end('{"error":"starting"}');
  };
  const server = createServer((req, res) => handle(req, res));
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 0; // SSE streams and long calls stay open; calls have their own timeouts.
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => resolveListen());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const base = publicUrlFor(config, { host: address.address, port: address.port });
  const dataDir = resolve(process.env.MANIFOLD_DATA_DIR ?? resolve(packageRoot(), 'data'));
  const auth = await setUpGatewayAuth(config, { publicUrl: base, dataDir, access: gateway.access, logger });
  handle = createHttpApp({ gateway, auth, publicUrl: base, logger }).callback();
  logger.info(
    {
      url: `${base}/mcp`,
      base,
      listening: `${host}:${address.port}`,
      config: flags.config,
      auth: config.auth.mode,
      ...(auth.issuer ? { issuer: auth.issuer } : {}),
      upstreams: config.upstreams.map((u) => u.namespace),
    },
    'gateway listening',
  );

  // Upstreams start in parallel after the listener is up: /readyz reports when they are.
  void gateway.start().then(() => logger.info(gateway.readiness(), 'initial upstream start settled'));

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    logger.info({ signal }, 'shutting down: no new sessions or calls; draining in-flight calls');
    gateway.stopAccepting();
    server.close();
    const left = await gateway.drain(config.http.drainTimeoutMs);
    if (left > 0) logger.warn({ left }, `drain timeout (${config.http.drainTimeoutMs} ms): abandoning in-flight calls`);
    await gateway.stop();
    await auth.close();
    server.closeAllConnections();
    logger.info({ ms: Date.now() - started }, 'stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
});
