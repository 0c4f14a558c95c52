import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startGateway, waitReady, type RunningGateway } from '../gateway/harness.js';
import { startHttpServer, type HttpServerProcess } from '../support/processes.js';
import { conformanceAvailable, conformanceNextAvailable, GENERIC_SCENARIOS_2026 } from './conformanceSuite.js';
import { FIXTURE, FIXTURE_LINES, knownOutcomes, type FixtureLine } from './fixtureScenarios.js';
import { lostThrough, runSuite, unexpectedChecks, type RelayException, type SuiteRun } from './suiteRuns.js';

/**
 * The MCP conformance suites against the conformance fixture server (test/fixtures/conformance/),
 * which implements every tool, resource and prompt the suite's server scenarios call by name:
 * directly (over Streamable HTTP, a fixture process per run) and through the gateway, where the
 * same fixture is a stdio upstream (namespace `fx`). Each line runs against
 * `/servers/fx/mcp` (the fixture alone, under its own names); the 2026-07-28 line also against
 * the aggregate `/mcp`, where names are namespaced (`fx__test_simple_text`) and only the generic
 * scenarios can pass. Then, per scenario: it passes directly, and every check that succeeds
 * directly succeeds through the gateway too, and nothing fails or warns there that does not
 * directly (suiteRuns.ts lostThrough), but for the exceptions below, each with its reason.
 *
 * One suite process per line and target, all seven side by side (each runs its scenarios one
 * after another; the gateway serves its four at once), each scenario bounded by --timeout
 * (0.2.0) or the gateway's call timeout (0.1.16 has no timeout of its own): about 20 s of wall
 * time and 15 s of CPU on two cores.
 */
const suite016 = conformanceAvailable();
const suiteNext = conformanceNextAvailable();
const available = (line: FixtureLine): boolean => (line.suite === '0.1.16' ? suite016 : suiteNext);

const NAMESPACE = 'fx';
const SPEC_2026 = FIXTURE_LINES.find((line) => line.key === '0.2.0 2026-07-28')!;

/**
 * 2025-11-25 sessions: the gateway answers a POST with application/json unless a message
 * related to the request comes first (docs/protocol-rules.md); SSE is optional (MCP 2025-11-25
 * basic/transports: a server answers with either content type), and the suite notes JSON as INFO.
 */
const JSON_ANSWERS: Record<string, RelayException> = {
  'server-sse-streams-functional': { status: 'INFO', why: 'the three POSTs are answered with JSON, so there is no SSE stream to check' },
};
/**
 * SEP-1699 polling: test_reconnection makes the fixture's own HTTP transport close the POST's
 * SSE stream mid-call so that the client resumes it. That is the origin server's transport,
 * which the gateway terminates: behind it the fixture speaks stdio (no stream to close), and the
 * gateway answers once the result is in, with JSON (the suite: INFO server-sse-content-type,
 * "priming event tests not applicable"), so these checks are not run.
 */
const ORIGIN_CLOSES_ITS_STREAM: RelayException = { status: 'absent', why: "the stream closing is the origin server's own transport" };

/** Per line: scenario → check id → what it reports through /servers/fx/mcp instead of SUCCESS, and why. */
const THROUGH_GATEWAY: Readonly<Record<FixtureLine['key'], Readonly<Record<string, Readonly<Record<string, RelayException>>>>>> = {
  '0.1.16': { 'server-sse-multiple-streams': JSON_ANSWERS },
  '0.2.0': {
    'server-sse-multiple-streams': JSON_ANSWERS,
    'server-sse-polling': {
      'server-sse-priming-event': ORIGIN_CLOSES_ITS_STREAM,
      'server-sse-retry-field': ORIGIN_CLOSES_ITS_STREAM,
      'server-sse-disconnect-resume': ORIGIN_CLOSES_ITS_STREAM,
    },
  },
  '0.2.0 2026-07-28': {},
};

