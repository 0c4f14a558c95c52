import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for the GitHub REST API (the endpoints the GitHub server uses), built
 * from fixtures in test/fixtures/github. It answers in GitHub's JSON shapes with GitHub's
 * headers (Link pagination, x-ratelimit-*, x-oauth-scopes, x-accepted-*), GitHub's error
 * bodies, and records every request so tests can assert on what was sent.
 */

const FIXTURES = new URL('../fixtures/github/', import.meta.url);
const DOCS = 'https://docs.github.com/rest';

type FileSpec =
  string | { base64: string } | { repeat: string; times: number } | { size: number } | { symlink: string } | { submodule: string } | { fixture: string };

interface IssueFixture {
  number: number;
  title: string;
  state: 'open' | 'closed';
  state_reason?: string | null;
  user: string;
  labels: string[];
  assignees: string[];
  milestone?: number;
  pull_request?: boolean;
  body: string | null;
  created_at: string;
  updated_at: string;
  closed_at?: string | null;
}

interface CommentFixture {
  id: number;
  user: string;
  body: string;
  created_at: string;
  updated_at?: string;
  author_association: string;
}

interface PullFixture {
  head: { ref: string; sha: string; repo: string };
  base: { ref: string; sha: string };
  draft: boolean;
  merged: boolean;
  mergeable: boolean | null;
  mergeable_state: string;
  commits: number;
  review_comments: number;
  requested_reviewers: string[];
  requested_teams: string[];
  files: Array<{ filename: string; status: string; additions: number; deletions: number; patch?: string; previous_filename?: string }>;
}

interface RepositoryFixture {
  repository: {
    id: number;
    owner: string;
    name: string;
    private: boolean;
    description: string | null;
    homepage: string | null;
    default_branch: string;
    topics: string[];
    language: string | null;
    license: { key: string; name: string; spdx_id: string } | null;
    stargazers_count: number;
    forks_count: number;
    created_at: string;
    updated_at: string;
    pushed_at: string;
    has_issues: boolean;
  };
  labels: Record<string, { color: string; description: string }>;
  milestones: Record<string, { title: string }>;
  issues: IssueFixture[];
  comments: Record<string, CommentFixture[]>;
  pulls: Record<string, PullFixture>;
  files: Record<string, Record<string, FileSpec>>;
}

type TokenFixture =
  { login: string; kind: 'classic'; scopes: string[] } | { login: string; kind: 'fine-grained'; permissions: Record<string, 'read' | 'write'> };

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  /** When the request arrived (Date.now()), for checking a client's back-off. */
  at: number;
}

/** A scripted answer that takes precedence over normal handling for matching requests. */
export interface Fault {
  method?: string;
  path: string | RegExp;
  /** How many matching requests it answers (default 1). */
  times?: number;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Wait this long before answering (a slow or hung GitHub). */
  delayMs?: number;
}

interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export function readFixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as T;
}

function readFixtureText(name: string): string {
  return readFileSync(new URL(name, FIXTURES), 'utf8');
}

export const FIXTURE_TOKENS = {
  write: 'ghp_fixtureWriteToken0000000000000000000',
  readOrgOnly: 'ghp_fixtureReadOrgOnly000000000000000000',
  fineGrainedReadOnly: 'github_pat_fixtureFineGrainedReadOnly0000',
} as const;

export class FakeGithubApi {
  readonly requests: RecordedRequest[] = [];
  private readonly repositories = new Map<string, RepositoryFixture>();
  private readonly users: Record<string, { id: number; type: string }>;
  private readonly tokens: Record<string, TokenFixture>;
  private readonly faults: Array<Fault & { remaining: number }> = [];
  private server: Server | undefined;
  private origin = '';

  constructor(fixtureFiles: readonly string[] = ['acme-widgets.json', 'acme-private-plans.json']) {
    this.users = readFixture('users.json');
    this.tokens = readFixture('tokens.json');
    for (const file of fixtureFiles) {
      const fixture = readFixture<RepositoryFixture>(file);
      this.repositories.set(`${fixture.repository.owner}/${fixture.repository.name}`.toLowerCase(), fixture);
    }
  }

