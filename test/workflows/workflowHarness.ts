import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult, Progress } from '@modelcontextprotocol/sdk/types.js';
import { openDatabase, type OpenedDatabase } from '../../servers/project-management/store/database.js';
import { ProjectStore, type Task } from '../../servers/project-management/store/projectStore.js';
import { FakeGithubApi, FIXTURE_TOKENS } from '../github/fakeGithubApi.js';
import { ROOT, startGateway, waitReady, type RunningGateway } from '../gateway/harness.js';

export const FIXTURES = join(ROOT, 'test', 'fixtures', 'workflows');
export const REPOSITORY = 'acme/tracker';
export const issueUrl = (number: number): string => `https://github.com/${REPOSITORY}/issues/${number}`;

export interface WorkflowEnvironment {
  gateway: RunningGateway;
  github: FakeGithubApi;
  dataDir: string;
  /** The project-management data, opened beside the running server (SQLite, WAL). */
  store(): Promise<{ store: ProjectStore; close(): Promise<void> }>;
  tasksTracking(url: string): Promise<Task[]>;
  stop(): Promise<void>;
}

/** The gateway with the three domain servers: fake GitHub, a fixture docs tree, a temporary SQLite. */
export async function startWorkflowEnvironment(
  options: {
    auth?: Record<string, unknown>;
    docsRoot?: string;
    gatewayEnv?: Record<string, string>;
    rateLimits?: Record<string, unknown>;
    /** More environment for the GitHub server (e.g. its request timeout). */
    githubEnv?: Record<string, string>;
    /** More configuration of the upstream entries (e.g. a tools filter, callTimeoutMs). */
    upstreamExtra?: Partial<Record<'pm' | 'github' | 'docs', Record<string, unknown>>>;
    /** More of the workflows section. */
    workflows?: Record<string, unknown>;
  } = {},
): Promise<WorkflowEnvironment> {
  const github = new FakeGithubApi(['../workflows/acme-tracker.json']);
  await github.start();
  const dataDir = mkdtempSync(join(tmpdir(), 'manifold-workflows-'));
  const entry = (namespace: string, file: string, env: Record<string, string>, extra: Record<string, unknown> = {}) => ({
    namespace,
    stdio: { command: process.execPath, args: [join(ROOT, 'dist', 'servers', file, 'main.js')], cwd: ROOT, env: { LOG_LEVEL: 'warn', ...env } },
    ...extra,
  });
  const gateway = await startGateway(
    {
      ...(options.auth ? { auth: options.auth } : {}),
      upstreams: [
        entry('pm', 'project-management', { MANIFOLD_DATA_DIR: dataDir }, options.upstreamExtra?.pm),
        entry(
          'github',
          'github',
          { GITHUB_API_URL: github.url, GITHUB_TOKEN: FIXTURE_TOKENS.write, GITHUB_REPOSITORY: REPOSITORY, GITHUB_REQUEST_RETRIES: '0', ...options.githubEnv },
          options.upstreamExtra?.github,
        ),
        entry(
          'docs',
          'docs',
          { DOCS_ROOT: options.docsRoot ?? join(FIXTURES, 'docs'), DOCS_WATCH: '0' },
          { ...(options.docsRoot ? { required: false } : {}), ...options.upstreamExtra?.docs },
        ),
      ],
      workflows: { teamDirectory: join(FIXTURES, 'team-directory.json'), defaultRepository: REPOSITORY, ...options.workflows },
      // Every step counts against the caller's rate limits like a direct call; these tests make many.
      limits: { rate: { perUser: 100_000, writesPerUser: 100_000, ...options.rateLimits } },
    },
    options.gatewayEnv ? { env: options.gatewayEnv } : {},
  );
  await waitReady(gateway, 30_000).catch(async (error: unknown) => {
    if (!options.docsRoot) throw error;
  });
  const store = async () => {
    const opened: OpenedDatabase = await openDatabase({ kind: 'sqlite', file: join(dataDir, 'project-management.sqlite') });
    return { store: new ProjectStore(opened.db), close: () => opened.close() };
  };
  return {
    gateway,
    github,
    dataDir,
    store,
    tasksTracking: async (url) => {
      const { store: projects, close } = await store();
      try {
        return (await projects.listTasks({ externalRef: url }, 50)).tasks;
      } finally {
        await close();
      }
    },
    stop: async () => {
      await gateway.stop();
      await github.stop();
    },
  };
}

export interface CallOutcome {
  result: CallToolResult;
  progress: Progress[];
  structured: Record<string, unknown>;
  text: string;
  failure: { code?: string; message?: string; step?: string; aftermath?: string } | undefined;
}

export async function callFlow(client: Client, name: string, args: Record<string, unknown>): Promise<CallOutcome> {
  const progress: Progress[] = [];
  const result = (await client.callTool({ name: `flow__${name}`, arguments: args }, undefined, {
    onprogress: (p) => progress.push(p),
    timeout: 60_000,
  })) as CallToolResult;
  const text = result.content.map((block) => (block.type === 'text' ? block.text : '')).join('\n');
  return {
    result,
    progress,
    structured: (result.structuredContent ?? {}) as Record<string, unknown>,
    text,
    failure: result._meta?.['io.manifold/failure'] as CallOutcome['failure'],
  };
}
