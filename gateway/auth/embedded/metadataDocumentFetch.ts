import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { rootCertificates } from 'node:tls';

/**
 * The one way the embedded authorization server fetches a URL it was given: a client ID
 * metadata document (draft-ietf-oauth-client-id-metadata-document), whose URL any caller of
 * the authorization endpoint chooses. Each check is explicit, so that URL cannot reach inside:
 *
 * - https only (the draft §3), and no redirects followed (a 3xx is answered as it is, and
 *   refused by oidc-provider);
 * - the host is resolved first, every address it resolves to is checked against the
 *   special-use ranges (private, loopback, link-local, CGNAT, multicast, documentation,
 *   unique-local…), and the connection goes to the address that was checked, with the
 *   certificate checked against the host name (no second lookup a DNS rebinding could answer);
 * - loopback only when `allowLoopback` says so (tests, development on one machine);
 * - the body is cut at `maxBytes`, the whole exchange at `timeoutMs`.
 *
 * Refusals are `MetadataDocumentRefused` errors whose message says what was wrong and what to do.
 */
export interface MetadataDocumentFetchOptions {
  /** Let documents be fetched from loopback addresses (127.0.0.0/8, ::1); never in production. */
  allowLoopback?: boolean;
  /** Default 2000 ms (below oidc-provider's own 2.5 s abort, so the refusal names the cause). */
  timeoutMs?: number;
  /** Default 5 KB, as the draft suggests for a metadata document. */
  maxBytes?: number;
  /** Extra trusted certificates (PEM), added to Node's root store; e.g. a test's self-signed one. */
  trustedCertificates?: readonly string[];
}

export type MetadataDocumentRefusal = 'not_https' | 'special_use_address' | 'unresolvable' | 'unreachable' | 'too_large' | 'timeout';

export class MetadataDocumentRefused extends Error {
  constructor(
    readonly code: MetadataDocumentRefusal,
    message: string,
  ) {
    super(message);
    this.name = 'MetadataDocumentRefused';
  }
}

export const DEFAULT_METADATA_DOCUMENT_TIMEOUT_MS = 2000;
export const DEFAULT_METADATA_DOCUMENT_MAX_BYTES = 5 * 1024;

/** IANA special-purpose ranges (RFC 6890 and its registries), plus private and multicast space. */
const SPECIAL_USE = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  SPECIAL_USE.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['::ffff:0:0', 96],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  SPECIAL_USE.addSubnet(network, prefix, 'ipv6');
}
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Why an address may not be connected to, or undefined when it may. */
function addressProblem(address: string, allowLoopback: boolean): string | undefined {
  const family: 'ipv4' | 'ipv6' = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  // An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is judged as the IPv4 address it carries.
  const mapped = family === 'ipv6' ? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] : undefined;
  const checked = mapped ?? address;
  const checkedFamily: 'ipv4' | 'ipv6' = mapped ? 'ipv4' : family;
  if (!SPECIAL_USE.check(checked, checkedFamily)) return undefined;
  if (LOOPBACK.check(checked, checkedFamily)) return allowLoopback ? undefined : `${address} is a loopback address`;
  return `${address} is a private or special-use address`;
}

function resolve(hostname: string): Promise<LookupAddress[]> {
  return new Promise((done, fail) => dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) => (error ? fail(error) : done(addresses))));
}

/** A lookup that answers the address already checked, whatever family or form is asked for. */
function pinnedLookup(address: LookupAddress): LookupFunction {
  return ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [address]);
    else callback(null, address.address, address.family);
  }) as LookupFunction;
}

