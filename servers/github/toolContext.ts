import type { ServerEventBus, ToolAnnotations } from '@modelcontextprotocol/server';
import { resolveCaller, type CallerContext } from '../../shared/callerContext.js';
import type { Logger } from '../../shared/logger.js';
import type { GithubConnection } from './githubErrors.js';
import { formatRepository, type KnownRepositories, type RepositoryRef } from './repositoryRef.js';

/** What every tool and resource handler needs; built once per server by the factory. */
export interface GithubToolContext extends GithubConnection {
  defaultRepository: RepositoryRef | undefined;
  knownRepositories: KnownRepositories;
  logger: Logger;
  /** Trust the gateway's caller identity in request `_meta` (MANIFOLD_TRUST_CALLER_META). */
  trustCallerMeta: boolean;
  /** The acting user when there is no trusted gateway caller (MANIFOLD_USER). */
  localUser: string;
  /** Where the issues and repositories this server changes are announced to subscribers. */
  changes: ServerEventBus;
}

/**
 * Announce that a write through this server changed an issue: its resource and its repository's
 * summary (open issue count, last update) are out of date for anyone subscribed to them. Changes
 * made on GitHub by others are not seen; clients re-read when they need fresh data.
 */
export function announceIssueChange(context: GithubToolContext, repository: RepositoryRef, issueNumber: number): void {
  const slug = formatRepository(repository);
  context.changes.publish({ kind: 'resource_updated', uri: `github://${slug}/issues/${issueNumber}` });
  context.changes.publish({ kind: 'resource_updated', uri: `github://${slug}` });
}

/** Annotations for tools that only read from GitHub. */
export const READ_ONLY_ANNOTATIONS: ToolAnnotations = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: true,
};

/** Annotations for tools that add something to GitHub (never delete or overwrite). */
export const ADDITIVE_WRITE_ANNOTATIONS: ToolAnnotations = {
  readOnlyHint: false,
  destructiveHint: false,
  idempotentHint: false,
  openWorldHint: true,
};

/** Annotations for tools that set something on GitHub to a given value: repeating the call changes nothing more. */
export const IDEMPOTENT_WRITE_ANNOTATIONS: ToolAnnotations = {
  readOnlyHint: false,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: true,
};

/** The user a write is made for: the gateway's caller when trusted, else the local user. */
export function actingCaller(context: GithubToolContext, meta: Record<string, unknown> | undefined): CallerContext {
  return resolveCaller(meta, { trustMeta: context.trustCallerMeta, localUser: context.localUser });
}
