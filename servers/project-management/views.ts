import { z } from 'zod';
import { TASK_PRIORITIES, TASK_STATUSES } from './domain.js';
import type { ActivityEntry, Project, Task } from './store/projectStore.js';

/** What tools return, in the snake_case their inputs use. */
export const taskView = z.object({
  id: z.string().describe('Task id, e.g. "T-101".'),
  project: z.string(),
  parent_id: z.string().nullable(),
  title: z.string(),
  description: z.string(),
  status: z.enum(TASK_STATUSES),
  priority: z.enum(TASK_PRIORITIES),
  assignee: z.string().nullable(),
  external_ref: z.string().nullable(),
  created_by: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type TaskView = z.infer<typeof taskView>;

export const projectView = z.object({
  key: z.string(),
  name: z.string(),
  description: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
});

export const activityView = z.object({
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  project: z.string().nullable(),
  task_id: z.string().nullable(),
  summary: z.string(),
  details: z.record(z.string(), z.unknown()),
});

export function toTaskView(task: Task): TaskView {
  return {
    id: task.id,
    project: task.project,
    parent_id: task.parentId,
    title: task.title,
    description: task.description,
    status: task.status,
    priority: task.priority,
    assignee: task.assignee,
    external_ref: task.externalRef,
    created_by: task.createdBy,
    created_at: task.createdAt,
    updated_at: task.updatedAt,
  };
}

export function toProjectView(project: Project): z.infer<typeof projectView> {
  return { key: project.key, name: project.name, description: project.description, created_at: project.createdAt, updated_at: project.updatedAt };
}

export function toActivityView(entry: ActivityEntry): z.infer<typeof activityView> {
  return {
    at: entry.at,
    actor: entry.actor,
    action: entry.action,
    project: entry.project,
    task_id: entry.taskId,
    summary: entry.summary,
    details: entry.details,
  };
}

/** One line per task, for the text half of a tool result. */
export function taskLine(task: Task): string {
  const who = task.assignee ? ` → ${task.assignee}` : ' (unassigned)';
  return `${task.id} [${task.status}, ${task.priority}] ${task.title}${who} (project ${task.project})`;
}
