import { z } from 'zod';
import { createTask, prepareTask, projectInput, taskOutput, toTaskOutput } from './createTaskFromIssue.js';
import { DOMAIN_TOOLS } from './domainTools.js';
import { findTrackingTask, readIssue } from './issueContext.js';
import { defineWorkflow, type StepFailure } from './workflowRun.js';

const input = z.strictObject({
  label: z.string().trim().min(1).max(100).describe('Issues carrying this label are triaged, e.g. "bug".'),
  repository: z
    .string()
    .regex(/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/, 'must be "owner/repo"')
    .optional()
    .describe('Repository as "owner/repo"; default: the default repository.'),
  project: projectInput,
  dry_run: z.boolean().default(true).describe('true (default): only show what would be created; false: create the tasks.'),
});

const planned = z.object({
  issue: z.object({ number: z.number(), title: z.string(), url: z.string(), labels: z.array(z.string()) }),
  action: z.enum(['create', 'created', 'already_tracked']),
  task: taskOutput.nullable().describe('The created or existing task; null in a dry run for issues to create.'),
  would_create: z
    .object({ title: z.string(), priority: z.string(), assignee: z.string().nullable(), project: z.string().nullable(), docs_section: z.string().nullable() })
    .nullable()
    .describe('What the task would be (dry run) or was created with.'),
});

const output = z.object({
  label: z.string(),
  repository: z.string().nullable(),
  dry_run: z.boolean(),
  issues_found: z.number(),
  more_issues: z.boolean().describe('More open issues carry the label than one call handles; call again after this batch.'),
  items: z.array(planned),
});

