import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A self-signed certificate for 127.0.0.1 and localhost, made with openssl for this test run. */
export interface SelfSignedCertificate {
  key: string;
  cert: string;
  /** The certificate as a file, for NODE_EXTRA_CA_CERTS in a child process. */
  certFile: string;
  remove(): void;
}

export function selfSignedCertificate(): SelfSignedCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'manifold-tls-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8'), certFile, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

type Route = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * An https server on 127.0.0.1 that publishes client ID metadata documents: `publish(path,
 * document, headers)` serves JSON at a path, `route(path, handler)` anything else. Counts the
 * requests per path (to see what the authorization server cached).
 */
export class MetadataDocumentHost {
  origin = '';
  readonly hits = new Map<string, number>();
  private readonly routes = new Map<string, Route>();
  private server!: Server;

  constructor(private readonly certificate: SelfSignedCertificate) {}

  async start(): Promise<this> {
    this.server = createServer({ key: this.certificate.key, cert: this.certificate.cert }, (req, res) => {
      const path = new URL(req.url ?? '/', 'https://x').pathname;
      this.hits.set(path, (this.hits.get(path) ?? 0) + 1);
      const route = this.routes.get(path);
      if (route) return route(req, res);
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.origin = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  url(path: string): string {
    return `${this.origin}${path}`;
  }

  route(path: string, handler: Route): void {
    this.routes.set(path, handler);
  }

  publish(path: string, document: Record<string, unknown>, headers: Record<string, string> = { 'cache-control': 'max-age=300' }): string {
    const body = JSON.stringify(document);
    this.route(path, (_req, res) => res.writeHead(200, { 'content-type': 'application/json', ...headers }).end(body));
    return this.url(path);
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
