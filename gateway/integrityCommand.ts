import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../shared/config.js';
import { createLogger } from '../shared/logger.js';
import { packageRoot } from '../shared/packageRoot.js';
import { loadGatewayConfig } from './config/load.js';
import { formatLintReport, lintTools, type LintFinding } from './integrity/toolLint.js';
import { ToolPins, toolPinsFile } from './integrity/toolPins.js';
import type { UpstreamListener } from './upstreams/types.js';
import { UpstreamConnection } from './upstreams/upstreamConnection.js';

/**
 * Tool integrity from the command line:
 *   integrity lint                 start each upstream, check its tool definitions, print the findings
 *   integrity pending              list tool changes waiting for approval
 *   integrity approve NS [TOOL]    approve the pending changes of an upstream (or one tool)
 * Options: --config PATH (default config/gateway.json). Pins live in <data>/integrity/tool-pins.json.
 */
const USAGE = 'Usage: integrity lint | pending | approve NAMESPACE [TOOL]   [--config PATH]';

const quietListener: UpstreamListener = {
  onStateChange: () => undefined,
  onListsChanged: () => undefined,
  onResourceUpdated: () => undefined,
  onLogMessage: () => undefined,
};

async function lint(configFile: string): Promise<string> {
  const config = await loadGatewayConfig(configFile);
  const logger = createLogger('integrity', 'error');
  const upstreams = config.upstreams.map((u) => new UpstreamConnection(u, logger, quietListener));
  try {
    await Promise.all(upstreams.map((u) => u.start()));
    const findings = new Map<string, LintFinding[]>();
    const counts = new Map<string, number>();
    const failed: string[] = [];
    for (const upstream of upstreams) {
      if (upstream.state !== 'ready') {
        failed.push(`${upstream.namespace}: could not be started (${upstream.status().lastError ?? upstream.state}); not checked`);
        continue;
      }
      findings.set(upstream.namespace, lintTools(upstream.tools));
      counts.set(upstream.namespace, upstream.tools.length);
    }
    return [formatLintReport(findings, counts), ...failed].filter(Boolean).join('\n');
  } finally {
    await Promise.all(upstreams.map((u) => u.stop()));
  }
}

async function main(): Promise<void> {
  let parsed: { values: { config?: string }; positionals: string[] };
  try {
    parsed = parseArgs({ args: process.argv.slice(2), options: { config: { type: 'string' } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new ConfigError([`${(error as Error).message}. ${USAGE}`]);
  }
  const [command, namespace, tool] = parsed.positionals;
  const configFile = resolve(parsed.values.config ?? join(packageRoot(), 'config', 'gateway.json'));
  const pins = new ToolPins(toolPinsFile(resolve(process.env.MANIFOLD_DATA_DIR ?? join(packageRoot(), 'data'))));
  switch (command) {
    case 'lint':
      process.stdout.write(`${await lint(configFile)}\n`);
      return;
    case 'pending': {
      const pending = pins.pending();
      process.stdout.write(
        pending.length
          ? `${pending.map((p) => `${p.namespace} ${p.tool}\n  ${p.changes.join('\n  ')}`).join('\n')}\n`
          : 'No tool changes are waiting for approval.\n',
      );
      return;
    }
    case 'approve': {
      if (!namespace) throw new ConfigError([`approve needs an upstream namespace. ${USAGE}`]);
      const approved = pins.approve(namespace, tool);
      if (approved.length === 0)
        throw new ConfigError([`nothing to approve for ${namespace}${tool ? ` ${tool}` : ''}; "integrity pending" lists what is waiting.`]);
      process.stdout.write(`Approved ${approved.map((t) => `${namespace}/${t}`).join(', ')}. A running gateway serves them again within seconds.\n`);
      return;
    }
    default:
      throw new ConfigError([`unknown command "${command ?? ''}". ${USAGE}`]);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`integrity: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(error instanceof ConfigError ? 2 : 1);
  },
);
