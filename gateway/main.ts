import { createHmac } from 'node:crypto';
import { unwatchFile, watchFile } from 'node:fs';
import { createServer, type RequestListener } from 'node:http';
import nodeModule from 'node:module';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { ConfigError, isLoopbackHost } from '../shared/config.js';
import { packageRoot } from '../shared/packageRoot.js';
import { privateDataDir } from '../shared/privateData.js';
import { loadRequestStateKey } from '../shared/requestStateKey.js';
import { runMain } from '../shared/runtimeEnv.js';
import { SignInThrottle } from './auth/embedded/signInThrottle.js';
import { publicUrlFor, setUpGatewayAuth } from './compose/gatewayAuth.js';
import { loadGatewayConfig } from './config/load.js';
import { ManifoldGateway, RELAYED_INPUT_TTL_SECONDS } from './session/gatewayCore.js';
import { createHttpApp } from './http/app.js';
import { createPolicyStack } from './compose/policyStack.js';
import { viewProblems } from './views/curatedView.js';
import { openConfiguredRedisLink } from './redis/configuredRedis.js';
import { ToolPins, toolPinsFile } from './integrity/toolPins.js';
import type { GatewayConfig } from './config/schema.js';

const USAGE = 'Usage: gateway [--config PATH]  (default: config/gateway.json in the package; env MANIFOLD_GATEWAY_HOST, MANIFOLD_GATEWAY_PORT override listen)';

function parseFlags(argv: readonly string[]): { config: string } {
  try {
    const { values } = parseArgs({ args: [...argv], options: { config: { type: 'string' } }, strict: true, allowPositionals: false });
    return { config: resolve(values.config ?? resolve(packageRoot(), 'config', 'gateway.json')) };
  } catch (error) {
    throw new ConfigError([`${(error as Error).message}. ${USAGE}`]);
  }
}

/**
 * The gateway's key for relayed requestState, derived from the process's request-state key
 * (MANIFOLD_REQUEST_STATE_KEY, or the key file in the data directory that replicas share), so
 * that it differs from the key the project-management child seals its own state with.
 */
function relayedInputKey(dataDir: string): Uint8Array {
  const base = loadRequestStateKey({ configured: process.env.MANIFOLD_REQUEST_STATE_KEY, dataDir });
  return createHmac('sha256', base).update('manifold gateway: relayed input state').digest();
}

/**
 * MANIFOLD_RELAYED_INPUT_TTL_SECONDS: how long a 2026 client may take to answer an upstream's
 * input request and retry with the requestState the gateway sealed (default 600). Every
 * instance a retry may reach should use the same value.
 */
function relayedInputTtlSeconds(): number | undefined {
  const raw = process.env.MANIFOLD_RELAYED_INPUT_TTL_SECONDS;
  if (raw === undefined || raw.trim() === '') return undefined;
  const seconds = Number(raw);
  if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > 86_400) {
    throw new ConfigError([
      `MANIFOLD_RELAYED_INPUT_TTL_SECONDS: must be a whole number of seconds from 1 to 86400 (default ${RELAYED_INPUT_TTL_SECONDS}); got "${raw}"`,
    ]);
  }
  return seconds;
}

/**
 * Node 22.1 and later keep compiled modules on disk (the module compile cache): children
 * started with NODE_COMPILE_CACHE pointing into the data directory compile their modules once
 * and load them from the cache on every later start. Older runtimes have no such cache.
 */
function compileCacheEnv(dataDir: string): Record<string, string> {
  return typeof (nodeModule as { enableCompileCache?: unknown }).enableCompileCache === 'function'
    ? { NODE_COMPILE_CACHE: resolve(dataDir, 'compile-cache') }
    : {};
}

