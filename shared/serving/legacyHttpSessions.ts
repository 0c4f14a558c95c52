import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { isInitializeRequest, WebStandardStreamableHTTPServerTransport, type McpServer } from '@modelcontextprotocol/server';
import { connectWithoutSchemaPass } from '../jsonRpcDispatch.js';
import { SessionEventLog } from './sessionEventLog.js';
import type { ServingInstance } from './servingInstance.js';

/** What the HTTP entry answers when a legacy request cannot be served. */
export interface LegacyRefusal {
  status: number;
  message: string;
}

interface LegacySession {
  transport: WebStandardStreamableHTTPServerTransport;
  server: McpServer;
  /** The transport's web-standard handler, bridged to node:http. */
  handle: NodeHandler;
}

type NodeHandler = (req: IncomingMessage, res: ServerResponse, parsedBody?: unknown) => Promise<void>;

const LEGACY_SESSION: ServingInstance = { era: 'legacy', changes: 'subscribed' };

/**
 * 2025-era Streamable HTTP sessions, as 2025 clients know them: `initialize` opens a session
 * (`Mcp-Session-Id`), later requests, the GET stream for server→client messages and DELETE
 * name it, and a lost stream resumes with Last-Event-ID. Each session has its own server instance, so `resources/subscribe` and the
 * server→client requests of a call (sampling, elicitation) stay with the client that made it.
 *
 * The SDK's web-standard transport is bridged to node:http as the SDK's own
 * `NodeStreamableHTTPServerTransport` does it, with @hono/node-server, but with its SSE
 * answers marked `Transfer-Encoding: chunked`: otherwise the adapter, finding a response's
 * first event (the resumability priming event) ready before the second, waits a timer tick
 * to try to buffer the whole body — a millisecond added to every call. (The SDK's
 * `toNodeHandler` does not wait, but builds a full web Request per call: 15% more CPU.)
 */
export class LegacyHttpSessions {
  private readonly sessions = new Map<string, LegacySession>();

  constructor(private readonly createServer: (instance: ServingInstance) => McpServer) {}

  get size(): number {
    return this.sessions.size;
  }

  /** Serve a POST whose body is 2025-era traffic. */
  async post(req: IncomingMessage, res: ServerResponse, body: unknown, sessionId: string | undefined): Promise<LegacyRefusal | undefined> {
    if (sessionId) {
      const session = this.sessions.get(sessionId);
      if (!session) return { status: 404, message: `Session ${sessionId} not found or expired. Initialize a new session.` };
      await session.handle(req, res, body);
      return undefined;
    }
    if (!isInitializeRequest(body)) {
      return {
        status: 400,
        message:
          'No Mcp-Session-Id header: a 2025-era session must start with "initialize". ' +
          'Clients on protocol revision 2026-07-28 send the _meta envelope (io.modelcontextprotocol/protocolVersion) on every request instead.',
      };
    }
    const server = connectWithoutSchemaPass(this.createServer(LEGACY_SESSION));
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      // Streams can be resumed with Last-Event-ID; clients are told to come back after a second.
      eventStore: new SessionEventLog(),
      retryInterval: 1000,
      onsessioninitialized: (id) => {
        this.sessions.set(id, { transport, server, handle });
      },
      onsessionclosed: (id) => {
        this.sessions.delete(id);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) this.sessions.delete(transport.sessionId);
    };
    const handle = nodeHandlerOf(transport);
    await server.connect(transport);
    await handle(req, res, body);
    return undefined;
  }

  /** Serve the GET stream or a DELETE of an existing session. */
  async sessionRequest(req: IncomingMessage, res: ServerResponse, sessionId: string): Promise<LegacyRefusal | undefined> {
    const session = this.sessions.get(sessionId);
    if (!session) return { status: 404, message: `Session ${sessionId} not found or expired. Initialize a new session.` };
    await session.handle(req, res);
    return undefined;
  }

  async closeAll(): Promise<void> {
    for (const session of this.sessions.values()) {
      await session.transport.close().catch(() => undefined);
      await session.server.close().catch(() => undefined);
    }
    this.sessions.clear();
  }
}

/** `transport` served on node:http (see LegacyHttpSessions), the request body already parsed by the entry when given. */
function nodeHandlerOf(transport: WebStandardStreamableHTTPServerTransport): NodeHandler {
  return (req, res, parsedBody) =>
    getRequestListener(
      async (request) => {
        const response = await transport.handleRequest(request, parsedBody === undefined ? {} : { parsedBody });
        if (response.headers.get('content-type') === 'text/event-stream') response.headers.set('transfer-encoding', 'chunked');
        return response;
      },
      { overrideGlobalObjects: false },
    )(req, res);
}