  /** Start on 127.0.0.1 with an OS-chosen port; resolves to the API base URL. */
  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ message: String(error) }));
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.origin = `http://127.0.0.1:${port}`;
    return this.origin;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get url(): string {
    return this.origin;
  }

  /** Answer the next matching request(s) with a scripted response. */
  inject(fault: Fault): void {
    this.faults.push({ ...fault, remaining: fault.times ?? 1 });
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  requestsTo(method: string, path: string | RegExp): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && (typeof path === 'string' ? r.path === path : path.test(r.path)));
  }

  /** An issue as stored (including ones created by tests). */
  issue(slug: string, number: number): IssueFixture | undefined {
    return this.repositories.get(slug.toLowerCase())?.issues.find((i) => i.number === number);
  }

  comments(slug: string, number: number): CommentFixture[] {
    return this.repositories.get(slug.toLowerCase())?.comments[String(number)] ?? [];
  }

  // ---------------------------------------------------------------- dispatch

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    const arrived = Date.now();
    const body = await readBody(req);
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body,
      at: arrived,
    };
    this.requests.push(recorded);

    const fault = this.faults.find(
      (f) =>
        f.remaining > 0 &&
        (f.method === undefined || f.method === recorded.method) &&
        (typeof f.path === 'string' ? f.path === url.pathname : f.path.test(url.pathname)),
    );
    if (fault) {
      fault.remaining--;
      if (fault.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      if (res.destroyed) return;
      this.send(res, req, { status: fault.status, body: fault.body, ...(fault.headers ? { headers: fault.headers } : {}) }, url);
      return;
    }
    this.send(res, req, this.route(recorded, url), url);
  }

  private send(res: ServerResponse, req: IncomingMessage, answer: Answer, url: URL): void {
    const token = this.tokenOf(req);
    const search = url.pathname.startsWith('/search/');
    const limit = search ? (token ? 30 : 10) : token ? 5000 : 60;
    const headers: Record<string, string> = {
      'content-type': 'application/json; charset=utf-8',
      'x-github-api-version-selected': '2022-11-28',
      'x-github-media-type': 'github.v3; format=json',
      'x-github-request-id': randomUUID().toUpperCase().slice(0, 23),
      'x-ratelimit-limit': String(limit),
      'x-ratelimit-remaining': String(limit - 1),
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
      'x-ratelimit-used': '1',
      'x-ratelimit-resource': search ? 'search' : 'core',
      ...(token?.kind === 'classic' ? { 'x-oauth-scopes': token.scopes.join(', '), 'x-accepted-oauth-scopes': '' } : {}),
      ...answer.headers,
    };
    if (answer.body === undefined) {
      res.writeHead(answer.status, headers).end();
      return;
    }
    res.writeHead(answer.status, headers).end(JSON.stringify(answer.body));
  }

  private tokenOf(req: IncomingMessage): (TokenFixture & { value: string }) | undefined {
    const match = /^(?:token|bearer)\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!match?.[1]) return undefined;
    const token = this.tokens[match[1]];
    return token ? { ...token, value: match[1] } : undefined;
  }

  private route(request: RecordedRequest, url: URL): Answer {
    const authorization = request.headers.authorization;
    const tokenMatch = /^(?:token|bearer)\s+(\S+)$/i.exec(typeof authorization === 'string' ? authorization : '');
    const token = tokenMatch?.[1] ? this.tokens[tokenMatch[1]] : undefined;
    if (tokenMatch && !token) return error(401, 'Bad credentials', DOCS);

    const { method, path } = request;
    if (method === 'GET' && path === '/search/issues') return this.searchIssues(url, token);

    const repoRoute = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(path);
    if (!repoRoute?.[1] || !repoRoute[2]) return notFound();
    const slug = `${repoRoute[1]}/${repoRoute[2]}`;
    const rest = repoRoute[3] ?? '';
    const fixture = this.repositories.get(slug.toLowerCase());
    if (!fixture || !canSee(fixture, token)) return notFound('repos/repos#get-a-repository');

    if (method === 'GET' && rest === '') return { status: 200, body: this.renderRepository(fixture) };
    if (rest.startsWith('/contents')) return method === 'GET' ? this.contents(fixture, rest.slice('/contents'.length), url) : notFound();

    let match = /^\/issues\/(\d+)$/.exec(rest);
    if (method === 'GET' && match?.[1]) return this.getIssue(fixture, Number(match[1]));
    if (method === 'PATCH' && match?.[1]) {
      const writer = this.writer(fixture, token, 'issues/issues#update-an-issue');
      return 'status' in writer ? writer : this.updateIssue(fixture, Number(match[1]), request.body);
    }
    match = /^\/issues\/(\d+)\/comments$/.exec(rest);
    if (match?.[1]) {
      if (method === 'GET') return this.listComments(fixture, Number(match[1]), url);
      if (method === 'POST') {
        const writer = this.writer(fixture, token);
        return 'status' in writer ? writer : this.createComment(fixture, Number(match[1]), request.body, writer);
      }
    }
    if (rest === '/issues') {
      if (method === 'GET') return this.listIssues(fixture, url);
      if (method === 'POST') {
        const writer = this.writer(fixture, token);
        return 'status' in writer ? writer : this.createIssue(fixture, request.body, writer);
      }
    }
    match = /^\/pulls\/(\d+)$/.exec(rest);
    if (method === 'GET' && match?.[1]) return this.getPull(fixture, Number(match[1]));
    match = /^\/pulls\/(\d+)\/files$/.exec(rest);
    if (method === 'GET' && match?.[1]) return this.listPullFiles(fixture, Number(match[1]), url);
    return notFound();
  }

  /** Writes need a token with the right scope (classic) or permission (fine-grained). */
  private writer(fixture: RepositoryFixture, token: TokenFixture | undefined, docsPath = 'issues/issues#create-an-issue'): Answer | TokenFixture {
    if (!token) return error(401, 'Requires authentication', `${DOCS}/${docsPath}`);
    if (token.kind === 'classic') {
      const ok = token.scopes.includes('repo') || (!fixture.repository.private && token.scopes.includes('public_repo'));
      if (!ok) {
        return {
          ...error(403, 'Resource not accessible by personal access token', `${DOCS}/${docsPath}`),
          headers: { 'x-accepted-oauth-scopes': 'repo', 'x-oauth-scopes': token.scopes.join(', ') },
        };
      }
      return token;
    }
    if (token.permissions.issues !== 'write') {
      return {
        ...error(403, 'Resource not accessible by personal access token', `${DOCS}/${docsPath}`),
        headers: { 'x-accepted-github-permissions': 'issues=write' },
      };
    }
    return token;
  }

  // ---------------------------------------------------------------- issues

  private getIssue(fixture: RepositoryFixture, number: number): Answer {
    if (!fixture.repository.has_issues) return error(410, 'Issues are disabled for this repo', `${DOCS}/issues/issues#get-an-issue`);
    const issue = fixture.issues.find((i) => i.number === number);
    if (!issue) return notFound('issues/issues#get-an-issue');
    return { status: 200, body: this.renderIssue(fixture, issue) };
  }

  private listIssues(fixture: RepositoryFixture, url: URL): Answer {
    const q = url.searchParams;
    const state = q.get('state') ?? 'open';
    const labels = (q.get('labels') ?? '').split(',').filter((l) => l !== '');
    const assignee = q.get('assignee');
    const creator = q.get('creator');
    const mentioned = q.get('mentioned');
    const since = q.get('since');
    const sort = q.get('sort') ?? 'created';
    const direction = q.get('direction') ?? 'desc';
    let issues = fixture.issues.filter(
      (i) =>
        (state === 'all' || i.state === state) &&
        labels.every((l) => i.labels.includes(l)) &&
        (assignee === null || (assignee === 'none' ? i.assignees.length === 0 : assignee === '*' ? i.assignees.length > 0 : i.assignees.includes(assignee))) &&
        (creator === null || i.user === creator) &&
        (mentioned === null || (i.body ?? '').includes(`@${mentioned}`)) &&
        (since === null || Date.parse(i.updated_at) >= Date.parse(since)),
    );
    const key = (i: IssueFixture): number =>
      sort === 'updated' ? Date.parse(i.updated_at) : sort === 'comments' ? (fixture.comments[String(i.number)]?.length ?? 0) : Date.parse(i.created_at);
    issues = [...issues].sort((a, b) => (direction === 'asc' ? key(a) - key(b) : key(b) - key(a)));
    return this.paginate(
      issues.map((i) => this.renderIssue(fixture, i)),
      url,
    );
  }

  private listComments(fixture: RepositoryFixture, number: number, url: URL): Answer {
    const issue = fixture.issues.find((i) => i.number === number);
    if (!issue) return notFound('issues/comments#list-issue-comments');
    const comments = fixture.comments[String(number)] ?? [];
    return this.paginate(
      comments.map((c) => this.renderComment(fixture, number, c)),
      url,
    );
  }

  private createIssue(fixture: RepositoryFixture, body: unknown, token: TokenFixture): Answer {
    const input = (body ?? {}) as { title?: unknown; body?: unknown; labels?: unknown; assignees?: unknown; milestone?: unknown };
    if (typeof input.title !== 'string' || input.title === '') {
      return {
        status: 422,
        body: {
          message: 'Validation Failed',
          errors: [{ resource: 'Issue', code: 'missing_field', field: 'title' }],
          documentation_url: `${DOCS}/issues/issues#create-an-issue`,
          status: '422',
        },
      };
    }
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const issue: IssueFixture = {
      number: Math.max(0, ...fixture.issues.map((i) => i.number)) + 1,
      title: input.title,
      state: 'open',
      user: token.login,
      labels: Array.isArray(input.labels) ? input.labels.filter((l): l is string => typeof l === 'string') : [],
      assignees: Array.isArray(input.assignees) ? input.assignees.filter((a): a is string => typeof a === 'string') : [],
      ...(typeof input.milestone === 'number' ? { milestone: input.milestone } : {}),
      body: typeof input.body === 'string' ? input.body : null,
      created_at: now,
      updated_at: now,
    };
    fixture.issues.push(issue);
    return { status: 201, body: this.renderIssue(fixture, issue), headers: { location: `${this.origin}/repos/${fullName(fixture)}/issues/${issue.number}` } };
  }

  /** PATCH an issue as GitHub does: only the fields sent change; a state change sets closed_at and state_reason. */
  private updateIssue(fixture: RepositoryFixture, number: number, body: unknown): Answer {
    if (!fixture.repository.has_issues) return error(410, 'Issues are disabled for this repo', `${DOCS}/issues/issues#update-an-issue`);
    const issue = fixture.issues.find((i) => i.number === number);
    if (!issue) return notFound('issues/issues#update-an-issue');
    const input = (body ?? {}) as { state?: unknown; state_reason?: unknown; title?: unknown; body?: unknown; labels?: unknown; assignees?: unknown };
    const invalid = (field: string, value: unknown): Answer => ({
      status: 422,
      body: {
        message: 'Validation Failed',
        errors: [{ value, resource: 'Issue', field, code: 'invalid' }],
        documentation_url: `${DOCS}/issues/issues#update-an-issue`,
        status: '422',
      },
    });
    if (input.state !== undefined && input.state !== 'open' && input.state !== 'closed') return invalid('state', input.state);
    if (input.state_reason !== undefined && input.state_reason !== null && !['completed', 'not_planned', 'reopened'].includes(String(input.state_reason))) {
      return invalid('state_reason', input.state_reason);
    }
    if (input.title !== undefined && (typeof input.title !== 'string' || input.title === '')) return invalid('title', input.title);
    const strings = (value: unknown): string[] | undefined => (Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined);
    if (input.labels !== undefined && !strings(input.labels)) return invalid('labels', input.labels);
    if (input.assignees !== undefined && !strings(input.assignees)) return invalid('assignees', input.assignees);

    const before = JSON.stringify(issue);
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    // GitHub ignores state_reason unless the state changes; closing defaults to "completed", reopening is "reopened".
    if (input.state !== undefined && input.state !== issue.state) {
      const closing = input.state === 'closed';
      issue.state = closing ? 'closed' : 'open';
      issue.closed_at = closing ? now : null;
      issue.state_reason = closing ? (typeof input.state_reason === 'string' ? input.state_reason : 'completed') : 'reopened';
    }
    if (typeof input.title === 'string') issue.title = input.title;
    if (input.body !== undefined) issue.body = typeof input.body === 'string' && input.body !== '' ? input.body : null;
    const labels = strings(input.labels);
    if (labels) issue.labels = labels;
    const assignees = strings(input.assignees);
    if (assignees) issue.assignees = assignees;
    if (JSON.stringify(issue) !== before) issue.updated_at = now;
    return { status: 200, body: this.renderIssue(fixture, issue) };
  }

  private createComment(fixture: RepositoryFixture, number: number, body: unknown, token: TokenFixture): Answer {
    const issue = fixture.issues.find((i) => i.number === number);
    if (!issue) return notFound('issues/comments#create-an-issue-comment');
    const text = (body as { body?: unknown } | undefined)?.body;
    if (typeof text !== 'string' || text === '') {
      return {
        status: 422,
        body: {
          message: 'Validation Failed',
          errors: [{ resource: 'IssueComment', code: 'missing_field', field: 'body' }],
          documentation_url: DOCS,
          status: '422',
        },
      };
    }
    const comments = (fixture.comments[String(number)] ??= []);
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const comment: CommentFixture = {
      id: 100_000 + comments.length + number * 1000,
      user: token.login,
      body: text,
      created_at: now,
      author_association: 'MEMBER',
    };
    comments.push(comment);
    return { status: 201, body: this.renderComment(fixture, number, comment) };
  }

  // ---------------------------------------------------------------- pulls

  private getPull(fixture: RepositoryFixture, number: number): Answer {
    const issue = fixture.issues.find((i) => i.number === number && i.pull_request);
    const pull = fixture.pulls[String(number)];
    if (!issue || !pull) return notFound('pulls/pulls#get-a-pull-request');
    const base = this.renderIssue(fixture, issue);
    const repo = this.renderRepository(fixture);
    return {
      status: 200,
      body: {
        url: `${this.origin}/repos/${fullName(fixture)}/pulls/${number}`,
        id: 50_000 + number,
        node_id: `PR_${number}`,
        html_url: `https://github.com/${fullName(fixture)}/pull/${number}`,
        diff_url: `https://github.com/${fullName(fixture)}/pull/${number}.diff`,
        patch_url: `https://github.com/${fullName(fixture)}/pull/${number}.patch`,
        issue_url: `${this.origin}/repos/${fullName(fixture)}/issues/${number}`,
        number,
        state: issue.state,
        locked: false,
        title: issue.title,
        user: base.user,
        body: issue.body,
        labels: base.labels,
        milestone: base.milestone,
        active_lock_reason: null,
        created_at: issue.created_at,
        updated_at: issue.updated_at,
        closed_at: issue.closed_at ?? null,
        merged_at: pull.merged ? (issue.closed_at ?? issue.updated_at) : null,
        merge_commit_sha: null,
        assignee: base.assignee,
        assignees: base.assignees,
        requested_reviewers: pull.requested_reviewers.map((login) => this.renderUser(login)),
        requested_teams: pull.requested_teams.map((slug, i) => ({
          id: 300 + i,
          node_id: `T_${slug}`,
          name: slug,
          slug,
          description: null,
          privacy: 'closed',
          permission: 'push',
          url: `${this.origin}/orgs/${fixture.repository.owner}/teams/${slug}`,
          html_url: `https://github.com/orgs/${fixture.repository.owner}/teams/${slug}`,
          members_url: '',
          repositories_url: '',
          parent: null,
        })),
        head: {
          label: `${fixture.repository.owner}:${pull.head.ref}`,
          ref: pull.head.ref,
          sha: pull.head.sha,
          user: this.renderUser(fixture.repository.owner),
          repo,
        },
        base: {
          label: `${fixture.repository.owner}:${pull.base.ref}`,
          ref: pull.base.ref,
          sha: pull.base.sha,
          user: this.renderUser(fixture.repository.owner),
          repo,
        },
        author_association: 'MEMBER',
        draft: pull.draft,
        merged: pull.merged,
        mergeable: pull.mergeable,
        rebaseable: pull.mergeable,
        mergeable_state: pull.mergeable_state,
        merged_by: null,
        comments: fixture.comments[String(number)]?.length ?? 0,
        review_comments: pull.review_comments,
        maintainer_can_modify: false,
        commits: pull.commits,
        additions: pull.files.reduce((n, f) => n + f.additions, 0),
        deletions: pull.files.reduce((n, f) => n + f.deletions, 0),
        changed_files: pull.files.length,
      },
    };
  }

  private listPullFiles(fixture: RepositoryFixture, number: number, url: URL): Answer {
    const pull = fixture.pulls[String(number)];
    if (!pull) return notFound('pulls/pulls#list-pull-requests-files');
    const files = pull.files.map((f) => ({
      sha: sha1(`${number}:${f.filename}`),
      filename: f.filename,
      status: f.status,
      additions: f.additions,
      deletions: f.deletions,
      changes: f.additions + f.deletions,
      blob_url: `https://github.com/${fullName(fixture)}/blob/${pull.head.sha}/${f.filename}`,
      raw_url: `https://github.com/${fullName(fixture)}/raw/${pull.head.sha}/${f.filename}`,
      contents_url: `${this.origin}/repos/${fullName(fixture)}/contents/${f.filename}?ref=${pull.head.sha}`,
      ...(f.patch !== undefined ? { patch: f.patch } : {}),
      ...(f.previous_filename !== undefined ? { previous_filename: f.previous_filename } : {}),
    }));
    return this.paginate(files, url);
  }

  // ---------------------------------------------------------------- contents

  private contents(fixture: RepositoryFixture, rawPath: string, url: URL): Answer {
    const path = rawPath
      .split('/')
      .map((segment) => decodeURIComponent(segment))
      .join('/')
      .replace(/^\/+|\/+$/g, '');
    const ref = url.searchParams.get('ref') ?? fixture.repository.default_branch;
    const tree = fixture.files[ref];
    if (!tree) return error(404, `No commit found for the ref ${ref}`, `${DOCS}/repos/contents#get-repository-content`);
    const spec = tree[path];
    if (spec !== undefined) return { status: 200, body: this.renderContent(fixture, ref, path, spec, true) };
    const prefix = path === '' ? '' : `${path}/`;
    const children = new Map<string, { type: 'file' | 'dir'; spec?: FileSpec }>();
    for (const [filePath, fileSpec] of Object.entries(tree)) {
      if (!filePath.startsWith(prefix)) continue;
      const rest = filePath.slice(prefix.length);
      const [name, ...deeper] = rest.split('/');
      if (!name) continue;
      children.set(name, deeper.length > 0 ? { type: 'dir' } : { type: 'file', spec: fileSpec });
    }
    if (children.size === 0) return notFound('repos/contents#get-repository-content');
    const entries = [...children.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, child]) => {
        const childPath = `${prefix}${name}`;
        if (child.type === 'dir' || child.spec === undefined) {
          return {
            type: 'dir',
            size: 0,
            name,
            path: childPath,
            sha: sha1(`${ref}:${childPath}/`),
            url: '',
            git_url: '',
            html_url: `https://github.com/${fullName(fixture)}/tree/${ref}/${childPath}`,
            download_url: null,
            _links: {},
          };
        }
        return this.renderContent(fixture, ref, childPath, child.spec, false);
      });
    return { status: 200, body: entries };
  }

  private renderContent(fixture: RepositoryFixture, ref: string, path: string, spec: FileSpec, withContent: boolean): Record<string, unknown> {
    const name = path.split('/').pop() ?? path;
    const common = {
      name,
      path,
      url: `${this.origin}/repos/${fullName(fixture)}/contents/${path}?ref=${ref}`,
      html_url: `https://github.com/${fullName(fixture)}/blob/${ref}/${path}`,
      git_url: `${this.origin}/repos/${fullName(fixture)}/git/blobs/${sha1(`${ref}:${path}`)}`,
      sha: sha1(`${ref}:${path}`),
    };
    if (typeof spec === 'object' && 'symlink' in spec) {
      return { type: 'symlink', target: spec.symlink, size: spec.symlink.length, ...common, download_url: null, _links: {} };
    }
    if (typeof spec === 'object' && 'submodule' in spec) {
      return { type: 'submodule', submodule_git_url: spec.submodule, size: 0, ...common, download_url: null, _links: {} };
    }
    const downloadUrl = `https://raw.githubusercontent.com/${fullName(fixture)}/${ref}/${path}`;
    if (typeof spec === 'object' && 'size' in spec) {
      // GitHub: files over 1 MB come back without content and with encoding "none".
      return { type: 'file', encoding: 'none', size: spec.size, ...common, download_url: downloadUrl, content: '', _links: {} };
    }
    const bytes = fileBytes(spec);
    return {
      type: 'file',
      encoding: 'base64',
      size: bytes.length,
      ...common,
      download_url: downloadUrl,
      ...(withContent ? { content: wrapBase64(bytes.toString('base64')) } : {}),
      _links: { self: common.url, git: common.git_url, html: common.html_url },
    };
  }

  // ---------------------------------------------------------------- search

  private searchIssues(url: URL, token: TokenFixture | undefined): Answer {
    const q = url.searchParams.get('q');
    if (!q) {
      return {
        status: 422,
        body: {
          message: 'Validation Failed',
          errors: [{ resource: 'Search', field: 'q', code: 'missing' }],
          documentation_url: `${DOCS}/search/search#search-issues-and-pull-requests`,
          status: '422',
        },
      };
    }
    const terms = q.match(/(?:[^\s"]+|"[^"]*")+/g) ?? [];
    let repos = [...this.repositories.values()].filter((r) => canSee(r, token));
    const filters: Array<(issue: IssueFixture) => boolean> = [];
    for (const term of terms) {
      const [qualifier, ...valueParts] = term.split(':');
      const value = valueParts.join(':').replace(/^"|"$/g, '');
      if (valueParts.length === 0 || qualifier === undefined) {
        const word = term.replace(/^"|"$/g, '').toLowerCase();
        filters.push((i) => i.title.toLowerCase().includes(word) || (i.body ?? '').toLowerCase().includes(word));
        continue;
      }
      switch (qualifier.toLowerCase()) {
        case 'repo': {
          const fixture = this.repositories.get(value.toLowerCase());
          if (!fixture || !canSee(fixture, token)) {
            return {
              status: 422,
              body: {
                message: 'Validation Failed',
                errors: [
                  {
                    message:
                      'The listed users and repositories cannot be searched either because the resources do not exist or you do not have permission to view them.',
                    resource: 'Search',
                    field: 'q',
                    code: 'invalid',
                  },
                ],
                documentation_url: `${DOCS}/search/search#search-issues-and-pull-requests`,
                status: '422',
              },
            };
          }
          repos = repos.filter((r) => r === fixture);
          break;
        }
        case 'is':
          if (value === 'issue') filters.push((i) => !i.pull_request);
          else if (value === 'pr' || value === 'pull-request') filters.push((i) => i.pull_request === true);
          else if (value === 'open' || value === 'closed') filters.push((i) => i.state === value);
          break;
        case 'state':
          filters.push((i) => i.state === value);
          break;
        case 'label':
          filters.push((i) => i.labels.includes(value));
          break;
        case 'author':
          filters.push((i) => i.user === value);
          break;
        case 'assignee':
          filters.push((i) => i.assignees.includes(value));
          break;
        default:
          break;
      }
    }
    const items = repos.flatMap((fixture) =>
      fixture.issues.filter((issue) => filters.every((f) => f(issue))).map((issue) => ({ ...this.renderIssue(fixture, issue), score: 1 })),
    );
    const page = this.paginate(items, url);
    return { ...page, body: { total_count: items.length, incomplete_results: false, items: page.body } };
  }

  // ---------------------------------------------------------------- rendering

  private paginate<T>(items: T[], url: URL): Answer & { body: T[] } {
    const perPage = Math.min(100, Number(url.searchParams.get('per_page') ?? 30) || 30);
    const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const slice = items.slice((page - 1) * perPage, page * perPage);
    const link = (p: number, rel: string): string => {
      const target = new URL(url.href);
      target.searchParams.set('page', String(p));
      target.searchParams.set('per_page', String(perPage));
      return `<${target.href}>; rel="${rel}"`;
    };
    const links: string[] = [];
    if (page > 1) links.push(link(page - 1, 'prev'));
    if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
    if (page > 1) links.push(link(1, 'first'));
    return { status: 200, body: slice, ...(links.length > 0 ? { headers: { link: links.join(', ') } } : {}) };
  }

  private renderUser(login: string): Record<string, unknown> {
    const user = this.users[login] ?? { id: 9999, type: 'User' };
    return {
      login,
      id: user.id,
      node_id: `U_${user.id}`,
      avatar_url: `https://avatars.githubusercontent.com/u/${user.id}?v=4`,
      gravatar_id: '',
      url: `${this.origin}/users/${login}`,
      html_url: `https://github.com/${login}`,
      type: user.type,
      site_admin: false,
    };
  }

  private renderRepository(fixture: RepositoryFixture): Record<string, unknown> {
    const r = fixture.repository;
    const name = fullName(fixture);
    const openIssues = fixture.issues.filter((i) => i.state === 'open').length;
    return {
      id: r.id,
      node_id: `R_${r.id}`,
      name: r.name,
      full_name: name,
      owner: { ...this.renderUser(r.owner), type: 'Organization' },
      private: r.private,
      html_url: `https://github.com/${name}`,
      description: r.description,
      fork: false,
      url: `${this.origin}/repos/${name}`,
      homepage: r.homepage,
      language: r.language,
      forks_count: r.forks_count,
      stargazers_count: r.stargazers_count,
      watchers_count: r.stargazers_count,
      size: 1024,
      default_branch: r.default_branch,
      open_issues_count: openIssues,
      is_template: false,
      topics: r.topics,
      has_issues: r.has_issues,
      has_projects: true,
      has_wiki: false,
      has_pages: false,
      has_downloads: true,
      has_discussions: false,
      archived: false,
      disabled: false,
      visibility: r.private ? 'private' : 'public',
      pushed_at: r.pushed_at,
      created_at: r.created_at,
      updated_at: r.updated_at,
      license: r.license ? { ...r.license, url: `${this.origin}/licenses/${r.license.key}`, node_id: `L_${r.license.key}` } : null,
      forks: r.forks_count,
      open_issues: openIssues,
      watchers: r.stargazers_count,
      subscribers_count: 10,
      network_count: r.forks_count,
    };
  }

  private renderIssue(
    fixture: RepositoryFixture,
    issue: IssueFixture,
  ): Record<string, unknown> & { user: unknown; labels: unknown; assignee: unknown; assignees: unknown; milestone: unknown } {
    const name = fullName(fixture);
    const milestone = issue.milestone !== undefined ? fixture.milestones[String(issue.milestone)] : undefined;
    const assignees = issue.assignees.map((login) => this.renderUser(login));
    return {
      url: `${this.origin}/repos/${name}/issues/${issue.number}`,
      repository_url: `${this.origin}/repos/${name}`,
      labels_url: `${this.origin}/repos/${name}/issues/${issue.number}/labels{/name}`,
      comments_url: `${this.origin}/repos/${name}/issues/${issue.number}/comments`,
      events_url: `${this.origin}/repos/${name}/issues/${issue.number}/events`,
      html_url: `https://github.com/${name}/${issue.pull_request ? 'pull' : 'issues'}/${issue.number}`,
      id: fixture.repository.id * 1000 + issue.number,
      node_id: `I_${fixture.repository.id}_${issue.number}`,
      number: issue.number,
      title: issue.title,
      user: this.renderUser(issue.user),
      labels: issue.labels.map((label, i) => ({
        id: 4000 + i,
        node_id: `LA_${label}`,
        url: `${this.origin}/repos/${name}/labels/${encodeURIComponent(label)}`,
        name: label,
        color: fixture.labels[label]?.color ?? 'ededed',
        default: label === 'bug',
        description: fixture.labels[label]?.description ?? null,
      })),
      state: issue.state,
      locked: false,
      assignee: assignees[0] ?? null,
      assignees,
      milestone:
        milestone && issue.milestone !== undefined
          ? {
              url: `${this.origin}/repos/${name}/milestones/${issue.milestone}`,
              id: 600 + issue.milestone,
              number: issue.milestone,
              state: 'open',
              title: milestone.title,
              description: null,
              creator: this.renderUser(fixture.repository.owner),
              open_issues: 1,
              closed_issues: 0,
              created_at: issue.created_at,
              updated_at: issue.updated_at,
              closed_at: null,
              due_on: null,
            }
          : null,
      comments: fixture.comments[String(issue.number)]?.length ?? 0,
      created_at: issue.created_at,
      updated_at: issue.updated_at,
      closed_at: issue.closed_at ?? null,
      author_association: 'MEMBER',
      active_lock_reason: null,
      body: issue.body,
      state_reason: issue.state_reason ?? null,
      reactions: { url: '', total_count: 0, '+1': 0, '-1': 0, laugh: 0, hooray: 0, confused: 0, heart: 0, rocket: 0, eyes: 0 },
      ...(issue.pull_request
        ? {
            pull_request: {
              url: `${this.origin}/repos/${name}/pulls/${issue.number}`,
              html_url: `https://github.com/${name}/pull/${issue.number}`,
              diff_url: `https://github.com/${name}/pull/${issue.number}.diff`,
              patch_url: `https://github.com/${name}/pull/${issue.number}.patch`,
              merged_at: null,
            },
          }
        : {}),
    };
  }

  private renderComment(fixture: RepositoryFixture, number: number, comment: CommentFixture): Record<string, unknown> {
    const name = fullName(fixture);
    return {
      id: comment.id,
      node_id: `IC_${comment.id}`,
      url: `${this.origin}/repos/${name}/issues/comments/${comment.id}`,
      html_url: `https://github.com/${name}/issues/${number}#issuecomment-${comment.id}`,
      issue_url: `${this.origin}/repos/${name}/issues/${number}`,
      body: comment.body,
      user: this.renderUser(comment.user),
      created_at: comment.created_at,
      updated_at: comment.updated_at ?? comment.created_at,
      author_association: comment.author_association,
    };
  }
}

// ------------------------------------------------------------------ helpers

function canSee(fixture: RepositoryFixture, token: TokenFixture | undefined): boolean {
  if (!fixture.repository.private) return true;
  if (!token) return false;
  return token.kind === 'classic' ? token.scopes.includes('repo') : token.permissions.metadata !== undefined;
}

function fullName(fixture: RepositoryFixture): string {
  return `${fixture.repository.owner}/${fixture.repository.name}`;
}

function error(status: number, message: string, documentationUrl: string): Answer {
  return { status, body: { message, documentation_url: documentationUrl, status: String(status) } };
}

function notFound(docsPath = ''): Answer {
  return error(404, 'Not Found', docsPath ? `${DOCS}/${docsPath}` : DOCS);
}

function fileBytes(spec: Exclude<FileSpec, { size: number } | { symlink: string } | { submodule: string }>): Buffer {
  if (typeof spec === 'string') return Buffer.from(spec, 'utf8');
  if ('base64' in spec) return Buffer.from(spec.base64, 'base64');
  if ('repeat' in spec) return Buffer.from(spec.repeat.repeat(spec.times), 'utf8');
  return Buffer.from(readFixtureText(spec.fixture), 'utf8');
}

/** GitHub wraps base64 content at 60 characters per line. */
function wrapBase64(text: string): string {
  return (text.match(/.{1,60}/g) ?? []).join('\n') + '\n';
}

function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  if (chunks.length === 0) return undefined;
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