/**
 * The aggregate `/mcp`: the generic scenarios, and http-custom-header-server-validation, which
 * finds its tool by its `x-mcp-header` parameter in tools/list (here `fx__test_custom_header_tool`).
 * server-stateless calls the fixture's diagnostic tools by their bare names, which /mcp serves as
 * `fx__…` only: the suite reports those checks as it does for any server without the tools
 * (conformanceSuite.ts, as for the domain servers).
 */
const THROUGH_AGGREGATE = [...GENERIC_SCENARIOS_2026, { name: 'http-custom-header-server-validation' }].map(({ name, notTestable = {} }) => ({
  name,
  exceptions: Object.fromEntries(
    Object.entries(notTestable).map(([id, outcome]): [string, RelayException] => [
      id,
      { ...outcome, why: `calls a fixture tool by its bare name, which /mcp serves as ${NAMESPACE}__<name>` },
    ]),
  ),
}));

/**
 * The fixture again as a 2025-11-25 upstream (`protocol` pinned, namespace `fl`): its
 * input_required tools reach the gateway as real sampling, elicitation and roots requests (the
 * SDK's legacy shim), which the gateway bridges back into input_required rounds for the
 * 2026-07-28 suite (gateway/session/bridgedCall.ts). The fixture does not echo `_meta`, so it
 * runs with `isolation: "per-user"` (a connection per call). A 2025 request carries no
 * inputRequests key, so the keys the client sees are the gateway's own (`elicitation-1`): the
 * two checks that look for the fixture's own key name cannot pass through such a hop.
 */
const LEGACY_NAMESPACE = 'fl';
const KEY_NAMES_DO_NOT_CROSS = "the suite looks for the fixture's own inputRequests key, which a 2025 hop does not carry (the gateway names the keys)";
const THROUGH_LEGACY_HOP: Readonly<Record<string, Readonly<Record<string, RelayException>>>> = {
  'input-required-result-basic-elicitation': {
    'sep-2322-elicitation-incomplete': { status: 'FAILURE', message: /missing expected key "user_name"/, why: KEY_NAMES_DO_NOT_CROSS },
    'sep-2322-elicitation-complete': { status: 'absent', why: KEY_NAMES_DO_NOT_CROSS },
  },
  'input-required-result-ignore-extra-params': {
    'sep-2322-ignore-unexpected-params': { status: 'WARNING', message: /did not return complete result/, why: KEY_NAMES_DO_NOT_CROSS },
  },
};
const INPUT_REQUIRED_SCENARIOS = SPEC_2026.scenarios.filter((scenario) => scenario.startsWith('input-required-result-'));

const RUN_MS = 90_000;

