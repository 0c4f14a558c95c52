import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { DomainError, invalidInput, notFound } from '../../../shared/errors.js';
import { assertTransition, formatTaskId, LIMITS, type TaskPriority, type TaskStatus } from '../domain.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { Database, ProjectsTable, TasksTable } from './schema.js';

export interface Project {
  key: string;
  name: string;
  description: string;
  createdAt: string;
  updatedAt: string;
}

export interface Task {
  id: string;
  project: string;
  parentId: string | null;
  title: string;
  description: string;
  status: TaskStatus;
  priority: TaskPriority;
  assignee: string | null;
  externalRef: string | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export interface ActivityEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  project: string | null;
  taskId: string | null;
  summary: string;
  details: Record<string, unknown>;
}

export interface NewTask {
  project: string;
  title: string;
  description?: string | undefined;
  priority?: TaskPriority | undefined;
  assignee?: string | null | undefined;
  externalRef?: string | null | undefined;
  parentId?: number | undefined;
}

export interface TaskChanges {
  title?: string | undefined;
  description?: string | undefined;
  status?: TaskStatus | undefined;
  priority?: TaskPriority | undefined;
  assignee?: string | null | undefined;
  externalRef?: string | null | undefined;
}

export interface TaskFilter {
  status?: TaskStatus[] | undefined;
  /** An email, or null for unassigned tasks. */
  assignee?: string | null | undefined;
  project?: string | undefined;
  text?: string | undefined;
  externalRef?: string | undefined;
}

export interface TaskPage {
  tasks: Task[];
  nextCursor: string | null;
}

export interface ProjectStatus {
  project: string;
  name: string;
  total: number;
  byStatus: Record<TaskStatus, number>;
  openByPriority: Record<TaskPriority, number>;
  unassignedOpen: number;
}

export interface AssigneeWorkload {
  assignee: string | null;
  open: number;
  inProgress: number;
  urgentOrHigh: number;
  taskIds: string[];
}

export interface PendingDeletion {
  token: string;
  expiresAt: string;
  task: Task;
  subtasks: Task[];
}

/** What changed, for resource subscriptions. */
export interface StoreChange {
  project: string;
  projectCreated: boolean;
}

export interface ProjectStoreOptions {
  now?: () => Date;
  /** How long a delete confirmation token stays valid. */
  deletionTtlMs?: number;
}

type Db = Kysely<Database> | Transaction<Database>;

const TASK_COLUMNS = [
  'tasks.id',
  'projects.key as project',
  'tasks.parent_id',
  'tasks.title',
  'tasks.description',
  'tasks.status',
  'tasks.priority',
  'tasks.assignee',
  'tasks.external_ref',
  'tasks.created_by',
  'tasks.created_at',
  'tasks.updated_at',
] as const;

/** A task as TASK_COLUMNS select it: the stored row, with its project's key in place of project_id. */
type TaskRow = Omit<Selectable<TasksTable>, 'project_id'> & { project: Selectable<ProjectsTable>['key'] };

