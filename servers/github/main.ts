import { InMemoryServerEventBus } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { envSchemas, parseServeFlags, readEnvironment } from '../../shared/config.js';
import { commonServerEnv, runMain } from '../../shared/runtimeEnv.js';
import { serve } from '../../shared/serve.js';
import { createGithubClient, DEFAULT_GITHUB_API_URL } from './githubClient.js';
import { formatRepository, KnownRepositories, parseRepositorySlug, REPOSITORY_SLUG_MESSAGE } from './repositoryRef.js';
import { createGithubServer } from './server.js';

const githubServerEnv = {
  ...commonServerEnv,
  /** A classic or fine-grained token; absent means unauthenticated (public data, low rate limit). */
  GITHUB_TOKEN: z.string().min(1).optional(),
  /** REST API root; https://HOST/api/v3 for GitHub Enterprise Server. */
  GITHUB_API_URL: z
    .url({ protocol: /^https?$/, message: 'must be an http(s) URL such as https://api.github.com or https://github.example.com/api/v3' })
    .default(DEFAULT_GITHUB_API_URL)
    .transform((url) => url.replace(/\/+$/, '')),
  /** Default repository for tools called without owner/repo. */
  GITHUB_REPOSITORY: z
    .string()
    .refine((value) => parseRepositorySlug(value) !== undefined, REPOSITORY_SLUG_MESSAGE)
    .optional(),
  /** Leave out the write tools (create_issue, comment_on_issue, update_issue). */
  GITHUB_READ_ONLY: envSchemas.boolean.default(false),
  /** Longest secondary-rate-limit pause honoured before one retry. */
  GITHUB_RATE_LIMIT_MAX_WAIT_SECONDS: z.coerce.number().int().min(0).max(600).default(60),
  /** Retries for network failures and 5xx answers. */
  GITHUB_REQUEST_RETRIES: z.coerce.number().int().min(0).max(10).default(2),
  /** A GitHub request, its retries and waits included, fails after this long; below the gateway's callTimeoutMs (60 s). */
  GITHUB_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(20_000),
};

runMain('github', async (logger) => {
  const env = readEnvironment(githubServerEnv);
  const flags = parseServeFlags(process.argv.slice(2));
  const defaultRepository = env.GITHUB_REPOSITORY ? parseRepositorySlug(env.GITHUB_REPOSITORY) : undefined;
  const authenticated = env.GITHUB_TOKEN !== undefined;
  const github = createGithubClient({
    apiUrl: env.GITHUB_API_URL,
    token: env.GITHUB_TOKEN,
    logger,
    maxRateLimitWaitSeconds: env.GITHUB_RATE_LIMIT_MAX_WAIT_SECONDS,
    retries: env.GITHUB_REQUEST_RETRIES,
    requestTimeoutMs: env.GITHUB_REQUEST_TIMEOUT_MS,
  });
  logger.info(
    {
      apiUrl: env.GITHUB_API_URL,
      auth: authenticated ? 'token' : 'none',
      defaultRepository: defaultRepository ? formatRepository(defaultRepository) : null,
      readOnly: env.GITHUB_READ_ONLY,
    },
    authenticated
      ? 'GitHub server running authenticated with GITHUB_TOKEN'
      : 'GitHub server running unauthenticated: public data only, 60 requests per hour; set GITHUB_TOKEN for private repositories and writes',
  );
  // Shared by every session of an HTTP process, so completion learns from all of them.
  const knownRepositories = new KnownRepositories();
  const changes = new InMemoryServerEventBus();
  await serve({
    changes,
    createServer: (instance) =>
      createGithubServer(
        {
          github,
          apiUrl: env.GITHUB_API_URL,
          authenticated,
          defaultRepository,
          logger,
          trustCallerMeta: env.MANIFOLD_TRUST_CALLER_META,
          localUser: env.MANIFOLD_USER,
          readOnly: env.GITHUB_READ_ONLY,
          knownRepositories,
          changes,
        },
        instance,
      ),
    flags,
    logger,
    bearerToken: env.MANIFOLD_HTTP_BEARER_TOKEN,
  });
});