/** A `fetch` for oidc-provider's `fetch` setting, with the checks above. */
export function metadataDocumentFetch(options: MetadataDocumentFetchOptions = {}): (url: string | URL, init?: RequestInit) => Promise<Response> {
  const allowLoopback = options.allowLoopback ?? false;
  const timeoutMs = options.timeoutMs ?? DEFAULT_METADATA_DOCUMENT_TIMEOUT_MS;
  const maxBytes = options.maxBytes ?? DEFAULT_METADATA_DOCUMENT_MAX_BYTES;
  const ca = options.trustedCertificates?.length ? [...rootCertificates, ...options.trustedCertificates] : undefined;

  return async (input, init = {}) => {
    const url = new URL(String(input));
    const shown = `${url.origin}${url.pathname}`;
    if (url.protocol !== 'https:') {
      throw new MetadataDocumentRefused('not_https', `${shown}: a client ID metadata document must be served over https.`);
    }
    const hostname = url.hostname.replace(/^\[|\]$/g, '');
    let addresses: LookupAddress[];
    if (isIP(hostname)) {
      addresses = [{ address: hostname, family: isIP(hostname) }];
    } else {
      try {
        addresses = await resolve(hostname);
      } catch {
        throw new MetadataDocumentRefused('unresolvable', `${shown}: the host ${hostname} does not resolve. Check the client_id URL.`);
      }
    }
    // Every address must pass: a name that also resolves inside is refused, not raced.
    for (const { address } of addresses) {
      const problem = addressProblem(address, allowLoopback);
      if (problem) {
        throw new MetadataDocumentRefused(
          'special_use_address',
          `${shown}: ${hostname === address ? '' : `${hostname} resolves to `}${problem}; client ID metadata documents are fetched only from public addresses.`,
        );
      }
    }
    const target = addresses[0];
    if (!target) throw new MetadataDocumentRefused('unresolvable', `${shown}: the host ${hostname} has no address.`);

    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, key) => {
      headers[key] = value;
    });
    return new Promise<Response>((done, fail) => {
      let settled = false;
      const finish = (error: MetadataDocumentRefused | undefined, response?: Response): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        init.signal?.removeEventListener('abort', onAbort);
        if (error) {
          req.destroy();
          fail(error);
        } else done(response!);
      };
      const tooSlow = (): void =>
        finish(new MetadataDocumentRefused('timeout', `${shown}: no complete answer within ${timeoutMs} ms. Serve the document faster, or try again.`));
      const onAbort = tooSlow;
      const timer = setTimeout(tooSlow, timeoutMs);
      init.signal?.addEventListener('abort', onAbort);

      const req = httpsRequest(
        {
          host: hostname,
          port: url.port || 443,
          path: `${url.pathname}${url.search}`,
          method: 'GET',
          headers,
          lookup: pinnedLookup(target),
          ...(isIP(hostname) ? {} : { servername: hostname }),
          ...(ca ? { ca } : {}),
          agent: false,
        },
        (res) => {
          const declared = Number(res.headers['content-length']);
          if (Number.isFinite(declared) && declared > maxBytes) {
            return finish(new MetadataDocumentRefused('too_large', `${shown}: the document is ${declared} bytes; at most ${maxBytes} are accepted.`));
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > maxBytes)
              return finish(new MetadataDocumentRefused('too_large', `${shown}: the document is larger than ${maxBytes} bytes, the most accepted.`));
            chunks.push(chunk);
          });
          res.on('error', () => finish(new MetadataDocumentRefused('unreachable', `${shown}: the connection broke while reading the document.`)));
          res.on('end', () => {
            const responseHeaders = new Headers();
            for (const [key, value] of Object.entries(res.headers)) {
              if (typeof value === 'string') responseHeaders.set(key, value);
              else if (Array.isArray(value)) for (const v of value) responseHeaders.append(key, v);
            }
            const status = res.statusCode ?? 502;
            const body = status === 204 || status === 304 ? null : Buffer.concat(chunks);
            finish(undefined, new Response(body, { status, headers: responseHeaders }));
          });
        },
      );
      req.on('error', (error: NodeJS.ErrnoException) => {
        finish(
          new MetadataDocumentRefused(
            'unreachable',
            `${shown}: cannot fetch it (${error.code ?? error.message}). The document must be served over https with a certificate this server trusts.`,
          ),
        );
      });
      req.end();
    });
  };
}

/** The refusal behind an error oidc-provider wrapped (it keeps the fetch's error as `cause`). */
export function metadataDocumentRefusalIn(error: unknown): MetadataDocumentRefused | undefined {
  for (let current = error, depth = 0; current && depth < 5; current = (current as { cause?: unknown }).cause, depth++) {
    if (current instanceof MetadataDocumentRefused) return current;
  }
  return undefined;
}
