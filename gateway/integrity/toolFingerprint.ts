import { createHash } from 'node:crypto';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';

/** The parts of a tool definition a model acts on; a change to any of them changes what it does. */
export interface PinnedDefinition {
  name: string;
  title?: string | undefined;
  description?: string | undefined;
  inputSchema: unknown;
  outputSchema?: unknown;
  annotations?: unknown;
}

export function pinnedDefinition(tool: Tool): PinnedDefinition {
  return {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: tool.inputSchema,
    outputSchema: tool.outputSchema,
    annotations: tool.annotations,
  };
}

/** JSON with object keys sorted at every level, so equal definitions serialise equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function fingerprint(tool: Tool | PinnedDefinition): string {
  return `sha256:${createHash('sha256')
    .update(canonicalJson(pinnedDefinition(tool as Tool)))
    .digest('hex')}`;
}

/** A readable list of what changed between two definitions, field by field. */
export function describeChange(before: PinnedDefinition, after: PinnedDefinition): string[] {
  const changes: string[] = [];
  for (const field of ['title', 'description', 'inputSchema', 'outputSchema', 'annotations'] as const) {
    const a = canonicalJson(before[field] ?? null);
    const b = canonicalJson(after[field] ?? null);
    if (a === b) continue;
    if (field === 'description' || field === 'title') changes.push(`${field}: ${JSON.stringify(before[field] ?? '')} → ${JSON.stringify(after[field] ?? '')}`);
    else changes.push(`${field}: ${a} → ${b}`);
  }
  return changes;
}
