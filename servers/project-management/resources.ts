import { InMemoryServerEventBus, ResourceTemplate, type ReadResourceResult, type ServerEventBus } from '@modelcontextprotocol/server';
import { asMcpErrors, invalidInput } from '../../shared/errors.js';
import type { SubscribableResources } from '../../shared/serving/resourceChanges.js';
import type { ServerContext } from './context.js';
import { schemas } from './domain.js';
import type { ProjectStore, StoreChange } from './store/projectStore.js';
import { toActivityView } from './views.js';

export const RESOURCE_URIS = {
  status: 'project://status',
  teamWorkload: 'project://team-workload',
  recentActivity: 'project://recent-activity',
  projectStatus: (project: string) => `project://${project}/status`,
} as const;

const PROJECT_STATUS_PATTERN = /^project:\/\/([^/]+)\/status$/;
const RECENT_ACTIVITY_COUNT = 20;

function json(uri: string, value: unknown): ReadResourceResult {
  return { contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(value, null, 2) }] };
}

/**
 * Read-only views of the data. Reading never writes. Clients may subscribe to any
 * of them (2025: resources/subscribe; 2026-07-28: subscriptions/listen); a change to tasks or
 * projects notifies the subscribed URIs it affects.
 */
export function registerResources(ctx: ServerContext): void {
  const { server, store } = ctx;

  server.registerResource(
    'status',
    RESOURCE_URIS.status,
    {
      title: 'Status of all projects',
      description: 'Task counts per project by status and by priority of unfinished tasks, and unassigned unfinished tasks.',
      mimeType: 'application/json',
    },
    asMcpErrors(async (uri) => json(uri.href, { projects: await store.projectStatus() })),
  );

  server.registerResource(
    'team-workload',
    RESOURCE_URIS.teamWorkload,
    {
      title: 'Team workload',
      description: 'Unfinished tasks per assignee (open, in progress, high or urgent) with their ids; "assignee": null lists unassigned work.',
      mimeType: 'application/json',
    },
    asMcpErrors(async (uri) => json(uri.href, { workload: await store.teamWorkload() })),
  );

  server.registerResource(
    'recent-activity',
    RESOURCE_URIS.recentActivity,
    {
      title: 'Recent activity',
      description: `The last ${RECENT_ACTIVITY_COUNT} changes to projects and tasks: when, who, what.`,
      mimeType: 'application/json',
    },
    asMcpErrors(async (uri) => json(uri.href, { activity: (await store.recentActivity(RECENT_ACTIVITY_COUNT)).map(toActivityView) })),
  );

  server.registerResource(
    'project-status',
    new ResourceTemplate('project://{project}/status', {
      list: async () => ({
        resources: (await store.listProjects()).map((p) => ({
          uri: RESOURCE_URIS.projectStatus(p.key),
          name: `${p.key}-status`,
          title: `Status of ${p.name}`,
          mimeType: 'application/json',
        })),
      }),
      complete: { project: (value) => store.projectKeys(value) },
    }),
    {
      title: 'Status of one project',
      description: 'Counts for one project, its unfinished tasks (up to 100) and its last 20 changes. {project} is a project key.',
      mimeType: 'application/json',
    },
    asMcpErrors(async (uri, variables) => {
      const raw = Array.isArray(variables.project) ? variables.project[0] : variables.project;
      const parsed = schemas.projectKey.safeParse(decodeURIComponent(raw ?? ''));
      if (!parsed.success) throw invalidInput('project', parsed.error.issues[0]?.message ?? 'not a project key');
      const key = parsed.data;
      const [status] = await store.projectStatus(key);
      const unfinished = await store.listTasks({ project: key, status: ['open', 'in_progress'] }, 100);
      const activity = await store.recentActivity(RECENT_ACTIVITY_COUNT, key);
      return json(uri.href, { status, unfinished: unfinished.tasks, activity: activity.map(toActivityView) });
    }),
  );
}

const isKnownUri = (uri: string): boolean =>
  uri === RESOURCE_URIS.status || uri === RESOURCE_URIS.teamWorkload || uri === RESOURCE_URIS.recentActivity || PROJECT_STATUS_PATTERN.test(uri);

export const subscribableResources: SubscribableResources = {
  subscriptionKey: (uri) => {
    if (!isKnownUri(uri)) {
      throw invalidInput(
        'uri',
        `"${uri}" is not a resource of this server.`,
        'Subscribe to project://status, project://team-workload, project://recent-activity or project://{project}/status.',
      );
    }
    return uri;
  },
  updateKey: (uri) => uri,
};

/**
 * The process's change bus: every committed change to tasks or projects becomes an update of
 * each resource it affects, and a new project a change of the resource list.
 */
export function publishStoreChanges(store: ProjectStore): ServerEventBus {
  const bus = new InMemoryServerEventBus();
  store.changes.on('change', (change: StoreChange) => {
    for (const uri of [RESOURCE_URIS.status, RESOURCE_URIS.teamWorkload, RESOURCE_URIS.recentActivity, RESOURCE_URIS.projectStatus(change.project)]) {
      bus.publish({ kind: 'resource_updated', uri });
    }
    if (change.projectCreated) bus.publish({ kind: 'resources_list_changed' });
  });
  return bus;
}