runMain(
  'gateway',
  async (logger) => {
    const flags = parseFlags(process.argv.slice(2));
    const config = await loadGatewayConfig(flags.config);
    const relayedInputTtl = relayedInputTtlSeconds();
    const dataDir = privateDataDir(resolve(process.env.MANIFOLD_DATA_DIR ?? resolve(packageRoot(), 'data')));
    const redis = await openConfiguredRedisLink(config, logger);
    const policies = createPolicyStack(config, { logger, dataDir, ...(redis ? { redis } : {}) });
    if (redis && policies.metrics) redis.registerMetrics(policies.metrics.registry);
    const pinsFile = toolPinsFile(dataDir);
    // The cluster modules (and the Redis client) are loaded only for a gateway that uses them.
    const cluster =
      redis && config.cluster.redis ? await (await import('./compose/clusterWiring.js')).joinCluster(redis, config, policies.cache, logger) : undefined;
    const gateway = new ManifoldGateway(config, logger, {
      toolCallMiddlewares: policies.toolCallMiddlewares,
      ...(policies.requestLimiter ? { requestLimiter: policies.requestLimiter } : {}),
      resourceReadMiddlewares: policies.resourceReadMiddlewares,
      upstreamObservers: [...policies.upstreamObservers, ...(cluster ? [cluster.resourceUpdates.observer] : [])],
      toolPins: new ToolPins(pinsFile),
      ...(cluster ? { sessionDirectory: cluster.sessions } : {}),
      relayedInputKey: relayedInputKey(dataDir),
      childEnv: compileCacheEnv(dataDir),
      ...(relayedInputTtl === undefined ? {} : { relayedInputTtlSeconds: relayedInputTtl }),
      onToolChange: (change, served) =>
        policies.audit?.append(
          { at: new Date().toISOString(), event: 'tool_definition_changed', upstream: change.namespace, tool: change.tool, served, changes: change.changes },
          { urgent: true },
        ),
    });
    cluster?.resourceUpdates.attach(gateway.clusterResources());
    // A session the client ended on another instance: close this instance's copy of it.
    cluster?.sessions.onEndedElsewhere((id) => void gateway.sessions.get(id)?.transport.close());
    // A 2026 client's retry of a bridged call may reach another instance than the one holding it.
    const parkedRelay = cluster ? await cluster.relayParkedCalls(gateway.parkedCalls) : undefined;
    // Upstreams start now, in parallel, while the listener and authorization are set up (their
    // processes need neither): /readyz reports when they are up. Then names are checked: a
    // collision, or a view naming something that does not exist, refuses to start (never
    // resolved by order); upstreams that are not up are checked later.
    void gateway.start().then(() => {
      logger.info(gateway.readiness(), 'initial upstream start settled');
      logger.flush();
      const problems = startupProblems(gateway, config);
      if (problems.length > 0) {
        for (const problem of problems) logger.fatal({ problem }, problem);
        process.stderr.write(`gateway: refusing to start:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
        process.exit(2);
      }
    });
    // An operator's approval (integrity approve …) rewrites the pin file: serve the tool again.
    watchFile(pinsFile, { interval: 500 }, (current, previous) => {
      if (current.mtimeMs !== previous.mtimeMs) gateway.refreshTools();
    });

    // Listen first: the public URL (and so the OAuth resource identifiers) may depend on the bound port.
    let handle: RequestListener = (_req, res) => {
      res.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '1' }).end('{"error":"starting"}');
    };
    // Slow senders are cut off (headersTimeout, requestTimeout bound receiving a request, not the
    // answer: SSE streams and long calls stay open), checked every second or so.
    const { headersTimeoutMs, requestTimeoutMs } = config.http;
    const server = createServer({ connectionsCheckingInterval: Math.min(1000, headersTimeoutMs / 2) }, (req, res) => handle(req, res));
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = headersTimeoutMs;
    server.requestTimeout = requestTimeoutMs;
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', reject);
      server.listen(config.listen.port, config.listen.host, () => resolveListen());
    });
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const base = publicUrlFor(config, { host: address.address, port: address.port });
    // Sign-in guessing is counted where rate limits are (shared in a cluster); a lockout is audited.
    const signInThrottle = new SignInThrottle(config.limits.signIn, policies.counters, (lockout) => {
      logger.warn({ kind: lockout.kind, windowMs: lockout.windowMs, retryAfterMs: lockout.retryAfterMs }, 'embedded authorization server: attempts held back');
      policies.audit?.append(
        { at: new Date().toISOString(), event: 'sign_in_throttled', kind: lockout.kind, key: lockout.key, windowMs: lockout.windowMs },
        { urgent: true },
      );
    });
    const localHost = isLoopbackHost(address.address) ? host : address.family === 'IPv6' ? '[::1]' : '127.0.0.1';
    const localUrl = `http://${localHost}:${address.port}`;
    const auth = await setUpGatewayAuth(config, { publicUrl: base, dataDir, access: gateway.access, logger, signInThrottle, localUrl });
    handle = createHttpApp({ gateway, auth, publicUrl: base, logger, operatorRoutes: policies.routes(gateway, auth.operator) }).callback();
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
    // Call log lines are batched; lines that operators and supervisors wait for go out at once.
    logger.flush();

    // Views change without a restart: on an edit of the configuration file (or SIGHUP).
    const reload = async (): Promise<void> => {
      try {
        const next = await loadGatewayConfig(flags.config);
        const problems = viewProblems(next.views, gateway.catalog, next.separator, (ns) => gateway.catalog.upstream(ns)?.state === 'ready');
        if (problems.length > 0) {
          logger.error({ problems }, 'configuration reload refused; the previous views stay in place');
          return;
        }
        const outcome = gateway.applyViews(next.views);
        logger.info(outcome, 'views reloaded');
        const { views: _nextViews, ...nextRest } = next;
        const { views: _currentViews, ...currentRest } = config;
        if (!isDeepStrictEqual(nextRest, currentRest)) logger.warn('configuration changes other than views take effect after a restart');
      } catch (error) {
        logger.error({ err: error instanceof ConfigError ? error.message : error }, 'configuration reload refused; the previous views stay in place');
      }
    };
    watchFile(flags.config, { interval: 500 }, (current, previous) => {
      if (current.mtimeMs !== previous.mtimeMs) void reload();
    });
    process.on('SIGHUP', () => void reload());

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
      unwatchFile(flags.config);
      unwatchFile(pinsFile);
      await gateway.stop();
      await auth.close();
      await policies.close();
      await parkedRelay?.close();
      await cluster?.close();
      await redis?.close();
      server.closeAllConnections();
      logger.info({ ms: Date.now() - started }, 'stopped');
      process.exit(0);
    };
    process.once('SIGTERM', () => void shutdown('SIGTERM'));
    process.once('SIGINT', () => void shutdown('SIGINT'));
  },
  { flushIntervalMs: 100 },
);

/** Name collisions between upstreams, and view references that do not exist, found once upstreams are up. */
function startupProblems(gateway: ManifoldGateway, config: GatewayConfig): string[] {
  const collisions = gateway.catalog.collisions;
  const views = viewProblems(config.views, gateway.catalog, config.separator, (ns) => gateway.catalog.upstream(ns)?.state === 'ready');
  return [...collisions, ...views];
}
