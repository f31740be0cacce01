// The HTTP transport of Metrics=: a small, bounded HTTP/1.1 server that answers GET /metrics with
// an exposition and nothing else. Its listening socket comes from the instance's SocketFactory, so
// it is bound to the VRF device like the DNS listeners: a scraper in the VRF reaches it, and a
// client in another VRF gets nothing even when the address and port are the same.
//
// Bounds: MAX_CONNECTIONS at once (more are closed on accept), one request per connection
// (Connection: close), the request line and headers within HEADERS_TIMEOUT_MS and MAX_HEADER_BYTES,
// no request body, and IDLE_TIMEOUT_MS of silence ends a connection. A scrape is some 10 KiB.

import http from 'node:http';
import type net from 'node:net';
import type { Logger } from 'pino';
import type { Endpoint } from '../config/types.js';
import { MetricsError } from '../errors.js';
import type { SocketFactory } from '../net/socket-factory.js';

/** What the listener serves: the text of one scrape and its Content-Type. */
export interface Exposition {
  readonly contentType: string;
  render(): Promise<string>;
}

export interface MetricsListener {
  /** "http://127.0.0.1:9153/metrics on mgmt": for logs and `vrf-resolver status`. */
  readonly label: string;
  /** Stops accepting and closes every open connection. */
  close(): Promise<void>;
}

export interface MetricsHttpDeps {
  readonly exposition: Exposition;
  readonly endpoint: Endpoint;
  readonly factory: SocketFactory;
  readonly log: Logger;
}

/** Prometheus scrapes one target with one connection; a few spare for curl and a second scraper. */
export const MAX_CONNECTIONS = 8;
const BACKLOG = 16;
export const HEADERS_TIMEOUT_MS = 5_000;
/** Silence on a connection, e.g. a client that stops reading; longer than the headers timeout, so a slow request gets its 408. */
const IDLE_TIMEOUT_MS = 10_000;
const MAX_HEADER_BYTES = 8 * 1024;

const TEXT = 'text/plain; charset=utf-8';

export async function serveMetricsHttp(deps: MetricsHttpDeps): Promise<MetricsListener> {
  const { exposition, endpoint, factory, log } = deps;
  const host = endpoint.family === 6 ? `[${endpoint.address}]` : endpoint.address;
  const label = `http://${host}:${endpoint.port}/metrics${factory.device ? ` on ${factory.device}` : ''}`;

  let tcp: net.Server;
  try {
    tcp = await factory.tcpListener(endpoint, BACKLOG);
  } catch (e) {
    throw new MetricsError(label, e);
  }

  const server = http.createServer(
    {
      headersTimeout: HEADERS_TIMEOUT_MS,
      requestTimeout: HEADERS_TIMEOUT_MS,
      // How often Node checks the two timeouts above (default 30 s, longer than they are).
      connectionsCheckingInterval: 1_000,
      maxHeaderSize: MAX_HEADER_BYTES,
    },
    (req, res) => handle(req, res, exposition, log),
  );
  server.maxConnections = MAX_CONNECTIONS;
  server.timeout = IDLE_TIMEOUT_MS; // inactivity on a connection: a reader that stops reading
  // accept() failures (EMFILE...) arrive here; without a listener they would end the process.
  server.on('error', (e) => log.warn({ code: 'VR_ERR_METRICS', err: e.message, metrics: label }, 'metrics listener error'));

  // The http server takes over the factory's listening handle (server.listen(handle), a
  // documented form) instead of being fed connections with emit('connection'): Node arms
  // headersTimeout, requestTimeout and closeAllConnections() only for a server that listens
  // (measured on Node 20.20: a fed server never timed out a half-sent request).
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(tcp, BACKLOG, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    tcp.close();
    throw new MetricsError(label, e);
  }

  let closing: Promise<void> | undefined;
  return {
    label,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A scrape in progress is not worth waiting for: the scraper retries at its next interval.
        server.closeAllConnections();
      })),
  };
}

function handle(req: http.IncomingMessage, res: http.ServerResponse, exposition: Exposition, log: Logger): void {
  const path = (req.url ?? '').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    reply(res, 405, 'only GET and HEAD are served here\n', { Allow: 'GET, HEAD' });
  } else if (req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0') {
    reply(res, 400, 'a request body is not accepted\n');
  } else if (path === '/metrics') {
    exposition.render().then(
      (body) => reply(res, 200, body, { 'Content-Type': exposition.contentType }),
      (e: unknown) => {
        log.warn({ code: 'VR_ERR_METRICS', err: (e as Error).message }, 'metrics scrape failed');
        reply(res, 500, 'the metrics could not be collected; see the instance log\n');
      },
    );
  } else if (path === '/') {
    reply(res, 200, 'vrf-resolver: Prometheus metrics are at /metrics\n');
  } else {
    reply(res, 404, 'not found: Prometheus metrics are at /metrics\n');
  }
}

function reply(res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  if (res.destroyed) return; // the client left while the scrape was rendered
  res.writeHead(status, {
    'Content-Type': TEXT,
    'Content-Length': String(Buffer.byteLength(body)),
    // One request per connection: nothing idles in a slot of MAX_CONNECTIONS.
    Connection: 'close',
    ...headers,
  });
  res.end(body);
}