describe.runIf(suite016 || suiteNext)('the MCP conformance suites against the conformance fixture, directly and through the gateway', () => {
  const fixtures: HttpServerProcess[] = [];
  let gateway: RunningGateway | undefined;
  const direct = new Map<string, SuiteRun>();
  const viaSingle = new Map<string, SuiteRun>();
  let viaAggregate: SuiteRun | undefined;
  let viaLegacyHop: SuiteRun | undefined;

  beforeAll(async () => {
    const lines = FIXTURE_LINES.filter(available);
    // Kept as they start, so that afterAll stops them whatever fails meanwhile.
    const started = Promise.all(
      lines.map(async () => {
        const fixture = await startHttpServer(FIXTURE, {});
        fixtures.push(fixture);
        return fixture;
      }),
    );
    // The fixture as a stdio upstream, set up like the domain servers (gateway/harness.ts domainUpstreams).
    gateway = await startGateway(
      {
        upstreams: [
          {
            namespace: NAMESPACE,
            stdio: { command: process.execPath, args: [join(ROOT, 'dist', FIXTURE)], cwd: ROOT, env: { LOG_LEVEL: 'warn' } },
            // Well under the suite's own limits: a call that hangs fails its scenario, not the run.
            callTimeoutMs: 15_000,
          },
          {
            namespace: LEGACY_NAMESPACE,
            stdio: { command: process.execPath, args: [join(ROOT, 'dist', FIXTURE)], cwd: ROOT, env: { LOG_LEVEL: 'warn' } },
            protocol: '2025-11-25',
            // Scenarios that stop after the first round leave their call parked (until the TTL): room for all of them.
            isolation: 'per-user',
            isolationPool: { perUser: 40, total: 40, idleMs: 60_000 },
            callTimeoutMs: 15_000,
          },
        ],
      },
      { env: { LOG_LEVEL: 'info' } },
    );
    const [, own] = await Promise.all([waitReady(gateway), started]);
    const single = `${gateway.base}/servers/${NAMESPACE}/mcp`;
    await Promise.all([
      ...lines.map(async (line, i) => direct.set(line.title, await runSuite(line.suite, own[i]!.url, line.args, RUN_MS))),
      ...lines.map(async (line) => viaSingle.set(line.title, await runSuite(line.suite, single, line.args, RUN_MS))),
      suiteNext ? runSuite(SPEC_2026.suite, gateway.url, SPEC_2026.args, RUN_MS).then((run) => (viaAggregate = run)) : undefined,
      suiteNext
        ? runSuite(SPEC_2026.suite, `${gateway.base}/servers/${LEGACY_NAMESPACE}/mcp`, SPEC_2026.args, RUN_MS).then((run) => (viaLegacyHop = run))
        : undefined,
    ]);
  }, RUN_MS + 30_000);
  afterAll(async () => {
    await Promise.all([gateway?.stop(), ...fixtures.map((fixture) => fixture.stop())]);
  });

  const run = (runs: Map<string, SuiteRun>, line: FixtureLine): SuiteRun => {
    const found = runs.get(line.title);
    if (!found) throw new Error('the suite run did not happen (see beforeAll)');
    return found;
  };
  const output = (...runs: Array<SuiteRun | undefined>): string => runs.map((r) => r?.output.slice(-3000) ?? '').join('\n----\n');

  for (const line of FIXTURE_LINES) {
    describe.runIf(available(line))(line.title, () => {
      it(`runs exactly the expected scenarios, directly and at /servers/${NAMESPACE}/mcp`, () => {
        const expected = [...line.scenarios].sort();
        expect([...run(direct, line).scenarios.keys()].sort(), output(run(direct, line))).toEqual(expected);
        expect([...run(viaSingle, line).scenarios.keys()].sort(), output(run(viaSingle, line))).toEqual(expected);
      });

      it.each(line.scenarios)('passes %s directly', (scenario) => {
        expect(unexpectedChecks(run(direct, line).scenarios.get(scenario), knownOutcomes(line.suite, scenario)), output(run(direct, line))).toEqual([]);
      });

      it.each(line.scenarios)(`keeps %s through the gateway at /servers/${NAMESPACE}/mcp`, (scenario) => {
        const lost = lostThrough(run(direct, line).scenarios.get(scenario), run(viaSingle, line).scenarios.get(scenario), THROUGH_GATEWAY[line.key][scenario]);
        expect(lost, output(run(viaSingle, line))).toEqual([]);
      });
    });
  }

  describe.runIf(suiteNext)(`${SPEC_2026.title} at the aggregate /mcp (generic scenarios)`, () => {
    it.each(THROUGH_AGGREGATE)('keeps $name', ({ name, exceptions }) => {
      const lost = lostThrough(run(direct, SPEC_2026).scenarios.get(name), viaAggregate?.scenarios.get(name), exceptions);
      expect(lost, output(viaAggregate)).toEqual([]);
    });
  });

  describe.runIf(suiteNext)(
    `${SPEC_2026.title}: input_required through a 2025 hop (the fixture as a 2025-11-25 upstream at /servers/${LEGACY_NAMESPACE}/mcp)`,
    () => {
      it.each(INPUT_REQUIRED_SCENARIOS)('keeps %s through the bridge', (scenario) => {
        const lost = lostThrough(run(direct, SPEC_2026).scenarios.get(scenario), viaLegacyHop?.scenarios.get(scenario), THROUGH_LEGACY_HOP[scenario]);
        expect(lost, output(viaLegacyHop)).toEqual([]);
      });
    },
  );
});
