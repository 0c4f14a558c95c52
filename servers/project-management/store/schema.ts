import type { Generated } from 'kysely';
import type { TaskPriority, TaskStatus } from '../domain.js';

/** Row shapes as stored. Timestamps are ISO-8601 UTC strings in both databases, so they sort as text. */
export interface ProjectsTable {
  id: Generated<number>;
  key: string;
  name: string;
  description: string;
  created_at: string;
  updated_at: string;
}

export interface TasksTable {
  id: Generated<number>;
  project_id: number;
  parent_id: number | null;
  title: string;
  description: string;
  status: TaskStatus;
  priority: TaskPriority;
  assignee: string | null;
  external_ref: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
}

export interface ActivityTable {
  id: Generated<number>;
  at: string;
  actor: string;
  action: string;
  project_id: number | null;
  task_id: number | null;
  summary: string;
  /** JSON object: the fields that changed, as { field: { from, to } } or the created values. */
  details: string;
}

export interface PendingDeletionsTable {
  token: string;
  task_id: number;
  task_updated_at: string;
  requested_by: string;
  expires_at: string;
}

export interface Database {
  projects: ProjectsTable;
  tasks: TasksTable;
  activity: ActivityTable;
  pending_deletions: PendingDeletionsTable;
}

export type SqlDialectName = 'sqlite' | 'postgres';
