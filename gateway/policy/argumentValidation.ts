import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { JsonSchemaType, JsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/types.js';
import { PolicyRefusal } from './policyRefusal.js';

/**
 * Checks tools/call arguments against the upstream tool's `inputSchema` before forwarding
 * (defence in depth: the upstream checks again). One compiled validator per schema object;
 * a refreshed tool list brings new objects, so changed schemas are recompiled and old ones
 * are collected with the list.
 */
export class ToolArgumentValidator {
  private readonly ajv = new AjvJsonSchemaValidator();
  private readonly compiled = new WeakMap<object, JsonSchemaValidator<unknown>>();

  /** A refusal naming each offending field, or undefined when the arguments are valid. */
  check(tool: Pick<Tool, 'inputSchema'>, args: Record<string, unknown> | undefined, exposedName: string): PolicyRefusal | undefined {
    const schema = tool.inputSchema as JsonSchemaType & object;
    let validate = this.compiled.get(schema);
    if (!validate) {
      try {
        validate = this.ajv.getValidator(schema);
      } catch {
        // An upstream schema Ajv cannot compile: leave the check to the upstream.
        validate = () => ({ valid: true, data: undefined, errorMessage: undefined });
      }
      this.compiled.set(schema, validate);
    }
    const input = args ?? {};
    const result = validate(input);
    if (result.valid) return undefined;
    const problems = describeProblems(result.errorMessage, schema, input);
    const fields = problems.map((p) => p.field).filter((f): f is string => f !== undefined);
    return new PolicyRefusal(
      'invalid_input',
      `Invalid arguments for ${exposedName}: ${problems.map((p) => p.text).join('; ')}. Fix the arguments to match the tool's input schema (tools/list) and call again.`,
      { ...(fields[0] ? { field: fields[0] } : {}), fields },
    );
  }
}

/** Ajv's "data/a/b must be string" → `"a.b" must be string`; names extra and missing properties. */
function describeProblems(errorMessage: string, schema: JsonSchemaType, input: Record<string, unknown>): Array<{ field?: string; text: string }> {
  const problems: Array<{ field?: string; text: string }> = [];
  for (const part of errorMessage.split(/, (?=data)/)) {
    const match = /^data((?:\/[^ ]*)?) (.*)$/.exec(part);
    if (!match) {
      problems.push({ text: part });
      continue;
    }
    const path = match[1]!.split('/').filter(Boolean).join('.');
    const message = match[2]!;
    const required = /^must have required property '(.+)'$/.exec(message);
    if (required) {
      const field = path ? `${path}.${required[1]}` : required[1]!;
      problems.push({ field, text: `"${field}" is required` });
    } else if (message === 'must NOT have additional properties' && !path) {
      const known = new Set(Object.keys((schema as { properties?: object }).properties ?? {}));
      const extra = Object.keys(input).filter((key) => !known.has(key));
      for (const field of extra) problems.push({ field, text: `"${field}" is not a known argument` });
      if (extra.length === 0) problems.push({ text: message });
    } else {
      problems.push(path ? { field: path, text: `"${path}" ${message}` } : { text: `the arguments ${message}` });
    }
  }
  return problems;
}