export const triageIssues = defineWorkflow({
  name: 'triage_issues',
  title: 'Triage labelled GitHub issues into tasks',
  description:
    'Turn every open GitHub issue carrying a label into a task, the way create_task_from_issue does for one issue (owner from CODEOWNERS, priority from labels, ' +
    'docs section, issue URL as external reference). Issues already tracked by a task are skipped. Inputs: label (required), repository ("owner/repo", default ' +
    'the default repository), project, dry_run (default true: shows what would be created and creates nothing; pass false to create). ' +
    'Handles a bounded batch of issues per call (more_issues says when to call again). If a step fails, the tasks created before it stay (each is complete) ' +
    'and a second call continues where the first stopped.',
  input,
  output,
  annotations: { title: 'Triage labelled GitHub issues into tasks', readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  manifest: {
    tools: [
      DOMAIN_TOOLS.listIssues,
      DOMAIN_TOOLS.getIssue,
      DOMAIN_TOOLS.listTasks,
      DOMAIN_TOOLS.searchIssues,
      DOMAIN_TOOLS.getPullRequest,
      DOMAIN_TOOLS.getCodeOwners,
      DOMAIN_TOOLS.searchDocs,
      DOMAIN_TOOLS.createTask,
    ],
  },
  stepTools: (args) => [
    DOMAIN_TOOLS.listIssues,
    DOMAIN_TOOLS.getIssue,
    DOMAIN_TOOLS.listTasks,
    DOMAIN_TOOLS.searchIssues,
    DOMAIN_TOOLS.getPullRequest,
    DOMAIN_TOOLS.getCodeOwners,
    DOMAIN_TOOLS.searchDocs,
    ...(args?.dry_run === false ? [DOMAIN_TOOLS.createTask] : []),
  ],
  run: async (run, args) => {
    const max = run.settings.maxTriageIssues;
    const slug = args.repository ?? run.settings.defaultRepository;
    const [owner, repo] = slug ? slug.split('/') : [];
    run.totalSteps = 1;
    const listed = await run.step('list_issues', `Listing open issues labelled "${args.label}"`, async () => {
      // A real run creates tasks from what it lists: it reads GitHub's current list, not a cached one.
      const answer = await run.tool(
        DOMAIN_TOOLS.listIssues,
        { ...(owner && repo ? { owner, repo } : {}), labels: [args.label], state: 'open', per_page: max, sort: 'created', direction: 'asc' },
        { fresh: !args.dry_run },
      );
      const issues = (answer.structured.issues as Array<{ number: number; html_url: string }> | undefined) ?? [];
      return {
        repository: String(answer.structured.repository ?? slug ?? ''),
        issues,
        more: Boolean((answer.structured.page as { has_more?: boolean } | undefined)?.has_more),
      };
    });
    run.totalSteps = 1 + listed.issues.length * (args.dry_run ? 5 : 6);
    const items: Array<z.infer<typeof planned>> = [];
    const created: string[] = [];
    try {
      for (const summary of listed.issues) {
        const label = `#${summary.number}`;
        // The whole issue, body included, as create_task_from_issue reads it: the same owner for the same issue.
        const issue = await run.step(`read_issue (${label})`, `Reading ${label}`, () => readIssue(run, summary.html_url, { fresh: !args.dry_run }));
        const brief = { number: issue.number, title: issue.title, url: issue.url, labels: issue.labels };
        const existing = await run.step(`check_existing (${label})`, `Looking for a task tracking ${label}`, () => findTrackingTask(run, issue.url));
        if (existing) {
          items.push({ issue: brief, action: 'already_tracked', task: toTaskOutput(existing), would_create: null });
          continue;
        }
        const prepared = await prepareTask(run, issue, { project: args.project, assignee: undefined, label });
        const plan = {
          title: String(prepared.input.title),
          priority: prepared.priority,
          assignee: prepared.assignee.email,
          project: (prepared.input.project as string | undefined) ?? null,
          docs_section: prepared.docs ? (prepared.docs.link ?? prepared.docs.uri) : null,
        };
        if (args.dry_run) {
          items.push({ issue: brief, action: 'create', task: null, would_create: plan });
          continue;
        }
        const result = await run.step(`create_task (${label})`, `Creating the task for ${label}`, () => createTask(run, issue, prepared.input));
        if (result.created) created.push(result.task.id);
        items.push({
          issue: brief,
          action: result.created ? 'created' : 'already_tracked',
          task: toTaskOutput(result.task),
          would_create: result.created ? plan : null,
        });
      }
    } catch (error) {
      const failure = error as StepFailure;
      throw failure.withAftermath(
        created.length
          ? `Tasks created before the failure stay, each complete: ${created.join(', ')}. Call again to continue; tracked issues are skipped.`
          : 'No task was created.',
      );
    }
    run.finish(args.dry_run ? 'Dry run done' : `Created ${created.length} task(s)`);
    const toCreate = items.filter((i) => i.action === 'create');
    const lines = [
      args.dry_run
        ? `Dry run: ${toCreate.length} of ${items.length} open issue(s) labelled "${args.label}" in ${listed.repository} would become tasks; nothing was created.`
        : `Created ${created.length} task(s) for ${items.length} open issue(s) labelled "${args.label}" in ${listed.repository}.`,
      ...items.map((item) =>
        item.action === 'already_tracked'
          ? `- #${item.issue.number} ${item.issue.title}: already tracked by ${item.task?.id}`
          : `- #${item.issue.number} ${item.issue.title}: ${item.action === 'create' ? 'would create' : `created ${item.task?.id}`} (${item.would_create?.priority}, ${item.would_create?.assignee ?? 'unassigned'})`,
      ),
      listed.more ? `More issues carry the label: call again${args.dry_run ? '' : ' to continue'}.` : '',
      args.dry_run && toCreate.length ? 'Call again with dry_run false to create them.' : '',
    ].filter(Boolean);
    return {
      summary: lines.join('\n'),
      structured: {
        label: args.label,
        repository: listed.repository || null,
        dry_run: args.dry_run,
        issues_found: items.length,
        more_issues: listed.more,
        items,
      },
    };
  },
});
