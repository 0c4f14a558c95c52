import { DomainError, invalidInput } from '../../shared/errors.js';

/**
 * What update_issue may change on an issue, checked before anything is sent to GitHub:
 * at least one change, and a state_reason that fits the state it comes with.
 */

export const ISSUE_STATES = ['open', 'closed'] as const;
export const ISSUE_STATE_REASONS = ['completed', 'not_planned', 'reopened'] as const;

export type IssueState = (typeof ISSUE_STATES)[number];
export type IssueStateReason = (typeof ISSUE_STATE_REASONS)[number];

export interface IssueUpdateInput {
  state?: IssueState | undefined;
  state_reason?: IssueStateReason | undefined;
  title?: string | undefined;
  body?: string | undefined;
  labels?: string[] | undefined;
  assignees?: string[] | undefined;
}

/** The fields sent to GitHub's "update an issue" endpoint. */
export interface IssueChanges {
  state?: IssueState;
  state_reason?: IssueStateReason;
  title?: string;
  body?: string;
  labels?: string[];
  assignees?: string[];
}

export interface IssueUpdatePlan {
  changes: IssueChanges;
  /** Verb phrase for messages: "close issue #3", "reopen issue #3", "edit issue #3". */
  action: string;
}

const CHANGEABLE = ['state', 'title', 'body', 'labels', 'assignees'] as const;

/** The reasons that go with each state. */
const REASONS_FOR: Record<IssueState, readonly IssueStateReason[]> = {
  closed: ['completed', 'not_planned'],
  open: ['reopened'],
};

export function planIssueUpdate(input: IssueUpdateInput, number: number): IssueUpdatePlan {
  const { state, state_reason: reason } = input;
  if (reason !== undefined && state === undefined) {
    throw invalidInput(
      'state_reason',
      `"${reason}" says why the state changes, but no state was given.`,
      'Pass state "closed" with state_reason "completed" or "not_planned", or state "open" with "reopened".',
    );
  }
  if (reason !== undefined && state !== undefined && !REASONS_FOR[state].includes(reason)) {
    throw invalidInput(
      'state_reason',
      `"${reason}" contradicts state "${state}": with state "${state}" the reason is ${REASONS_FOR[state].map((r) => `"${r}"`).join(' or ')}.`,
      state === 'closed' ? 'To close, pass state_reason "completed" or "not_planned" (or omit it).' : 'To reopen, pass state_reason "reopened" (or omit it).',
    );
  }
  const changes: IssueChanges = {
    ...(state !== undefined ? { state } : {}),
    ...(reason !== undefined ? { state_reason: reason } : {}),
    ...(input.title !== undefined ? { title: input.title } : {}),
    ...(input.body !== undefined ? { body: input.body } : {}),
    ...(input.labels !== undefined ? { labels: input.labels } : {}),
    ...(input.assignees !== undefined ? { assignees: input.assignees } : {}),
  };
  if (!CHANGEABLE.some((field) => changes[field] !== undefined)) {
    throw new DomainError('invalid_input', `Nothing to change on issue #${number}: no state, title, body, labels or assignees were given.`, {
      action: 'Pass at least one of them (state "closed" closes the issue, "open" reopens it).',
    });
  }
  const verb = state === 'closed' ? 'close' : state === 'open' ? 'reopen' : 'edit';
  return { changes, action: `${verb} issue #${number}` };
}

/** One line saying what was asked, e.g. "state closed (completed), title, labels [bug]". */
export function describeIssueChanges(changes: IssueChanges): string {
  const parts: string[] = [];
  if (changes.state) parts.push(`state ${changes.state}${changes.state_reason ? ` (${changes.state_reason})` : ''}`);
  if (changes.title !== undefined) parts.push('title');
  if (changes.body !== undefined) parts.push(changes.body === '' ? 'body cleared' : 'body');
  if (changes.labels) parts.push(changes.labels.length > 0 ? `labels [${changes.labels.join(', ')}]` : 'labels cleared');
  if (changes.assignees) parts.push(changes.assignees.length > 0 ? `assignees ${changes.assignees.map((a) => `@${a}`).join(', ')}` : 'assignees cleared');
  return parts.join(', ');
}
