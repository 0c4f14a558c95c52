import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError } from '../shared/config.js';
import { runMain } from '../shared/runtimeEnv.js';
import { createAuthenticator } from './auth/authenticate.js';
import { loadGatewayConfig } from './config/load.js';
import { ManifoldGateway } from './gateway.js';
import { createHttpApp } from './http/app.js';

const USAGE = 'Usage: gateway [--config PATH]  (default: config/gateway.json in the package; env MANIFOLD_GATEWAY_HOST, MANIFOLD_GATEWAY_PORT override listen)';

/** The package root: this file is dist/gateway/main.js (or gateway/main.ts under a TS runner). */
function packageRoot(): string {
  const parent = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  return basename(parent) === 'dist' ? resolve(parent, '..') : parent;
}

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
  const app = createHttpApp({ gateway, authenticator: createAuthenticator(config), logger });

  const server = createServer(app.callback());
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 0; // SSE streams and long calls stay open; calls have their own timeouts.
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => resolveListen());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const base = `http://${host}:${address.port}`;
  logger.info(
    { url: `${base}/mcp`, base, config: flags.config, auth: config.auth.mode, upstreams: config.upstreams.map((u) => u.namespace) },
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
    server.closeAllConnections();
    logger.info({ ms: Date.now() - started }, 'stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
});
