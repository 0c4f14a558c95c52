import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';

/**
 * The domain tools composite workflows call, in one table: this and the workflows' manifests
 * are the gateway's domain-specific part. Each names the part an upstream plays
 * (`workflows.upstreams` maps it to a namespace), the tool's name there, and how it acts, which
 * gives its scope until the upstream has listed the tool (afterwards the listed annotations and
 * `auth.toolScopes` decide, exactly as for a direct call).
 */
export type Domain = 'pm' | 'github' | 'docs';

/** read: `<namespace>:read`; write and destructive: `<namespace>:write` (unless `auth.toolScopes` says otherwise). */
export type ToolAccess = 'read' | 'write' | 'destructive';

export interface DomainTool {
  domain: Domain;
  tool: string;
  access: ToolAccess;
}

export const DOMAIN_TOOLS = {
  getIssue: { domain: 'github', tool: 'get_issue', access: 'read' },
  listIssues: { domain: 'github', tool: 'list_issues', access: 'read' },
  searchIssues: { domain: 'github', tool: 'search_issues', access: 'read' },
  getPullRequest: { domain: 'github', tool: 'get_pull_request', access: 'read' },
  getCodeOwners: { domain: 'github', tool: 'get_code_owners', access: 'read' },
  commentOnIssue: { domain: 'github', tool: 'comment_on_issue', access: 'write' },
  updateIssue: { domain: 'github', tool: 'update_issue', access: 'write' },
  searchDocs: { domain: 'docs', tool: 'search_docs', access: 'read' },
  listTasks: { domain: 'pm', tool: 'list_tasks', access: 'read' },
  getTaskDetails: { domain: 'pm', tool: 'get_task_details', access: 'read' },
  createTask: { domain: 'pm', tool: 'create_task', access: 'write' },
  updateTask: { domain: 'pm', tool: 'update_task', access: 'write' },
  deleteTask: { domain: 'pm', tool: 'delete_task', access: 'destructive' },
} as const satisfies Record<string, DomainTool>;

const ANNOTATIONS: Record<ToolAccess, ToolAnnotations> = {
  read: { readOnlyHint: true, destructiveHint: false },
  write: { readOnlyHint: false, destructiveHint: false },
  destructive: { readOnlyHint: false, destructiveHint: true },
};

/** The annotations a tool of this access is known to have, for its scope before it is listed. */
export function expectedAnnotations(access: ToolAccess): ToolAnnotations {
  return ANNOTATIONS[access];
}
