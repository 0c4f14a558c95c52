import { InMemoryServerEventBus, McpServer, type CacheHint, type ServerEventBus } from '@modelcontextprotocol/server';
import type { Logger } from '../../shared/logger.js';
import { deliverResourceChanges } from '../../shared/serving/resourceChanges.js';
import { ServerSurface } from '../../shared/serving/serverSurface.js';
import { LEGACY_CONNECTION, type ServingInstance } from '../../shared/serving/servingInstance.js';
import type { GithubClient } from './githubClient.js';
import { KnownRepositories, type RepositoryRef } from './repositoryRef.js';
import { registerGithubPrompts } from './prompts.js';
import { registerGithubResources, subscribableGithubResources } from './resources.js';
import type { GithubToolContext } from './toolContext.js';
import { registerCodeOwnerTools } from './tools/codeOwners.js';
import { registerContentTools } from './tools/contents.js';
import { registerIssueTools } from './tools/issues.js';
import { registerPullRequestTools } from './tools/pullRequests.js';

export const SERVER_NAME = 'manifold-github';
export const SERVER_VERSION = '0.1.0';

export interface GithubServerDeps {
  /** An octokit client from `createGithubClient` (retry and throttling configured). */
  github: GithubClient;
  /** The REST API root the client talks to, for error messages. */
  apiUrl: string;
  /** Whether the client carries a token; without one only public data is reachable. */
  authenticated: boolean;
  /** Used when a tool call names no repository (GITHUB_REPOSITORY). */
  defaultRepository?: RepositoryRef | undefined;
  logger: Logger;
  /** Trust the gateway's caller identity in request `_meta` (MANIFOLD_TRUST_CALLER_META). */
  trustCallerMeta?: boolean;
  /** The acting user when no trusted caller is present (MANIFOLD_USER). */
  localUser?: string;
  /** Leave out the tools that write to GitHub. */
  readOnly?: boolean;
  /**
   * Repositories seen by this process, for completion. Share one instance across the
   * servers of an HTTP process so every session benefits.
   */
  knownRepositories?: KnownRepositories;
  /**
   * Where the issues and repositories changed through this server are announced. Share one bus
   * across the instances of a process so every subscriber hears of every write.
   */
  changes?: ServerEventBus;
}

const INSTRUCTIONS = [
  'Tools for GitHub issues, pull requests, repository files and code owners.',
  'owner/repo are optional when the server has a default repository; issue numbers may be given as URLs.',
  'Errors say what to do next: follow them (e.g. list issues to find a valid number) rather than retrying the same call.',
].join(' ');

/** The server's surface does not change while it runs. */
const STATIC_SURFACE: CacheHint = { ttlMs: 600_000, cacheScope: 'public' };
/** What GitHub shows depends on the token and changes outside this server: keep it briefly, per user. */
const GITHUB_DATA: CacheHint = { ttlMs: 30_000, cacheScope: 'private' };

/** Each process's surface and tool context, built on first use from its dependencies. */
const surfaces = new WeakMap<GithubServerDeps, { surface: ServerSurface; context: GithubToolContext }>();

function surfaceOf(deps: GithubServerDeps): { surface: ServerSurface; context: GithubToolContext } {
  let built = surfaces.get(deps);
  if (!built) {
    const context: GithubToolContext = {
      github: deps.github,
      apiUrl: deps.apiUrl,
      authenticated: deps.authenticated,
      defaultRepository: deps.defaultRepository,
      knownRepositories: deps.knownRepositories ?? new KnownRepositories(),
      logger: deps.logger,
      trustCallerMeta: deps.trustCallerMeta ?? false,
      localUser: deps.localUser ?? 'local-user',
      changes: deps.changes ?? new InMemoryServerEventBus(),
    };
    const surface = new ServerSurface();
    const server = surface.registrar;
    registerIssueTools(server, context, { readOnly: deps.readOnly ?? false });
    registerPullRequestTools(server, context);
    registerContentTools(server, context);
    registerCodeOwnerTools(server, context);
    registerGithubResources(server, context);
    registerGithubPrompts(server, context);
    built = { surface, context };
    surfaces.set(deps, built);
  }
  return built;
}

/**
 * Build the GitHub MCP server around an API client: one instance per stdio connection, per
 * 2025-era HTTP session or per 2026-07-28 HTTP request (see ServingInstance). The tools,
 * resources and prompts are built once per `deps` and installed on each instance.
 */
export function createGithubServer(deps: GithubServerDeps, instance: ServingInstance = LEGACY_CONNECTION): McpServer {
  const server = new McpServer(
    { name: SERVER_NAME, version: SERVER_VERSION, title: 'GitHub (Manifold)' },
    {
      capabilities: { logging: {}, completions: {} },
      instructions: INSTRUCTIONS,
      // MCP 2026-07-28 cacheable results (SEP-2549); 2025-era answers never carry these fields.
      cacheHints: {
        'server/discover': STATIC_SURFACE,
        'tools/list': STATIC_SURFACE,
        'prompts/list': STATIC_SURFACE,
        'resources/templates/list': STATIC_SURFACE,
        'resources/list': GITHUB_DATA,
        'resources/read': GITHUB_DATA,
      },
    },
  );
  const { surface, context } = surfaceOf(deps);
  surface.install(server);
  deliverResourceChanges(server, instance, context.changes, subscribableGithubResources, context.logger);
  return server;
}
