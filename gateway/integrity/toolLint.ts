import type { Tool } from '@modelcontextprotocol/sdk/types.js';

/**
 * Checks an upstream's tool definitions against the guidance Manifold follows for its own
 * tools: a description that says what the tool does, its inputs and limits, what it returns
 * and when to use it; a description for every parameter; bounded inputs; honest annotations.
 * The findings help teams improve their servers; nothing here blocks a tool.
 */
export interface LintFinding {
  tool: string;
  /** Dotted path of the parameter concerned, when there is one. */
  parameter?: string;
  rule: string;
  severity: 'error' | 'warning';
  message: string;
}

const MIN_DESCRIPTION = 40;
const MODEL_SAFE_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

interface JsonSchema {
  type?: string | string[];
  description?: string;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  maxLength?: number;
  pattern?: string;
  format?: string;
  maximum?: number;
  exclusiveMaximum?: number;
  minimum?: number;
  maxItems?: number;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
}

function types(schema: JsonSchema): string[] {
  if (Array.isArray(schema.type)) return schema.type;
  if (schema.type) return [schema.type];
  const variants = schema.anyOf ?? schema.oneOf ?? [];
  return variants.flatMap(types);
}

function isBounded(schema: JsonSchema): boolean {
  return schema.enum !== undefined || schema.const !== undefined;
}

function lintParameter(tool: string, path: string, schema: JsonSchema, findings: LintFinding[]): void {
  if (!schema.description?.trim() && !(schema.anyOf ?? schema.oneOf)?.some((v) => v.description?.trim())) {
    findings.push({
      tool,
      parameter: path,
      rule: 'parameter-description',
      severity: 'error',
      message: `parameter "${path}" has no description; say what it is, its format and an example`,
    });
  }
  const kinds = types(schema);
  if (kinds.includes('string') && !isBounded(schema) && schema.maxLength === undefined && schema.pattern === undefined && schema.format === undefined) {
    findings.push({
      tool,
      parameter: path,
      rule: 'string-limit',
      severity: 'warning',
      message: `string parameter "${path}" has no maxLength, pattern, format or enum; bound it`,
    });
  }
  if ((kinds.includes('integer') || kinds.includes('number')) && !isBounded(schema) && schema.maximum === undefined && schema.exclusiveMaximum === undefined) {
    findings.push({ tool, parameter: path, rule: 'number-limit', severity: 'warning', message: `numeric parameter "${path}" has no maximum; bound it` });
  }
  if (kinds.includes('array')) {
    if (schema.maxItems === undefined) {
      findings.push({ tool, parameter: path, rule: 'array-limit', severity: 'warning', message: `array parameter "${path}" has no maxItems; bound it` });
    }
    if (schema.items) lintParameter(tool, `${path}[]`, { ...schema.items, description: schema.items.description ?? schema.description ?? '' }, findings);
  }
  if (kinds.includes('object') && schema.properties) {
    for (const [name, child] of Object.entries(schema.properties)) lintParameter(tool, `${path}.${name}`, child, findings);
  }
}

export function lintTool(tool: Tool): LintFinding[] {
  const findings: LintFinding[] = [];
  const name = tool.name;
  if (!MODEL_SAFE_NAME.test(name)) {
    findings.push({ tool: name, rule: 'name', severity: 'error', message: 'name is not 1-64 characters of A-Z a-z 0-9 _ -; model APIs may refuse it' });
  }
  const description = tool.description?.trim() ?? '';
  if (description.length === 0) {
    findings.push({
      tool: name,
      rule: 'description',
      severity: 'error',
      message: 'no description: say what the tool does, its inputs and limits, what it returns and when to use it',
    });
  } else {
    if (description.length < MIN_DESCRIPTION) {
      findings.push({
        tool: name,
        rule: 'description-length',
        severity: 'error',
        message: `description is ${description.length} characters; too short to say what, inputs, result and when to use it`,
      });
    }
    if (!/\breturns?\b|\bresult\b|\boutputs?\b|\bgives\b/i.test(description)) {
      findings.push({ tool: name, rule: 'description-result', severity: 'warning', message: 'description does not say what the tool returns' });
    }
    if (!/\buse (it |this )?(when|to|for|before|after)\b|\bwhen you\b|\bfor example\b/i.test(description)) {
      findings.push({ tool: name, rule: 'description-when', severity: 'warning', message: 'description does not say when to use the tool' });
    }
  }
  const input = tool.inputSchema as JsonSchema;
  for (const [parameter, schema] of Object.entries(input.properties ?? {})) lintParameter(name, parameter, schema, findings);
  if (!tool.annotations || (tool.annotations.readOnlyHint === undefined && tool.annotations.destructiveHint === undefined)) {
    findings.push({
      tool: name,
      rule: 'annotations',
      severity: 'warning',
      message: "no readOnlyHint/destructiveHint annotations; clients (and this gateway's scopes) must then treat it as destructive",
    });
  }
  if (!tool.outputSchema) {
    findings.push({ tool: name, rule: 'output-schema', severity: 'warning', message: 'no outputSchema; programs cannot rely on the shape of its results' });
  }
  return findings;
}

export function lintTools(tools: readonly Tool[]): LintFinding[] {
  return tools.flatMap(lintTool);
}

/** A readable report, one upstream after another. */
export function formatLintReport(byUpstream: ReadonlyMap<string, readonly LintFinding[]>, toolCounts: ReadonlyMap<string, number>): string {
  const lines: string[] = [];
  for (const [namespace, findings] of byUpstream) {
    const errors = findings.filter((f) => f.severity === 'error').length;
    lines.push(`${namespace}: ${toolCounts.get(namespace) ?? 0} tools, ${errors} errors, ${findings.length - errors} warnings`);
    for (const f of findings) lines.push(`  ${f.severity.padEnd(7)} ${f.tool}${f.parameter ? ` (${f.parameter})` : ''} [${f.rule}] ${f.message}`);
  }
  return lines.join('\n');
}
