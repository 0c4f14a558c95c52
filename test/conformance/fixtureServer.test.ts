import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, LEGACY_V1, MODERN_V2, type ClientKind, type EraClient } from '../support/eraClients.js';
import { waitFor } from '../support/waitFor.js';
import { FIXTURE } from './fixtureScenarios.js';

/*
 * The conformance fixture server (test/fixtures/conformance/) over stdio. The MCP conformance
 * suites run against it over Streamable HTTP in gatewayFixture.test.ts, directly and through
 * the gateway, side by side.
 */

/** The same fixture over stdio, in both protocol eras (the suite itself only speaks HTTP). */
describe.each<ClientKind>([LEGACY_V1, MODERN_V2])('the conformance fixture server over stdio, %s', (kind) => {
  let client: EraClient;
  beforeAll(async () => {
    client = await connectClient(
      kind,
      { kind: 'stdio', entry: FIXTURE, env: {} },
      { capabilities: { elicitation: {} }, handlers: { elicitation: () => ({ action: 'accept', content: { name: 'Alice' } }) } },
    );
  });
  afterAll(async () => {
    await client?.close();
  });

  it('answers a fixture tool and a multi round-trip call written once for both eras', async () => {
    const simple = await client.callTool({ name: 'test_simple_text' });
    expect(simple.content).toEqual([{ type: 'text', text: 'This is a simple text response for testing.' }]);
    // 2026-07-28: input_required fulfilled by the client; 2025: a real elicitation/create from the SDK's legacy shim.
    const greeted = await client.callTool({ name: 'test_input_required_result_elicitation', arguments: {} });
    expect(greeted.content).toEqual([{ type: 'text', text: 'Hello, Alice!' }]);
  });

  it('delivers a tools list change published by a trigger tool', async () => {
    let changes = 0;
    const stop = await client.watchListChanges('tools', () => {
      changes += 1;
    });
    try {
      await client.callTool({ name: 'test_trigger_tool_change', arguments: {} });
      await waitFor('notifications/tools/list_changed', () => changes > 0, 5_000);
    } finally {
      await stop();
    }
  });
});
