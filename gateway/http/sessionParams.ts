import {
  CompleteRequestSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type JSONRPCMessage,
} from '@modelcontextprotocol/sdk/types.js';

/**
 * The params of a 2025-era session request, checked before the session's SDK `Server` sees them:
 * the SDK answers a request its schema rejects with -32603 and the schema library's issue list
 * as the message, where a client should get -32602 and a sentence. tools/call is checked by the
 * session itself (session/toolCallHandler.ts); requests the SDK does not know pass unchanged.
 */
const REQUEST_SCHEMAS = new Map<string, { safeParse(value: unknown): { success: boolean; error?: { issues: readonly Issue[] } } }>([
  ['tools/list', ListToolsRequestSchema],
  ['prompts/list', ListPromptsRequestSchema],
  ['prompts/get', GetPromptRequestSchema],
  ['resources/list', ListResourcesRequestSchema],
  ['resources/templates/list', ListResourceTemplatesRequestSchema],
  ['resources/read', ReadResourceRequestSchema],
  ['resources/subscribe', SubscribeRequestSchema],
  ['resources/unsubscribe', UnsubscribeRequestSchema],
  ['completion/complete', CompleteRequestSchema],
  ['logging/setLevel', SetLevelRequestSchema],
]);

interface Issue {
  path: readonly PropertyKey[];
  message: string;
}

/** Issues named in one answer; the rest are left for the client's next try. */
const MAX_ISSUES = 3;

/** What is wrong with a request's params, in words, or undefined when the method's schema accepts them (or has none here). */
export function sessionParamsProblem(message: JSONRPCMessage): string | undefined {
  if (!('method' in message) || !('id' in message)) return undefined;
  const schema = REQUEST_SCHEMAS.get(message.method);
  const parsed = schema?.safeParse(message);
  if (!parsed || parsed.success || !parsed.error) return undefined;
  const issues = parsed.error.issues;
  const described = issues.slice(0, MAX_ISSUES).map((issue) => `${issue.path.map(String).join('.') || 'the request'}: ${lowerFirst(issue.message)}`);
  const more = issues.length > MAX_ISSUES ? ` (and ${issues.length - MAX_ISSUES} more)` : '';
  return `Invalid ${message.method} request: ${described.join('; ')}${more}. See the method's params in the MCP specification.`;
}

/** The first request whose params its method refuses, in words (for a batch, which message). */
export function paramsProblemOf(messages: readonly JSONRPCMessage[]): string | undefined {
  for (const [index, message] of messages.entries()) {
    const problem = sessionParamsProblem(message);
    if (problem) return messages.length > 1 ? `Message ${index + 1} of the batch: ${problem} No message of the batch was handled.` : problem;
  }
  return undefined;
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
