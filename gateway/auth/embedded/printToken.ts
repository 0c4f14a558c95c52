import { resolve } from 'node:path';
import { format, parseArgs } from 'node:util';
import { ConfigError } from '../../../shared/config.js';
import { DomainError } from '../../../shared/errors.js';
import { createLogger, isLogLevel } from '../../../shared/logger.js';
import { packageRoot } from '../../../shared/packageRoot.js';
import { createEmbeddedAuthServer } from './embeddedAuthServer.js';
import { loadEmbeddedAuthSettings, supportedScopesOf } from './settings.js';

/**
 * Print an access token of the embedded authorization server for a configured user:
 *
 *   node dist/gateway/auth/embedded/printToken.js --user ada --scope "pm:read pm:write" \
 *     [--resource URL] [--data-dir DIR] [--public-url URL] [--users FILE]
 *
 * Only the token goes to stdout, so `$(…)` and `--header "Authorization: Bearer $(…)"` work.
 * It signs with the keys in the data directory, so it must be the gateway's data directory
 * and public URL. Bad flags exit with status 2 and a message naming the flag.
 */

// stdout carries only the token: oidc-provider prints notices with console.info.
// eslint-disable-next-line no-console -- replacing them is how they are kept off stdout
console.log = console.info = (...args: unknown[]) => {
  process.stderr.write(`${format(...args)}\n`);
};

const USAGE = `Usage: printToken --user NAME --scope "SCOPE ..." [--resource URL] [--data-dir DIR] [--public-url URL] [--users FILE]
  --user        a configured user's id or email
  --scope       space-separated scopes, each supported and allowed for the user
  --resource    the token's audience (default: <public-url>/mcp); also <public-url>/servers/<namespace>/mcp
  --data-dir    the gateway's auth state folder (default: $MANIFOLD_AUTH_DATA_DIR, else $MANIFOLD_DATA_DIR/auth, else data/auth)
  --public-url  the gateway's external base URL (default: $MANIFOLD_PUBLIC_URL, else http://127.0.0.1:8080)
  --users       JSON file with "users" (and optionally "scopes", "clients", "extraResources") (default: $MANIFOLD_AUTH_USERS_FILE)`;

const NAMESPACE_ENDPOINT = /^\/servers\/[a-z][a-z0-9-]{0,15}\/mcp$/;
const FIELD_FLAGS: Record<string, string> = { user: '--user', scope: '--scope', resource: '--resource', publicUrl: '--public-url' };

class UsageError extends Error {}

interface TokenRequest {
  user: string;
  scopes: string[];
  resource: string | undefined;
  dataDir: string;
  publicUrl: string;
  usersFile: string;
}

function parseFlags(argv: string[], env: NodeJS.ProcessEnv): TokenRequest | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        user: { type: 'string' },
        scope: { type: 'string' },
        resource: { type: 'string' },
        'data-dir': { type: 'string' },
        'public-url': { type: 'string' },
        users: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';
  const text = (name: string): string | undefined => {
    const value = values[name];
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
  };
  const user = text('user');
  if (!user) throw new UsageError('--user: required (a configured user id or email).');
  const scope = text('scope');
  if (scope === undefined) throw new UsageError('--scope: required, e.g. --scope "pm:read pm:write".');
  const scopes = scope.split(/\s+/).filter(Boolean);
  const usersFile = text('users') ?? env.MANIFOLD_AUTH_USERS_FILE;
  if (!usersFile) throw new UsageError('--users: required (or set MANIFOLD_AUTH_USERS_FILE): the JSON file listing users and scopes.');
  const dataDir = text('data-dir') ?? env.MANIFOLD_AUTH_DATA_DIR ?? resolve(env.MANIFOLD_DATA_DIR ?? resolve(packageRoot(), 'data'), 'auth');
  const publicUrl = text('public-url') ?? env.MANIFOLD_PUBLIC_URL ?? 'http://127.0.0.1:8080';
  const parsedUrl = URL.parse(publicUrl);
  if (!parsedUrl || !/^https?:$/.test(parsedUrl.protocol) || (parsedUrl.pathname !== '/' && parsedUrl.pathname !== '')) {
    throw new UsageError(`--public-url: "${publicUrl}" must be an http(s) origin such as http://127.0.0.1:8080.`);
  }
  const resource = text('resource');
  if (resource !== undefined && !URL.canParse(resource)) throw new UsageError(`--resource: "${resource}" is not an absolute URL.`);
  return { user, scopes, resource, dataDir: resolve(dataDir), publicUrl: parsedUrl.origin, usersFile: resolve(usersFile) };
}

async function main(): Promise<void> {
  const request = parseFlags(process.argv.slice(2), process.env);
  if (request === 'help') {
    process.stderr.write(`${USAGE}\n`);
    return;
  }
  const settings = loadEmbeddedAuthSettings(request.usersFile);
  const mainResource = `${request.publicUrl}/mcp`;
  const extraResources = [...settings.extraResources];
  if (request.resource !== undefined && request.resource !== mainResource && !extraResources.includes(request.resource)) {
    const url = new URL(request.resource);
    if (url.origin !== request.publicUrl || !NAMESPACE_ENDPOINT.test(url.pathname) || url.search || url.hash) {
      throw new UsageError(
        `--resource: "${request.resource}" is not one of the gateway's MCP endpoints (${mainResource} or ${request.publicUrl}/servers/<namespace>/mcp).`,
      );
    }
    extraResources.push(request.resource);
  }
  const level = process.env.LOG_LEVEL;
  const auth = await createEmbeddedAuthServer({
    publicUrl: request.publicUrl,
    resource: mainResource,
    extraResources,
    scopes: supportedScopesOf(settings),
    users: settings.users,
    clients: settings.clients,
    dataDir: request.dataDir,
    logger: createLogger('manifold-token', level && isLogLevel(level) ? level : 'warn'),
  });
  try {
    const token = await auth.mintAccessToken(request.user, request.scopes, request.resource ?? mainResource);
    process.stdout.write(`${token}\n`);
  } finally {
    await auth.close();
  }
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`printToken: ${error.message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (error instanceof ConfigError) {
    process.stderr.write(`printToken: ${error.message}\n`);
    process.exit(2);
  }
  if (error instanceof DomainError) {
    const flag = error.field ? FIELD_FLAGS[error.field] : undefined;
    process.stderr.write(`printToken: ${flag ? `${flag}: ` : ''}${error.clientMessage}\n`);
    process.exit(2);
  }
  process.stderr.write(`printToken: failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