function toTask(row: TaskRow): Task {
  return {
    id: formatTaskId(row.id),
    project: row.project,
    parentId: row.parent_id === null ? null : formatTaskId(row.parent_id),
    title: row.title,
    description: row.description,
    status: row.status,
    priority: row.priority,
    assignee: row.assignee,
    externalRef: row.external_ref,
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function emptyStatusCounts(): Record<TaskStatus, number> {
  return { open: 0, in_progress: 0, done: 0 };
}

function emptyPriorityCounts(): Record<TaskPriority, number> {
  return { low: 0, medium: 0, high: 0, urgent: 0 };
}

/** Escape LIKE wildcards so user text is matched literally (with `escape '\\'`). */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function likePattern(text: string): string {
  return `%${escapeLike(text.toLowerCase())}%`;
}

/**
 * The project-management data: projects, tasks and the activity log, on SQLite or
 * PostgreSQL through one Kysely query layer. Every write runs in a transaction and
 * records who did it; `changes` tells listeners what was affected after commit.
 */
export class ProjectStore {
  readonly changes = new EventEmitter<{ change: [StoreChange] }>();
  private readonly now: () => Date;
  private readonly deletionTtlMs: number;

  constructor(
    private readonly db: Kysely<Database>,
    options: ProjectStoreOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.deletionTtlMs = options.deletionTtlMs ?? 5 * 60_000;
    this.changes.setMaxListeners(0);
  }

  private timestamp(): string {
    return this.now().toISOString();
  }

  // ---------------------------------------------------------------- projects

  async createProject(input: { key: string; name: string; description?: string | undefined }, actor: string): Promise<Project> {
    const at = this.timestamp();
    const project = await this.db.transaction().execute(async (trx) => {
      const existing = await trx.selectFrom('projects').select('key').where('key', '=', input.key).executeTakeFirst();
      if (existing) {
        throw new DomainError('conflict', `A project with key "${input.key}" already exists.`, {
          action: 'Choose another key, or use the existing project.',
          field: 'key',
        });
      }
      const row = await trx
        .insertInto('projects')
        .values({ key: input.key, name: input.name, description: input.description ?? '', created_at: at, updated_at: at })
        .returning(['id', 'key', 'name', 'description', 'created_at', 'updated_at'])
        .executeTakeFirstOrThrow();
      await this.record(trx, actor, 'project.created', row.id, null, `Created project ${row.key} (${row.name})`, {
        key: row.key,
        name: row.name,
      });
      return row;
    });
    this.changes.emit('change', { project: project.key, projectCreated: true });
    return { key: project.key, name: project.name, description: project.description, createdAt: project.created_at, updatedAt: project.updated_at };
  }

  async listProjects(): Promise<Array<Project & { openTasks: number }>> {
    const rows = await this.db
      .selectFrom('projects')
      .leftJoin('tasks', (join) => join.onRef('tasks.project_id', '=', 'projects.id').on('tasks.status', '!=', 'done'))
      .select(({ fn }) => [
        'projects.key',
        'projects.name',
        'projects.description',
        'projects.created_at',
        'projects.updated_at',
        fn.count<number>('tasks.id').as('open_tasks'),
      ])
      .groupBy(['projects.id', 'projects.key', 'projects.name', 'projects.description', 'projects.created_at', 'projects.updated_at'])
      .orderBy('projects.key')
      .execute();
    return rows.map((r) => ({
      key: r.key,
      name: r.name,
      description: r.description,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      openTasks: Number(r.open_tasks),
    }));
  }

  /** Project keys starting with a prefix, for argument completion. */
  async projectKeys(prefix = '', limit = 50): Promise<string[]> {
    const rows = await this.db
      .selectFrom('projects')
      .select('key')
      .where(sql<boolean>`key like ${`${escapeLike(prefix.toLowerCase())}%`} escape '\\'`)
      .orderBy('key')
      .limit(limit)
      .execute();
    return rows.map((r) => r.key);
  }

  private async projectId(db: Db, key: string): Promise<number> {
    const row = await db.selectFrom('projects').select('id').where('key', '=', key).executeTakeFirst();
    if (row) return row.id;
    const known = await db.selectFrom('projects').select('key').orderBy('key').limit(20).execute();
    throw new DomainError('not_found', `Project "${key}" does not exist.`, {
      field: 'project',
      action: `Known projects: ${known.map((k) => k.key).join(', ') || '(none)'}. Create it with create_project first.`,
    });
  }

  // ------------------------------------------------------------------- tasks

  async createTask(input: NewTask, actor: string): Promise<Task> {
    const [task] = await this.createTasks([input], actor);
    return task as Task;
  }

  /** Create several tasks atomically: either all are stored or none. */
  async createTasks(inputs: readonly NewTask[], actor: string): Promise<Task[]> {
    const created = await this.db.transaction().execute(async (trx) => {
      const tasks: Task[] = [];
      for (const input of inputs) tasks.push(await this.insertTask(trx, input, actor));
      return tasks;
    });
    this.emitTaskChanges(created);
    return created;
  }

  /**
   * Create a parent task (or use an existing one) and sub-tasks under it, atomically:
   * a failure on any sub-task leaves no parent behind.
   */
  async createBreakdown(
    parent: NewTask | { existingId: number },
    subtasks: ReadonlyArray<Omit<NewTask, 'parentId' | 'project'>>,
    actor: string,
  ): Promise<{ parent: Task; subtasks: Task[] }> {
    const result = await this.db.transaction().execute(async (trx) => {
      const parentTask = 'existingId' in parent ? await this.requireTask(trx, parent.existingId) : await this.insertTask(trx, parent, actor);
      const parentId = Number(parentTask.id.slice(2));
      const children: Task[] = [];
      for (const sub of subtasks) children.push(await this.insertTask(trx, { ...sub, project: parentTask.project, parentId }, actor));
      return { parent: parentTask, subtasks: children };
    });
    this.emitTaskChanges([result.parent, ...result.subtasks]);
    return result;
  }

  private emitTaskChanges(tasks: readonly Task[]): void {
    for (const project of new Set(tasks.map((t) => t.project))) this.changes.emit('change', { project, projectCreated: false });
  }

  private async insertTask(trx: Db, input: NewTask, actor: string): Promise<Task> {
    const at = this.timestamp();
    const projectId = await this.projectId(trx, input.project);
    if (input.parentId !== undefined) await this.assertCanBeParent(trx, input.parentId, projectId);
    if (input.externalRef) await this.assertExternalRefFree(trx, projectId, input.project, input.externalRef);
    const inserted = await trx
      .insertInto('tasks')
      .values({
        project_id: projectId,
        parent_id: input.parentId ?? null,
        title: input.title,
        description: input.description ?? '',
        status: 'open',
        priority: input.priority ?? 'medium',
        assignee: input.assignee ?? null,
        external_ref: input.externalRef ?? null,
        created_by: actor,
        created_at: at,
        updated_at: at,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const task = await this.requireTask(trx, inserted.id);
    await this.record(trx, actor, 'task.created', projectId, inserted.id, `Created ${task.id}: ${task.title}`, {
      title: task.title,
      priority: task.priority,
      assignee: task.assignee,
      externalRef: task.externalRef,
      parentId: task.parentId,
    });
    return task;
  }

  private async assertCanBeParent(db: Db, parentId: number, projectId: number): Promise<void> {
    const parent = await db.selectFrom('tasks').select(['id', 'parent_id', 'project_id']).where('id', '=', parentId).executeTakeFirst();
    if (!parent) throw notFound(`Parent task ${formatTaskId(parentId)} does not exist.`, 'Use list_tasks to find the parent task id.');
    if (parent.parent_id !== null) {
      throw invalidInput(
        'parent',
        `${formatTaskId(parentId)} is itself a sub-task of ${formatTaskId(parent.parent_id)}; tasks nest one level only.`,
        `Use ${formatTaskId(parent.parent_id)} as the parent instead.`,
      );
    }
    if (parent.project_id !== projectId) {
      throw invalidInput('parent', `${formatTaskId(parentId)} belongs to another project.`, "Sub-tasks must be in their parent task's project.");
    }
  }

  private async assertExternalRefFree(db: Db, projectId: number, projectKey: string, externalRef: string, exceptTaskId?: number): Promise<void> {
    let query = db.selectFrom('tasks').select('id').where('project_id', '=', projectId).where('external_ref', '=', externalRef);
    if (exceptTaskId !== undefined) query = query.where('id', '!=', exceptTaskId);
    const existing = await query.executeTakeFirst();
    if (existing) {
      throw new DomainError('conflict', `Task ${formatTaskId(existing.id)} in project "${projectKey}" already tracks ${externalRef}.`, {
        field: 'external_ref',
        action: `Use get_task_details ${formatTaskId(existing.id)} or update that task instead of creating another.`,
      });
    }
  }

  async getTask(id: number): Promise<Task> {
    return this.requireTask(this.db, id);
  }

  private async findTask(db: Db, id: number): Promise<Task | undefined> {
    const row = await db
      .selectFrom('tasks')
      .innerJoin('projects', 'projects.id', 'tasks.project_id')
      .select(TASK_COLUMNS)
      .where('tasks.id', '=', id)
      .executeTakeFirst();
    return row ? toTask(row) : undefined;
  }

  private async requireTask(db: Db, id: number): Promise<Task> {
    const task = await this.findTask(db, id);
    if (!task) throw notFound(`Task ${formatTaskId(id)} does not exist.`, 'Use list_tasks to find valid task ids.');
    return task;
  }

  async getTaskDetails(id: number): Promise<{ task: Task; parent: Task | null; subtasks: Task[]; activity: ActivityEntry[] }> {
    const task = await this.requireTask(this.db, id);
    const parent = task.parentId ? ((await this.findTask(this.db, Number(task.parentId.slice(2)))) ?? null) : null;
    const subtaskRows = await this.db
      .selectFrom('tasks')
      .innerJoin('projects', 'projects.id', 'tasks.project_id')
      .select(TASK_COLUMNS)
      .where('tasks.parent_id', '=', id)
      .orderBy('tasks.id')
      .execute();
    const activity = await this.activityQuery().where('activity.task_id', '=', id).orderBy('activity.id', 'desc').limit(50).execute();
    return { task, parent, subtasks: subtaskRows.map(toTask), activity: activity.map(toActivity) };
  }

  /**
   * Apply changes to a task. Returns the task and the fields that actually changed;
   * an update that changes nothing records no activity.
   */
  async updateTask(id: number, changes: TaskChanges, actor: string, action = 'task.updated'): Promise<{ task: Task; changed: string[] }> {
    const result = await this.db.transaction().execute(async (trx) => {
      const before = await this.requireTask(trx, id);
      if (changes.status !== undefined) assertTransition(before.status, changes.status);
      const diff: Record<string, { from: unknown; to: unknown }> = {};
      const compare = <K extends keyof TaskChanges & keyof Task>(field: K) => {
        const next = changes[field];
        if (next !== undefined && next !== before[field]) diff[field] = { from: before[field], to: next };
      };
      (['title', 'description', 'status', 'priority', 'assignee', 'externalRef'] as const).forEach(compare);
      const changed = Object.keys(diff);
      if (changed.length === 0) return { task: before, changed };
      if (typeof changes.externalRef === 'string' && diff.externalRef) {
        const projectId = await this.projectId(trx, before.project);
        await this.assertExternalRefFree(trx, projectId, before.project, changes.externalRef, id);
      }
      await trx
        .updateTable('tasks')
        .set({
          ...(diff.title ? { title: changes.title } : {}),
          ...(diff.description ? { description: changes.description } : {}),
          ...(diff.status ? { status: changes.status } : {}),
          ...(diff.priority ? { priority: changes.priority } : {}),
          ...(diff.assignee ? { assignee: changes.assignee ?? null } : {}),
          ...(diff.externalRef ? { external_ref: changes.externalRef ?? null } : {}),
          updated_at: this.timestamp(),
        })
        .where('id', '=', id)
        .execute();
      const after = await this.requireTask(trx, id);
      const projectId = await this.projectId(trx, after.project);
      await this.record(trx, actor, action, projectId, id, describeChanges(after.id, diff), diff);
      return { task: after, changed };
    });
    if (result.changed.length > 0) this.changes.emit('change', { project: result.task.project, projectCreated: false });
    return result;
  }

  async listTasks(filter: TaskFilter, limit: number = LIMITS.listDefault, cursor?: string): Promise<TaskPage> {
    const size = Math.min(Math.max(1, limit), LIMITS.listMax);
    const before = cursor ? decodeCursor(cursor, filter) : undefined;
    let query = this.db.selectFrom('tasks').innerJoin('projects', 'projects.id', 'tasks.project_id').select(TASK_COLUMNS);
    if (filter.status?.length) query = query.where('tasks.status', 'in', filter.status);
    if (filter.assignee === null) query = query.where('tasks.assignee', 'is', null);
    else if (filter.assignee !== undefined) query = query.where('tasks.assignee', '=', filter.assignee);
    if (filter.project !== undefined) query = query.where('projects.key', '=', filter.project);
    if (filter.externalRef !== undefined) query = query.where('tasks.external_ref', '=', filter.externalRef);
    if (filter.text) {
      const pattern = likePattern(filter.text);
      // SQLite has no default LIKE escape character, so declare it for both databases.
      query = query.where(sql<boolean>`(lower(tasks.title) like ${pattern} escape '\\' or lower(tasks.description) like ${pattern} escape '\\')`);
    }
    if (before !== undefined) query = query.where('tasks.id', '<', before);
    const rows = await query
      .orderBy('tasks.id', 'desc')
      .limit(size + 1)
      .execute();
    const page = rows.slice(0, size).map(toTask);
    const last = rows.length > size ? rows[size - 1] : undefined;
    return { tasks: page, nextCursor: last ? encodeCursor(last.id, filter) : null };
  }

  // ---------------------------------------------------------------- deletion

  /** Step one of deletion: describe what would be deleted and issue a short-lived token. */
  async requestDeletion(id: number, actor: string): Promise<PendingDeletion> {
    const { task, subtasks } = await this.getTaskDetails(id);
    const token = randomBytes(18).toString('base64url');
    const now = this.now();
    const expiresAt = new Date(now.getTime() + this.deletionTtlMs).toISOString();
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('pending_deletions').where('expires_at', '<', now.toISOString()).execute();
      await trx
        .insertInto('pending_deletions')
        .values({ token, task_id: id, task_updated_at: task.updatedAt, requested_by: actor, expires_at: expiresAt })
        .execute();
    });
    return { token, expiresAt, task, subtasks };
  }

  /** Step two: delete the task (and its sub-tasks) if the token matches and nothing changed since. */
  async confirmDeletion(id: number, token: string, actor: string): Promise<{ task: Task; deletedIds: string[] }> {
    const result = await this.db.transaction().execute(async (trx) => {
      const pending = await trx.selectFrom('pending_deletions').selectAll().where('token', '=', token).executeTakeFirst();
      const again = 'Call delete_task without confirm to get a new confirmation token.';
      if (!pending || pending.task_id !== id) {
        throw new DomainError('confirmation_required', `The confirmation token is not valid for ${formatTaskId(id)}.`, { field: 'confirm', action: again });
      }
      if (pending.expires_at < this.timestamp()) {
        await trx.deleteFrom('pending_deletions').where('token', '=', token).execute();
        throw new DomainError('confirmation_required', `The confirmation token for ${formatTaskId(id)} expired at ${pending.expires_at}.`, {
          field: 'confirm',
          action: again,
        });
      }
      const task = await this.requireTask(trx, id);
      if (task.updatedAt !== pending.task_updated_at) {
        await trx.deleteFrom('pending_deletions').where('token', '=', token).execute();
        throw new DomainError('confirmation_required', `${task.id} changed after deletion was requested; nothing was deleted.`, {
          field: 'confirm',
          action: `${again} Review the task first.`,
        });
      }
      const subtasks = await trx.selectFrom('tasks').select('id').where('parent_id', '=', id).execute();
      const deletedIds = [task.id, ...subtasks.map((s) => formatTaskId(s.id))];
      await trx.deleteFrom('tasks').where('parent_id', '=', id).execute();
      await trx.deleteFrom('tasks').where('id', '=', id).execute();
      await trx.deleteFrom('pending_deletions').where('task_id', '=', id).execute();
      const projectId = await this.projectId(trx, task.project);
      await this.record(trx, actor, 'task.deleted', projectId, id, `Deleted ${deletedIds.join(', ')}: ${task.title}`, {
        snapshot: task,
        deletedIds,
      });
      return { task, deletedIds };
    });
    this.changes.emit('change', { project: result.task.project, projectCreated: false });
    return result;
  }

  // --------------------------------------------------------------- summaries

  async projectStatus(projectKey?: string): Promise<ProjectStatus[]> {
    let projectsQuery = this.db.selectFrom('projects').select(['id', 'key', 'name']).orderBy('key');
    if (projectKey !== undefined) {
      await this.projectId(this.db, projectKey);
      projectsQuery = projectsQuery.where('key', '=', projectKey);
    }
    const projects = await projectsQuery.execute();
    const counts = await this.db
      .selectFrom('tasks')
      .select(({ fn }) => ['project_id', 'status', 'priority', fn.count<number>('id').as('n')])
      .select((eb) => eb.fn.count<number>(eb.case().when('assignee', 'is', null).then(1).end()).as('unassigned'))
      .groupBy(['project_id', 'status', 'priority'])
      .execute();
    return projects.map((p) => {
      const status: ProjectStatus = {
        project: p.key,
        name: p.name,
        total: 0,
        byStatus: emptyStatusCounts(),
        openByPriority: emptyPriorityCounts(),
        unassignedOpen: 0,
      };
      for (const c of counts.filter((row) => row.project_id === p.id)) {
        const n = Number(c.n);
        status.total += n;
        status.byStatus[c.status] += n;
        if (c.status !== 'done') {
          status.openByPriority[c.priority] += n;
          status.unassignedOpen += Number(c.unassigned);
        }
      }
      return status;
    });
  }

  async teamWorkload(): Promise<AssigneeWorkload[]> {
    const rows = await this.db
      .selectFrom('tasks')
      .select(['id', 'assignee', 'status', 'priority'])
      .where('status', '!=', 'done')
      .orderBy('assignee')
      .orderBy('id')
      .execute();
    const byAssignee = new Map<string | null, AssigneeWorkload>();
    for (const row of rows) {
      const entry = byAssignee.get(row.assignee) ?? { assignee: row.assignee, open: 0, inProgress: 0, urgentOrHigh: 0, taskIds: [] };
      if (row.status === 'open') entry.open += 1;
      else entry.inProgress += 1;
      if (row.priority === 'urgent' || row.priority === 'high') entry.urgentOrHigh += 1;
      entry.taskIds.push(formatTaskId(row.id));
      byAssignee.set(row.assignee, entry);
    }
    return [...byAssignee.values()].sort(
      (a, b) => b.open + b.inProgress - (a.open + a.inProgress) || (a.assignee ?? '\uffff').localeCompare(b.assignee ?? '\uffff'),
    );
  }

  async recentActivity(limit = 20, projectKey?: string): Promise<ActivityEntry[]> {
    let query = this.activityQuery();
    if (projectKey !== undefined) query = query.where('projects.key', '=', projectKey);
    const rows = await query.orderBy('activity.id', 'desc').limit(limit).execute();
    return rows.map(toActivity);
  }

  private activityQuery() {
    return this.db
      .selectFrom('activity')
      .leftJoin('projects', 'projects.id', 'activity.project_id')
      .select([
        'activity.id',
        'activity.at',
        'activity.actor',
        'activity.action',
        'projects.key as project',
        'activity.task_id',
        'activity.summary',
        'activity.details',
      ]);
  }

  private async record(
    trx: Db,
    actor: string,
    action: string,
    projectId: number | null,
    taskId: number | null,
    summary: string,
    details: Record<string, unknown>,
  ): Promise<void> {
    await trx
      .insertInto('activity')
      .values({ at: this.timestamp(), actor, action, project_id: projectId, task_id: taskId, summary, details: JSON.stringify(details) })
      .execute();
  }
}

function toActivity(row: {
  id: number;
  at: string;
  actor: string;
  action: string;
  project: string | null;
  task_id: number | null;
  summary: string;
  details: string;
}): ActivityEntry {
  return {
    id: Number(row.id),
    at: row.at,
    actor: row.actor,
    action: row.action,
    project: row.project,
    taskId: row.task_id === null ? null : formatTaskId(row.task_id),
    summary: row.summary,
    details: JSON.parse(row.details) as Record<string, unknown>,
  };
}

function describeChanges(taskId: string, diff: Record<string, { from: unknown; to: unknown }>): string {
  const parts = Object.entries(diff).map(([field, { from, to }]) =>
    field === 'description' ? 'description' : `${field} ${JSON.stringify(from)} → ${JSON.stringify(to)}`,
  );
  return `Updated ${taskId}: ${parts.join(', ')}`;
}
