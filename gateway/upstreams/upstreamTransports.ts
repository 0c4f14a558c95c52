import { existsSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { SdkHttpError, SSEClientTransport, StreamableHTTPClientTransport, type Transport } from '@modelcontextprotocol/client';
import { getDefaultEnvironment } from '@modelcontextprotocol/client/stdio';
import type { Logger } from '../../shared/logger.js';
import { ChildProcessTransport } from './childProcessTransport.js';
import { ClientCredentialsToken, fetchWithClientCredentials } from './clientCredentials.js';
import type { UpstreamConfig } from './upstreamSettings.js';

/** Why an upstream could not be started, as a stable code the supervisor branches on. */
export type StartFailureCode = 'entry_missing' | 'command_not_found' | 'secret_missing';

export class UpstreamStartError extends Error {
  constructor(
    readonly code: StartFailureCode,
    message: string,
  ) {
    super(message);
    this.name = 'UpstreamStartError';
  }
}

/** What building an upstream's transport needs besides its configuration. */
export interface TransportContext {
  /** Extra variables for a stdio child (the gateway's tracing settings while it traces). */
  childEnv: Readonly<Record<string, string>>;
  log: Logger;
  /** Wraps the fetch of a remote upstream (mid-call request attribution, streamAttribution.ts). */
  wrapFetch: (fetchFn: typeof fetch) => typeof fetch;
  /** The gateway's own token source for this upstream, kept across reconnects. */
  credentials: { current?: ClientCredentialsToken | undefined };
}

/** The transport for one connection attempt: a supervised child, or a remote server over HTTP. */
export function createUpstreamTransport(config: UpstreamConfig, context: TransportContext): Transport {
  const stdio = config.stdio;
  if (stdio) {
    checkEntryFile(stdio);
    const env: Record<string, string> = { ...getDefaultEnvironment() };
    for (const name of stdio.inheritEnv) {
      const value = process.env[name];
      if (value !== undefined) env[name] = value;
    }
    Object.assign(env, context.childEnv, stdio.env, { MANIFOLD_TRUST_CALLER_META: '1' });
    return new ChildProcessTransport({ command: stdio.command, args: stdio.args, env, cwd: stdio.cwd });
  }
  const remote = config.remote!;
  const init: RequestInit = { headers: remote.headers };
  const fetchFn = context.wrapFetch(remoteFetch(config, context) ?? fetch);
  const options = { requestInit: init, fetch: fetchFn };
  if (remote.transport === 'sse') return new SSEClientTransport(new URL(remote.url), options);
  const streamable = new StreamableHTTPClientTransport(new URL(remote.url), options);
  if (remote.transport === 'streamable-http') return streamable;
  return new FallbackHttpTransport(streamable, () => new SSEClientTransport(new URL(remote.url), options), context.log);
}

/** With `remote.clientCredentials`, requests carry the gateway's own token for this upstream. */
function remoteFetch(config: UpstreamConfig, context: TransportContext): typeof fetch | undefined {
  const settings = config.remote?.clientCredentials;
  if (!settings) return undefined;
  const secret = process.env[settings.clientSecretEnv];
  if (!secret) {
    throw new UpstreamStartError(
      'secret_missing',
      `${settings.clientSecretEnv} is not set: upstream "${config.namespace}" needs its client secret (remote.clientCredentials.clientSecretEnv).`,
    );
  }
  context.credentials.current ??= new ClientCredentialsToken(
    { issuer: settings.issuer, clientId: settings.clientId, clientSecret: secret, scope: settings.scope, resource: settings.resource ?? config.remote!.url },
    context.log,
  );
  return fetchWithClientCredentials(context.credentials.current);
}

/** A missing script (say, a domain server not built yet) is named plainly, not as a crash. */
function checkEntryFile(stdio: NonNullable<UpstreamConfig['stdio']>): void {
  const script = stdio.args.find((arg) => !arg.startsWith('-'));
  if (!script || !/\.(c|m)?(j|t)s$/.test(script)) return;
  const path = resolvePath(stdio.cwd ?? '.', script);
  if (!existsSync(path)) {
    throw new UpstreamStartError('entry_missing', `its entry file ${path} does not exist (build the project with "npx tsc -p .", or fix stdio.args)`);
  }
}

/**
 * Streamable HTTP first; when the server answers the first POST with an HTTP 4xx, fall back
 * to the 2024-11-05 HTTP+SSE transport (MCP spec, transports: backwards compatibility; the
 * SDK documents the same probe for clients). The status comes from the SDK's typed
 * `SdkHttpError`, never from an error message.
 */
export class FallbackHttpTransport implements Transport {
  readonly hasPerRequestStream = false;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: Transport['onmessage'];
  private active: Transport;
  private decided = false;

  constructor(
    primary: Transport,
    private readonly fallback: () => Transport,
    private readonly log: Logger,
  ) {
    this.active = primary;
  }

  get sessionId(): string | undefined {
    return this.active.sessionId;
  }

  setProtocolVersion(version: string): void {
    this.active.setProtocolVersion?.(version);
  }

  private wire(transport: Transport): void {
    transport.onclose = () => this.onclose?.();
    transport.onerror = (error) => this.onerror?.(error);
    transport.onmessage = (message, extra) => this.onmessage?.(message, extra);
  }

  async start(): Promise<void> {
    this.wire(this.active);
    await this.active.start();
  }

  async send(message: Parameters<Transport['send']>[0], options?: Parameters<Transport['send']>[1]): Promise<void> {
    if (this.decided) return this.active.send(message, options);
    try {
      await this.active.send(message, options);
      this.decided = true;
    } catch (error) {
      const status = error instanceof SdkHttpError ? error.data.status : undefined;
      if (status === undefined || status < 400 || status > 499) throw error;
      this.log.info({ status }, 'Streamable HTTP refused; falling back to HTTP+SSE');
      const previous = this.active;
      previous.onclose = undefined;
      await previous.close().catch(() => undefined);
      this.active = this.fallback();
      this.wire(this.active);
      await this.active.start();
      this.decided = true;
      await this.active.send(message, options);
    }
  }

  close(): Promise<void> {
    return this.active.close();
  }
}

/** A failed connection attempt, said plainly: what was started, and why it did not come up. */
export function describeStartFailure(config: UpstreamConfig, transport: Transport | undefined, error: unknown): string {
  const exit = transport instanceof ChildProcessTransport ? transport.exit : undefined;
  const stdio = config.stdio;
  const launched = stdio ? `"${[stdio.command, ...stdio.args].join(' ')}" in ${stdio.cwd ?? '.'}` : config.remote?.url;
  const message = error instanceof Error ? error.message : String(error);
  if (exit) return `the child ${launched} exited during startup (${describeExit(exit)}); see its log lines above`;
  if (error instanceof UpstreamStartError) return error.code === 'entry_missing' ? `cannot start ${launched}: ${message}` : message;
  if (isSystemError(error) && error.code === 'ENOENT') return `cannot run ${launched}: command not found`;
  return `${launched} failed to initialize: ${message}`;
}

export function describeExit(exit: { code: number | null; signal: NodeJS.Signals | null }): string {
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}

function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string';
}
