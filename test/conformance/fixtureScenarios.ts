import type { KnownOutcome, SuiteLine } from './suiteRuns.js';

/**
 * The conformance suite's server scenarios as each line runs them against the conformance
 * fixture server (test/fixtures/conformance/), which implements every tool, resource and prompt
 * they call by name, and the few checks that do not end in SUCCESS there. Used by
 * gatewayFixture.test.ts, which runs them against the fixture directly and through the gateway.
 */
export const FIXTURE = 'test/fixtures/conformance/conformanceServer.js';

/** The 2025-11-25 scenarios both lines share. */
export const SCENARIOS_2025 = [
  'server-initialize',
  'logging-set-level',
  'ping',
  'completion-complete',
  'tools-list',
  'tools-call-simple-text',
  'tools-call-image',
  'tools-call-audio',
  'tools-call-embedded-resource',
  'tools-call-mixed-content',
  'tools-call-with-logging',
  'tools-call-error',
  'tools-call-with-progress',
  'tools-call-sampling',
  'tools-call-elicitation',
  'json-schema-2020-12',
  'elicitation-sep1034-defaults',
  'server-sse-polling',
  'server-sse-multiple-streams',
  'elicitation-sep1330-enums',
  'resources-list',
  'resources-read-text',
  'resources-read-binary',
  'resources-templates-read',
  'resources-subscribe',
  'resources-unsubscribe',
  'prompts-list',
  'prompts-get-simple',
  'prompts-get-with-args',
  'prompts-get-embedded-resource',
  'prompts-get-with-image',
  'dns-rebinding-protection',
];

/** Scenarios that exist only on protocol revision 2026-07-28 (0.2.0 runs them at 2026-07-28 even without --spec-version). */
export const SCENARIOS_2026_ONLY = [
  'server-stateless',
  'sep-2164-resource-not-found',
  'caching',
  'http-header-validation',
  'http-custom-header-server-validation',
  ...[
    'basic-elicitation',
    'basic-sampling',
    'basic-list-roots',
    'request-state',
    'multiple-input-requests',
    'multi-round',
    'missing-input-response',
    'non-tool-request',
    'result-type',
    'unsupported-methods',
    'tampered-state',
    'capability-check',
    'ignore-extra-params',
    'validate-input',
  ].map((name) => `input-required-result-${name}`),
];

/** Extension scenarios (not in --spec-version runs): Skills (SEP-2640) and Tasks (SEP-2663). */
export const SCENARIOS_EXTENSIONS = [
  'sep-2640-skills-directory',
  'sep-2640-skills-enumeration',
  'sep-2640-skills-manifest',
  ...[
    'lifecycle',
    'capability-negotiation',
    'wire-fields',
    'request-state-removal',
    'mrtr-input',
    'request-headers',
    'dispatch-and-envelope',
    'status-notifications',
    'required-task-error',
    'mrtr-composition',
  ].map((name) => `tasks-${name}`),
];

/** 2025-11-25 scenarios that the 2026-07-28 revision keeps. */
export const KEPT_IN_2026 = SCENARIOS_2025.filter(
  (name) =>
    ![
      'server-initialize',
      'logging-set-level',
      'ping',
      'tools-call-with-logging',
      'tools-call-sampling',
      'tools-call-elicitation',
      'elicitation-sep1034-defaults',
      'server-sse-polling',
      'elicitation-sep1330-enums',
      'resources-subscribe',
      'resources-unsubscribe',
    ].includes(name),
);

/**
 * Checks that do not end in SUCCESS, and why. tasks-status-notifications: the suite skips it
 * itself (its harness is being rewritten for subscriptions/listen). server-sse-polling on the
 * 0.1.16 line (SEP-1699, SHOULDs): that suite initializes with an earlier revision than
 * 2025-11-25, and the SDK's transport sends the resumption priming event (with its `retry`
 * field) only to 2025-11-25 clients, whose SSE parsers accept an event with empty data.
 */
const SSE_POLLING_BEFORE_2025_11_25: Record<string, KnownOutcome> = {
  'server-sse-priming-event': {
    status: 'WARNING',
    message: /^Server did not send priming event with id and empty data on POST SSE stream/,
    why: "priming events go only to clients on 2025-11-25 or later (the SDK transport's supportsEmptySSEData)",
  },
  'server-sse-retry-field': {
    status: 'WARNING',
    message: /^Server did not send retry field/,
    why: 'the retry field travels in the priming event',
  },
};
const KNOWN: Readonly<Record<string, Record<string, KnownOutcome>>> = {
  'tasks-status-notifications': {
    'tasks-status-notifications': {
      status: 'SKIPPED',
      message: /^Skipped: SEP-2663 delivers notifications\/tasks via the SEP-2575 subscriptions\/listen stream/,
      why: 'skipped by the suite itself until its harness listens on subscriptions/listen',
    },
  },
};

/** The known outcomes of a scenario's checks on a line, against the fixture itself. */
export function knownOutcomes(suite: SuiteLine, scenario: string): Readonly<Record<string, KnownOutcome>> | undefined {
  return suite === '0.1.16' && scenario === 'server-sse-polling' ? SSE_POLLING_BEFORE_2025_11_25 : KNOWN[scenario];
}

/** One suite process: a line of the suite, its arguments, and the scenarios it runs. */
export interface FixtureLine {
  /** Short name: the suite line, and for 0.2.0 the revision it speaks. */
  key: '0.1.16' | '0.2.0' | '0.2.0 2026-07-28';
  title: string;
  suite: SuiteLine;
  args: string[];
  scenarios: string[];
}

// 0.2.0 bounds each scenario itself (--timeout, half its default): the slowest, server-stateless,
// takes about 6 s (it waits out its listen windows), tasks-lifecycle about 4 s.
const NEXT_ARGS = ['--timeout', '15000'];
export const FIXTURE_LINES: readonly FixtureLine[] = [
  { key: '0.1.16', title: '0.1.16 --suite all (protocol revision 2025-11-25)', suite: '0.1.16', args: [], scenarios: SCENARIOS_2025 },
  {
    key: '0.2.0',
    title: '0.2.0-alpha.12 --suite all (2025-11-25 sessions; 2026-only and extension scenarios at 2026-07-28)',
    suite: '0.2.0-alpha.12',
    args: NEXT_ARGS,
    scenarios: [...SCENARIOS_2025, 'server-session-lifecycle', ...SCENARIOS_2026_ONLY, ...SCENARIOS_EXTENSIONS],
  },
  {
    key: '0.2.0 2026-07-28',
    title: '0.2.0-alpha.12 --suite all --spec-version 2026-07-28',
    suite: '0.2.0-alpha.12',
    args: [...NEXT_ARGS, '--spec-version', '2026-07-28'],
    scenarios: [...KEPT_IN_2026, ...SCENARIOS_2026_ONLY],
  },
];
