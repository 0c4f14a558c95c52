import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../shared/config.js';
import { DomainError } from '../shared/errors.js';
import { createLogger } from '../shared/logger.js';
import { packageRoot } from '../shared/packageRoot.js';
import { readBootstrapAdmin } from './auth/bootstrapAdmin.js';
import { createEmbeddedAuthServer } from './auth/embedded/embeddedAuthServer.js';
import { embeddedAuthOptions, GatewayResources } from './compose/gatewayAuth.js';
import { loadGatewayConfig } from './config/load.js';

/**
 * Print an access token for a configured user, issued by the gateway's embedded
 * authorization server (same keys and state as the running gateway), for scripts and the
 * MCP Inspector:
 *
 *   npm run token -- --user admin --scope "pm:read pm:write"
 *   mcp-inspector --cli http://127.0.0.1:8080/mcp --transport http --header "Authorization: Bearer $(npm run -s token -- --user admin --scope pm:read)"
 *
 * Only the token is written to stdout.
 */
const USAGE = `Usage: token --user NAME --scope "SCOPE ..." [--config PATH] [--resource URL] [--public-url URL]
  --user        a configured user's id or email (with no users configured: admin)
  --scope       space-separated scopes, e.g. "pm:read pm:write docs:read"
  --resource    the token's audience (default: <public-url>/mcp; or <public-url>/servers/<namespace>/mcp)
  --config      the gateway configuration (default: config/gateway.json in the package)
  --public-url  the gateway's external URL (default: $MANIFOLD_PUBLIC_URL, auth.publicUrl, or the configured listen address)`;

class UsageError extends Error {}

async function main(): Promise<void> {
  let values: { user?: string; scope?: string; resource?: string; config?: string; 'public-url'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: process.argv.slice(2),
      options: {
        user: { type: 'string' },
        scope: { type: 'string' },
        resource: { type: 'string' },
        config: { type: 'string' },
        'public-url': { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) {
    process.stderr.write(`${USAGE}\n`);
    return;
  }
  if (!values.user) throw new UsageError('--user: required (a configured user id or email).');
  if (!values.scope?.trim()) throw new UsageError('--scope: required, e.g. --scope "pm:read pm:write".');
  const config = await loadGatewayConfig(resolve(values.config ?? join(packageRoot(), 'config', 'gateway.json')));
  if (config.auth.mode !== 'oauth' || config.auth.issuer) {
    throw new UsageError(
      'the configuration does not use the embedded authorization server (auth.mode "oauth" without "issuer"); get tokens from your identity provider.',
    );
  }
  const publicUrlText =
    values['public-url'] ?? process.env.MANIFOLD_PUBLIC_URL ?? config.auth.publicUrl ?? `http://${config.listen.host}:${config.listen.port}`;
  if (!URL.canParse(publicUrlText)) throw new UsageError(`--public-url: "${publicUrlText}" is not a URL.`);
  const publicUrl = new URL(publicUrlText).origin;
  const dataDir = resolve(process.env.MANIFOLD_DATA_DIR ?? join(packageRoot(), 'data'));
  const logger = createLogger('manifold-token', 'warn');
  const options = await embeddedAuthOptions(config, config.auth, { publicUrl, dataDir, logger, createBootstrapAdmin: false });
  if (options.users.length === 0) {
    const admin = readBootstrapAdmin(options.dataDir);
    if (!admin) throw new UsageError('no users: configure auth.embedded.users, or start the gateway once to create the admin user.');
    options.users = [admin];
  }
  const resources = new GatewayResources(
    publicUrl,
    config.upstreams.map((u) => u.namespace),
  );
  const resource = values.resource ?? resources.main.resource;
  if (!resources.all().some((r) => r.resource === resource)) {
    throw new UsageError(
      `--resource: "${resource}" is not one of the gateway's endpoints (${resources
        .all()
        .map((r) => r.resource)
        .join(', ')}).`,
    );
  }
  const server = await createEmbeddedAuthServer(options);
  try {
    process.stdout.write(`${await server.mintAccessToken(values.user, values.scope.trim().split(/\s+/), resource)}\n`);
  } finally {
    await server.close();
  }
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`token: ${error.message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (error instanceof ConfigError || error instanceof DomainError) {
    process.stderr.write(`token: ${error instanceof DomainError ? error.clientMessage : error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`token: failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
