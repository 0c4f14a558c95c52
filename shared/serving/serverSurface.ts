import type { McpServer } from '@modelcontextprotocol/server';
import { observedToolHandler } from './toolCallLog.js';

/** What registration code needs of a server: the three ways to add to its surface. */
export type SurfaceRegistrar = Pick<McpServer, 'registerTool' | 'registerResource' | 'registerPrompt'>;

const SERVING_INSTANCE = Symbol('manifold.servingInstance');

/**
 * A server's tools, resources and prompts, built once per process and installed on every
 * instance. An HTTP server on protocol revision 2026-07-28 builds an instance per request; the
 * zod schemas, descriptions and handlers of its surface were then most of its own per-request
 * work (1.5 ms of 2.7 ms CPU per call, measured on project-management), so registration code
 * runs once against this recorder, and `install` replays the recorded calls (the same schema
 * and config objects) on each instance.
 *
 * A handler that needs the instance answering its request (its 2025 client's capabilities)
 * finds it with `servingInstanceOf` on the request context.
 *
 * The SDK also converts each tool's input and output schemas to JSON Schema on every
 * instance, and the input schema again on every tools/call (the SEP-2243 `Mcp-Param` check):
 * over a third of a 2026-07-28 HTTP call's CPU. The schemas are the same objects on every
 * instance, so `convertOnce` keeps each conversion (see there).
 */
export class ServerSurface {
  private readonly steps: Array<(server: McpServer) => void> = [];

  /** Hand this to registration code in place of a server. */
  readonly registrar: SurfaceRegistrar = {
    registerTool: ((...args: Parameters<McpServer['registerTool']>) => {
      const config = args[1] as { inputSchema?: unknown; outputSchema?: unknown };
      convertOnce(config.inputSchema);
      convertOnce(config.outputSchema);
      this.steps.push((server) => {
        const [name, config, callback] = args;
        (server.registerTool as (...a: unknown[]) => unknown)(
          name,
          config,
          withInstance(server, observedToolHandler(server, String(name), callback as Handler)),
        );
      });
      return undefined as never;
    }) as McpServer['registerTool'],
    registerResource: ((...args: unknown[]) => {
      this.steps.push((server) => {
        const [name, uriOrTemplate, config, callback] = args;
        (server.registerResource as (...a: unknown[]) => unknown)(name, uriOrTemplate, config, withInstance(server, callback as Handler));
      });
      return undefined as never;
    }) as McpServer['registerResource'],
    registerPrompt: ((...args: unknown[]) => {
      this.steps.push((server) => {
        const [name, config, callback] = args;
        (server.registerPrompt as (...a: unknown[]) => unknown)(name, config, withInstance(server, callback as Handler));
      });
      return undefined as never;
    }) as McpServer['registerPrompt'],
  };

  /** Register everything recorded on `server`. */
  install(server: McpServer): void {
    for (const step of this.steps) step(server);
  }
}

type Handler = (...args: unknown[]) => unknown;

/** The SDK passes its request context last: the instance is attached to it for the handler. */
function withInstance(server: McpServer, handler: Handler): Handler {
  return (...args: unknown[]) => {
    const context = args[args.length - 1];
    if (typeof context === 'object' && context !== null) (context as { [SERVING_INSTANCE]?: McpServer })[SERVING_INSTANCE] = server;
    return handler(...args);
  };
}

/** The instance answering the request whose context this is (see ServerSurface). */
export function servingInstanceOf(context: object): McpServer | undefined {
  return (context as { [SERVING_INSTANCE]?: McpServer })[SERVING_INSTANCE];
}

/** The Standard JSON Schema interface (https://standardschema.dev), as zod ≥ 4.2 implements it. */
interface JsonSchemaConverter {
  input(options?: Record<string, unknown>): Record<string, unknown>;
  output(options?: Record<string, unknown>): Record<string, unknown>;
}

const converted = new WeakSet<object>();

/**
 * Make a schema's `~standard.jsonSchema` remember its answers, per direction and options:
 * the conversion of an immutable schema does not change. The answers are frozen, so nothing
 * can alter what the next instance is given.
 */
export function convertOnce(schema: unknown): void {
  if (typeof schema !== 'object' || schema === null || converted.has(schema)) return;
  const standard = (schema as { '~standard'?: { jsonSchema?: JsonSchemaConverter } })['~standard'];
  const original = standard?.jsonSchema;
  if (!standard || typeof original?.input !== 'function' || typeof original.output !== 'function') return;
  const answers = new Map<string, Record<string, unknown>>();
  const remembered =
    (io: 'input' | 'output') =>
    (options?: Record<string, unknown>): Record<string, unknown> => {
      const key = `${io}\0${JSON.stringify(options ?? {})}`;
      let answer = answers.get(key);
      if (answer === undefined) {
        answer = deepFreeze(original[io](options));
        answers.set(key, answer);
      }
      return answer;
    };
  standard.jsonSchema = { input: remembered('input'), output: remembered('output') };
  converted.add(schema);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}
