import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { z } from 'zod';
import { ConfigError, envSchemas, formatJsonPath, isLoopbackHost } from '../../shared/config.js';
import { gatewaySchema, type GatewayConfig } from './schema.js';

function describeIssues(file: string, issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') message = `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    return `${file}: ${formatJsonPath(issue.path)}: ${message}`;
  });
}

/** Validate an already-parsed document; `file` only labels the messages and anchors relative paths. */
export function parseGatewayConfig(document: unknown, file: string): GatewayConfig {
  const parsed = gatewaySchema.safeParse(document);
  if (!parsed.success) throw new ConfigError(describeIssues(file, parsed.error.issues));
  const config = parsed.data;
  const base = dirname(file);
  for (const upstream of config.upstreams) {
    if (upstream.stdio) {
      upstream.stdio.cwd = upstream.stdio.cwd === undefined ? base : resolveFrom(base, upstream.stdio.cwd);
    }
  }
  if (config.workflows?.teamDirectory) config.workflows.teamDirectory = resolveFrom(base, config.workflows.teamDirectory);
  return config;
}

function resolveFrom(base: string, path: string): string {
  return isAbsolute(path) ? path : resolve(base, path);
}

export interface EnvOverrides {
  MANIFOLD_GATEWAY_HOST?: string | undefined;
  MANIFOLD_GATEWAY_PORT?: string | undefined;
}

/**
 * Read, parse and validate the configuration file, apply environment overrides, and check
 * the rules that span fields (no unauthenticated listener off loopback).
 */
export async function loadGatewayConfig(file: string, env: EnvOverrides = process.env): Promise<GatewayConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError([`${file}: cannot read the configuration file (${code ?? 'error'}). Pass --config PATH.`]);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([`${file}: not valid JSON: ${(error as Error).message}`]);
  }
  const config = parseGatewayConfig(document, file);
  const host = env.MANIFOLD_GATEWAY_HOST?.trim();
  if (host) config.listen.host = host;
  const port = env.MANIFOLD_GATEWAY_PORT?.trim();
  if (port) {
    const parsed = envSchemas.port.safeParse(port);
    if (!parsed.success) throw new ConfigError([`MANIFOLD_GATEWAY_PORT: must be a whole number 0-65535 (got "${port}")`]);
    config.listen.port = parsed.data;
  }
  assertSafeListener(config, file);
  return config;
}

/** MCP transport spec (security warning): bind to loopback when running without authentication. */
export function assertSafeListener(config: GatewayConfig, file: string): void {
  if (config.auth.mode === 'none-loopback-dev' && !isLoopbackHost(config.listen.host)) {
    throw new ConfigError([
      `${file}: listen.host: refusing to listen on ${config.listen.host} with auth.mode "none-loopback-dev" ` +
        '(no authentication). Bind to 127.0.0.1 or ::1, or configure an authenticated mode.',
    ]);
  }
}
