// DNS over TLS to upstream servers (RFC 7858), with the usage profiles of RFC 8310:
//   yes            strict: the server must authenticate. With TLSPinSHA256= its key must match
//                  a pin (RFC 7858 section 4.2; the certificate chain is then not checked, so a
//                  self-signed server works). Otherwise its certificate must chain to a trusted
//                  CA (TLSCAFile= or Node's store) and be valid for DNS=ADDR#NAME's NAME, or
//                  for ADDR when no name is given. Anything less fails the server.
//   opportunistic  TLS without checking who answers (RFC 8310 section 5): protects against a
//                  passive listener only. The fall back to plain DNS is the pool's (pool.ts).
// The TCP socket under TLS comes from the socket factory, bound to the VRF like every other
// upstream socket, and each server's connection is reused for many queries (tcp.ts). A
// verified session is kept per server and offered on the next connection (session
// resumption, RFC 7858 section 3.4), which saves a round trip and the certificate check.

import { readFileSync } from 'node:fs';
import type net from 'node:net';
import type tls from 'node:tls';
import type crypto from 'node:crypto';
import { UpstreamError } from '../errors.js';
import type { DnsOverTls } from '../config/types.js';
import type { SocketFactory } from '../net/socket-factory.js';
import type { UpstreamServer } from './server.js';
import { tcpConnector, type Connector } from './tcp-connection.js';
import { createStreamExchange, TCP_IDLE_TIMEOUT_MS, type TcpExchange } from './tcp.js';

export interface TlsExchangeOptions {
  readonly mode: Exclude<DnsOverTls, 'no'>;
  readonly caFile: string | null;
  readonly pinsSha256: readonly string[];
  readonly idleTimeoutMs?: number;
}

/**
 * node:tls, loaded with the first TLS connection: an instance without DNSOverTLS= never needs
 * it, and loading it costs about 1 MiB of RSS (issue 13, the memory target). node:crypto (for
 * TLSPinSHA256=) comes with it: node:tls loads it anyway.
 */
let tlsModule: Promise<typeof tls> | null = null;
let cryptoLib: typeof crypto | null = null;
const loadTls = () =>
  (tlsModule ??= Promise.all([import('node:tls'), import('node:crypto')]).then(([t, c]) => {
    cryptoLib = c.default;
    return t.default;
  }));

/** EDNS padding block for queries over TLS (RFC 8467 section 4.1, the Block-Length Padding policy). */
export const QUERY_PAD_BLOCK = 128;

export function createTlsExchange(factory: SocketFactory, opts: TlsExchangeOptions): TcpExchange {
  return createStreamExchange(tlsConnector(tcpConnector(factory), opts), opts.idleTimeoutMs ?? TCP_IDLE_TIMEOUT_MS);
}

/** TLS over the streams `tcp` opens: handshake, then the checks of `opts.mode`. */
export function tlsConnector(tcp: Connector, opts: TlsExchangeOptions): Connector {
  // Read once per pipeline (a reload reads it again); load.ts has checked that it is there.
  const ca = opts.caFile !== null ? readFileSync(opts.caFile, 'utf8') : undefined;
  const sessions = new Map<string, Buffer>();
  return async (server, timeoutMs) => {
    const started = performance.now();
    const raw = await tcp(server, timeoutMs);
    let tlsLib: typeof tls;
    try {
      tlsLib = await loadTls();
    } catch (e) {
      raw.destroy();
      throw e;
    }
    const left = Math.max(1, timeoutMs - (performance.now() - started));
    return handshake(tlsLib, raw, server, left, opts, ca, sessions);
  };
}

function handshake(
  tlsLib: typeof tls,
  raw: net.Socket, server: UpstreamServer, timeoutMs: number, opts: TlsExchangeOptions, ca: string | undefined,
  sessions: Map<string, Buffer>,
): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    // The name checked is the configured one, else the address (an IP SAN). SNI carries names
    // only (RFC 6066 section 3: no IP literals).
    const host = server.tlsName ?? server.address;
    const sock = tlsLib.connect({
      socket: raw,
      host,
      ...(server.tlsName !== null && { servername: server.tlsName }),
      ...(ca !== undefined && { ca }),
      minVersion: 'TLSv1.2', // RFC 8310 section 9 via RFC 7525: no SSL, no TLS 1.0/1.1
      // Our own decision below, so that each failure gets a message that says what to fix.
      rejectUnauthorized: false,
      ...(sessions.has(server.label) && { session: sessions.get(server.label)! }),
    });
    let verified = false;
    let settled = false;
    let pending: Buffer | null = null;
    const fail = (message: string, cause?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sessions.delete(server.label); // never resume a session that did not check out
      sock.destroy();
      reject(new UpstreamError('VR_ERR_UPSTREAM_TLS', server.label, message, cause !== undefined ? { cause } : undefined));
    };
    const timer = setTimeout(() => fail(`no TLS handshake within ${Math.round(timeoutMs)} ms`), timeoutMs);
    sock.on('session', (session: Buffer) => {
      // TLS 1.3 tickets come after the handshake; a TLS 1.2 session before our check.
      if (verified) sessions.set(server.label, session);
      else pending = session;
    });
    sock.once('error', (e: NodeJS.ErrnoException) => fail(`TLS handshake failed: ${e.code ?? e.message}`, e));
    sock.once('secureConnect', () => {
      const problem = checkPeer(sock, host, opts);
      if (problem !== null) return fail(problem);
      verified = true;
      if (pending !== null) sessions.set(server.label, pending);
      settled = true;
      clearTimeout(timer);
      sock.removeAllListeners('error');
      resolve(sock);
    });
  });
}

/** Why the server may not be used under `opts.mode`, or null when it may. */
function checkPeer(sock: tls.TLSSocket, host: string, opts: TlsExchangeOptions): string | null {
  if (opts.mode === 'opportunistic') return null;
  if (opts.pinsSha256.length > 0) {
    // cert.pubkey is the bare key (for EC the point), not the SubjectPublicKeyInfo pins are made of.
    const raw = sock.getPeerCertificate().raw;
    const { X509Certificate, createHash } = cryptoLib!; // loaded with node:tls
    const spki = raw ? new X509Certificate(raw).publicKey.export({ type: 'spki', format: 'der' }) : null;
    const pin = spki ? createHash('sha256').update(spki).digest('base64') : '(no certificate)';
    return opts.pinsSha256.includes(pin) ? null : `the server's key (SPKI SHA-256 ${pin}) matches no TLSPinSHA256=`;
  }
  // A resumed session was checked when it was first made (Node skips the name check then).
  if (sock.authorized) return null;
  const err = sock.authorizationError as unknown;
  const code = typeof err === 'string' ? err : ((err as NodeJS.ErrnoException | undefined)?.code ?? String(err));
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `the server's certificate is not valid for ${host} (${(err as Error).message}): set DNS=ADDR#NAME to a name in its certificate, or TLSPinSHA256=`;
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return `the server's certificate has expired or is not valid yet (${code}): the server needs a current certificate`;
  }
  if (UNTRUSTED.has(code)) {
    return `the server's certificate is not signed by a trusted CA (${code}): TLSCAFile= for a private CA, or TLSPinSHA256=`;
  }
  return `the server's certificate was refused (${code})`;
}

/** OpenSSL's verify errors for a chain that does not end at a CA we trust. */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT',
]);
