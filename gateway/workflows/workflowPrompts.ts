import type { GetPromptResult, Prompt } from '@modelcontextprotocol/sdk/types.js';

/**
 * Prompts that start a composite workflow the way a person would: with the one or two
 * things they know (an issue, a label, a task), and the steps to confirm before anything is
 * written. Each names the composite tool it leads to; a session sees a prompt only when it
 * may call that tool.
 */
export interface WorkflowPrompt {
  name: string;
  /** The composite tool (unprefixed) the prompt leads to. */
  tool: string;
  definition: Omit<Prompt, 'name'>;
  build(args: Record<string, string>, toolName: string): GetPromptResult;
}

const text = (value: string): GetPromptResult['messages'][number] => ({ role: 'user', content: { type: 'text', text: value } });

export const WORKFLOW_PROMPTS: readonly WorkflowPrompt[] = [
  {
    name: 'file_issue_as_task',
    tool: 'create_task_from_issue',
    definition: {
      title: 'File a GitHub issue as a task',
      description: 'Turn one GitHub issue into a tracked task with owner and documentation links, optionally commenting on the issue.',
      arguments: [
        { name: 'issue', description: 'Issue URL, or its number in the default repository.', required: true },
        { name: 'project', description: 'Project key for the task (default: the configured one).', required: false },
      ],
    },
    build: (args, toolName) => ({
      description: `File ${args.issue} as a task`,
      messages: [
        text(
          `File the GitHub issue ${args.issue} as a task${args.project ? ` in project "${args.project}"` : ''}. ` +
            `Call ${toolName} with issue "${args.issue}"${args.project ? ` and project "${args.project}"` : ''}. ` +
            'Then report the task id, its assignee and why (code owners), the documentation section it links, and whether the task already existed. ' +
            'Ask before commenting on the issue (comment: true writes to GitHub).',
        ),
      ],
    }),
  },
  {
    name: 'triage_label',
    tool: 'triage_issues',
    definition: {
      title: 'Triage issues with a label',
      description: 'Plan tasks for every open issue carrying a label: a dry run first, then, after confirmation, create them.',
      arguments: [
        { name: 'label', description: 'The GitHub label, e.g. "bug".', required: true },
        { name: 'project', description: 'Project key for the tasks.', required: false },
      ],
    },
    build: (args, toolName) => ({
      description: `Triage issues labelled ${args.label}`,
      messages: [
        text(
          `Triage the open GitHub issues labelled "${args.label}". First call ${toolName} with label "${args.label}"${args.project ? `, project "${args.project}"` : ''} and dry_run true, ` +
            'and show the plan as a table (issue, proposed task title, priority, assignee, already tracked?). ' +
            'Only after the user confirms, call it again with dry_run false, and summarise what was created.',
        ),
      ],
    }),
  },
  {
    name: 'brief_task',
    tool: 'task_context',
    definition: {
      title: 'Brief me on a task',
      description: 'Everything about one task in one place: the task, its GitHub issue and pull request, code owners and documentation.',
      arguments: [{ name: 'task', description: 'Task id, e.g. T-101.', required: true }],
    },
    build: (args, toolName) => ({
      description: `Brief on ${args.task}`,
      messages: [
        text(
          `Call ${toolName} with task "${args.task}" and write a short brief: what the task is and its status, what the linked issue and pull request say, ` +
            'who owns the code it touches, the documentation to read first, and the next step.',
        ),
      ],
    }),
  },
];
