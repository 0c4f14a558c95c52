import { z } from 'zod';

/**
 * The `workflows` section of the gateway configuration: composite tools that call the
 * project-management, GitHub and docs upstreams. Absent means no composite tools.
 * Documented in config/README.md.
 */

const namespace = z.string().regex(/^[a-z][a-z0-9-]{0,15}$/, 'must be an upstream namespace such as "pm"');
const priority = z.enum(['low', 'medium', 'high', 'urgent']);

/** Default label → priority map; the highest priority among an issue's labels wins. */
export const DEFAULT_LABEL_PRIORITIES: Readonly<Record<string, z.infer<typeof priority>>> = {
  critical: 'urgent',
  urgent: 'urgent',
  security: 'urgent',
  P0: 'urgent',
  bug: 'high',
  regression: 'high',
  P1: 'high',
  enhancement: 'medium',
  P2: 'medium',
  docs: 'low',
  documentation: 'low',
  chore: 'low',
  P3: 'low',
};

/**
 * Below the docs server's "solid match" of 0.3 (servers/docs/README.md) because the query is an
 * issue title, whose extra words ("ignored", "wrong") lower the share of query words a section
 * holds: a title naming a section's heading scores about 0.2-0.35 ("Gateway port setting is
 * ignored" → "Port setting" 0.22), one sharing a single word in passing under 0.1 ("Login button
 * misaligned" → "OAuth sign-in fails" 0.04).
 */
export const DEFAULT_DOCS_MIN_SCORE = 0.15;

export const workflowsSchema = z
  .object({
    /** Namespace of the composite tools (`flow__create_task_from_issue`); must not be an upstream's. */
    namespace: namespace.default('flow'),
    /** Which upstream plays which part. */
    upstreams: z
      .object({ pm: namespace.default('pm'), github: namespace.default('github'), docs: namespace.default('docs') })
      .strict()
      .prefault({}),
    /** Project for new tasks when a call names none; default: the project-management server's own default. */
    defaultProject: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'must be a project key (lowercase letters, digits, dashes)')
      .optional(),
    /** Repository for bare issue numbers ("owner/repo"); default: the GitHub server's own default. */
    defaultRepository: z
      .string()
      .regex(/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/, 'must be "owner/repo"')
      .optional(),
    /** JSON file mapping GitHub users and teams to people (see config/team-directory.json); relative to this file. */
    teamDirectory: z.string().min(1).optional(),
    /** Code paths an issue concerns when it carries a label: { "rendering": ["src/render/"] }. */
    labelPaths: z.record(z.string().min(1), z.array(z.string().min(1).max(1024)).max(50)).default({}),
    /** Task priority from issue labels: { "bug": "high" }; replaces the default map when set. */
    labelPriorities: z.record(z.string().min(1), priority).default({ ...DEFAULT_LABEL_PRIORITIES }),
    /** Only documentation under this path prefix is searched (e.g. "guides/"). */
    docsPathPrefix: z.string().max(1024).optional(),
    /**
     * A docs section is linked only when its search score (0 to 1, from the docs server) is at
     * least this: below it a title shares a word or two with the section and little else.
     */
    docsMinScore: z.number().min(0).max(1).default(DEFAULT_DOCS_MIN_SCORE),
    /** Comment on the issue with the new task's id unless a call says otherwise. */
    commentOnIssue: z.boolean().default(false),
    /** How many issues one triage_issues call may turn into tasks. */
    maxTriageIssues: z.number().int().min(1).max(100).default(25),
  })
  .strict();

export type WorkflowSettings = z.output<typeof workflowsSchema>;
