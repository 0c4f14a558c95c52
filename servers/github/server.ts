import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Logger } from '../../shared/logger.js';
import type { GithubClient } from './githubClient.js';
import { KnownRepositories, type RepositoryRef } from './repositoryRef.js';
import { registerGithubPrompts } from './prompts.js';
import { registerGithubResources } from './resources.js';
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
}

const INSTRUCTIONS = [
  'Tools for GitHub issues, pull requests, repository files and code owners.',
  'owner/repo are optional when the server has a default repository; issue numbers may be given as URLs.',
  'Errors say what to do next: follow them (e.g. list issues to find a valid number) rather than retrying the same call.',
].join(' ');

/** Build the GitHub MCP server around an API client. One instance per session (HTTP) or per process (stdio). */
export function createGithubServer(deps: GithubServerDeps): McpServer {
  const server = new McpServer(
    { name: SERVER_NAME, version: SERVER_VERSION, title: 'GitHub (Manifold)' },
    { capabilities: { logging: {}, completions: {} }, instructions: INSTRUCTIONS },
  );
  const context: GithubToolContext = {
    github: deps.github,
    apiUrl: deps.apiUrl,
    authenticated: deps.authenticated,
    defaultRepository: deps.defaultRepository,
    knownRepositories: deps.knownRepositories ?? new KnownRepositories(),
    logger: deps.logger,
    trustCallerMeta: deps.trustCallerMeta ?? false,
    localUser: deps.localUser ?? 'local-user',
  };
  registerIssueTools(server, context, { readOnly: deps.readOnly ?? false });
  registerPullRequestTools(server, context);
  registerContentTools(server, context);
  registerCodeOwnerTools(server, context);
  registerGithubResources(server, context);
  registerGithubPrompts(server, context);
  return server;
}
