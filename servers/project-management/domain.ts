import { z } from 'zod';
import { invalidInput } from '../../shared/errors.js';

/** Task states and the moves allowed between them. */
export const TASK_STATUSES = ['open', 'in_progress', 'done'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const TASK_PRIORITIES = ['low', 'medium', 'high', 'urgent'] as const;
export type TaskPriority = (typeof TASK_PRIORITIES)[number];

/** open → in_progress | done; in_progress → open | done; done → open (reopen). */
export const STATUS_TRANSITIONS: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  open: ['in_progress', 'done'],
  in_progress: ['open', 'done'],
  done: ['open'],
};

export function assertTransition(from: TaskStatus, to: TaskStatus): void {
  if (from === to) return;
  const allowed = STATUS_TRANSITIONS[from];
  if (!allowed.includes(to)) {
    throw invalidInput('status', `a task cannot move from "${from}" to "${to}".`, `From "${from}" it can move to: ${allowed.map((s) => `"${s}"`).join(', ')}.`);
  }
}

export const LIMITS = {
  titleMax: 200,
  descriptionMax: 10_000,
  listDefault: 20,
  listMax: 100,
  textFilterMax: 200,
  projectKeyMax: 40,
  projectNameMax: 100,
  externalRefMax: 500,
} as const;

/** Task ids are shown as T-<number>; callers may pass "T-101", "t-101" or 101. */
export const TASK_ID_PATTERN = /^[Tt]-(\d{1,12})$/;

export function formatTaskId(id: number): string {
  return `T-${id}`;
}

export function parseTaskId(value: string | number, field = 'id'): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
  const text = String(value).trim();
  const match = TASK_ID_PATTERN.exec(text) ?? /^(\d{1,12})$/.exec(text);
  if (!match?.[1]) throw invalidInput(field, `"${text.slice(0, 40)}" is not a task id.`, 'Task ids look like "T-101"; list_tasks shows them.');
  return Number(match[1]);
}

// Control characters other than tab/newline have no place in titles; they are
// how terminal and log injection is attempted.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const noControlCharacters = (value: string): boolean => !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(value);

export const schemas = {
  taskId: z
    .string()
    .regex(/^([Tt]-)?\d{1,12}$/, 'must be a task id such as "T-101"')
    .describe('Task id as shown by list_tasks, e.g. "T-101".'),
  title: z
    .string()
    .trim()
    .min(1, 'title must not be empty')
    .max(LIMITS.titleMax, `title must be at most ${LIMITS.titleMax} characters`)
    .refine(noControlCharacters, 'title must not contain control characters'),
  description: z.string().max(LIMITS.descriptionMax, `description must be at most ${LIMITS.descriptionMax} characters`),
  status: z.enum(TASK_STATUSES, { message: `status must be one of ${TASK_STATUSES.join(', ')}` }),
  priority: z.enum(TASK_PRIORITIES, { message: `priority must be one of ${TASK_PRIORITIES.join(', ')}` }),
  assignee: z.email('assignee must be an email address such as ada@example.com').max(320),
  projectKey: z
    .string()
    .trim()
    .toLowerCase()
    .regex(
      /^[a-z0-9][a-z0-9-]{0,39}$/,
      'project must be a project key: 1-40 lowercase letters, digits or dashes, starting with a letter or digit (list_projects shows them)',
    ),
  projectName: z
    .string()
    .trim()
    .min(1, 'name must not be empty')
    .max(LIMITS.projectNameMax, `name must be at most ${LIMITS.projectNameMax} characters`)
    .refine(noControlCharacters, 'name must not contain control characters'),
  externalRef: z
    .url('external_ref must be a URL, e.g. https://github.com/acme/api/issues/42')
    .max(LIMITS.externalRefMax, `external_ref must be at most ${LIMITS.externalRefMax} characters`),
};
