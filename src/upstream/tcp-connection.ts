// One stream connection to one upstream server, TCP or TLS, used for many queries (RFC 7766
// section 6.2.1: clients SHOULD reuse connections and pipeline queries; RFC 7858 section 3.4
// the same for TLS). Queries are written as they come; replies are matched to them by ID and
// question, in any order (RFC 7766 section 7). The connector makes the stream: a TCP socket
// from the socket factory (tcp.ts), with TLS on top (tls.ts), so it leaves through the same
// VRF as every other upstream socket.
//
// Its life: connected by the first query; closed when it has been idle for idleTimeoutMs (RFC
// 7766 section 6.2.3: the client closes idle connections, which spares the server from doing
// it and us from racing its close), when the server closes it, or on a framing error. While
// idle its socket and timer are unreferenced, so they never keep a process from exiting.
// Failures are UpstreamErrors with stable codes, reported to the queries that were waiting.

import type net from 'node:net';
import { UpstreamError } from '../errors.js';
import { randomU16 } from '../random.js';
import { replyMatches } from '../dns/message.js';
import { MAX_TCP_MESSAGE } from '../dns/constants.js';
import { FrameDecoder, frame } from '../net/framing.js';
import type { SocketFactory } from '../net/socket-factory.js';
import type { UpstreamServer } from './server.js';

interface Waiting {
  readonly question: Buffer;
  readonly resolve: (reply: Buffer) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
  /** Written after an earlier reply on this connection: its loss may be the server's idle close. */
  readonly reused: boolean;
}

/**
 * The connection ended before this query's reply, and it had served queries before: most likely
 * the server closed it as idle while the query was on its way. Worth one retry on a new
 * connection (RFC 7766 section 6.2.3: clients must be prepared for that close).
 */
export class ConnectionLostError extends UpstreamError {}

/** The connection could not be made (refused, unreachable, no answer to the SYN in time). */
export class ConnectFailedError extends UpstreamError {}

/**
 * Opens the stream to `server` within timeoutMs. Rejects with an UpstreamError that says what
 * failed (its code: VR_ERR_UPSTREAM_TIMEOUT, VR_ERR_UPSTREAM_TCP, VR_ERR_UPSTREAM_TLS).
 */
export type Connector = (server: UpstreamServer, timeoutMs: number) => Promise<net.Socket>;

/** The connector of plain TCP: a socket from the factory (bound to the VRF), connected. */
export function tcpConnector(factory: SocketFactory): Connector {
  return async (server, timeoutMs) => {
    try {
      return await factory.tcpConnect(server.endpoint.family, server.address, server.endpoint.port, timeoutMs);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new ConnectFailedError(
        code === 'ETIMEDOUT' ? 'VR_ERR_UPSTREAM_TIMEOUT' : 'VR_ERR_UPSTREAM_TCP',
        server.label,
        `TCP connect failed: ${code ?? (e as Error).message}`,
        { cause: e },
      );
    }
  };
}

export class TcpConnection {
  private sock: net.Socket | null = null;
  private connecting: Promise<net.Socket> | null = null;
  private readonly waiting = new Map<number, Waiting>();
  private readonly decoder = new FrameDecoder(MAX_TCP_MESSAGE);
  private idleTimer: NodeJS.Timeout | null = null;
  private replies = 0;
  /** Set once the connection is finished; a new query needs a new TcpConnection. */
  closed = false;

  constructor(
    private readonly connector: Connector,
    private readonly server: UpstreamServer,
    private readonly idleTimeoutMs: number,
    private readonly onClosed: (c: TcpConnection) => void,
  ) {}

  /** Queries waiting for their reply on this connection. */
  get pending(): number {
    return this.waiting.size;
  }

  /** The reply to `query` (whose ID may be changed to one free on this connection). */
  async ask(query: Buffer, question: Buffer, timeoutMs: number): Promise<Buffer> {
    if (this.closed) throw new UpstreamError('VR_ERR_UPSTREAM_TCP', this.server.label, 'connection closed');
    this.busy();
    const started = performance.now();
    let sock: net.Socket;
    try {
      sock = this.sock ?? (await (this.connecting ??= this.connect(timeoutMs)));
    } catch (e) {
      this.idleIfUnused();
      throw e;
    }
    if (this.closed) throw new UpstreamError('VR_ERR_UPSTREAM_TCP', this.server.label, 'connection closed');
    const left = Math.max(1, timeoutMs - (performance.now() - started));
    const id = this.freeId(query.readUInt16BE(0));
    const out = id === query.readUInt16BE(0) ? query : withId(query, id);
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        this.idleIfUnused();
        // The connection stays: a late reply is recognised by its ID and dropped.
        reject(new UpstreamError('VR_ERR_UPSTREAM_TIMEOUT', this.server.label, `no TCP reply within ${timeoutMs} ms`));
      }, left);
      this.waiting.set(id, { question, resolve, reject, timer, reused: this.replies > 0 });
      sock.write(frame(out));
    });
  }

  /** Ends the connection now; waiting queries fail with `reason`. Idempotent. */
  close(reason = 'connection closed'): void {
    this.finish(() => new UpstreamError('VR_ERR_UPSTREAM_TCP', this.server.label, reason));
  }

  private async connect(timeoutMs: number): Promise<net.Socket> {
    let sock: net.Socket;
    try {
      sock = await this.connector(this.server, timeoutMs);
    } catch (e) {
      const err = e instanceof UpstreamError ? e : new UpstreamError('VR_ERR_UPSTREAM_TCP', this.server.label, (e as Error).message, { cause: e });
      this.finish(() => err);
      throw err;
    }
    if (this.closed) {
      sock.destroy();
      throw new UpstreamError('VR_ERR_UPSTREAM_TCP', this.server.label, 'connection closed');
    }
    // Many small frames: Nagle would hold a query back until the previous one is acknowledged.
    sock.setNoDelay(true);
    sock.on('data', (chunk: Buffer) => this.received(chunk));
    sock.on('error', (e) => this.lost((e as NodeJS.ErrnoException).code ?? e.message, e));
    sock.on('end', () => this.lost('connection closed before a reply'));
    sock.on('close', () => this.lost('connection closed before a reply'));
    this.sock = sock;
    this.connecting = null;
    return sock;
  }

  private received(chunk: Buffer): void {
    this.decoder.push(chunk);
    for (let msg = this.decoder.next(); msg !== null; msg = this.decoder.next()) {
      if (msg === 'too-large') {
        this.finish(() => new UpstreamError('VR_ERR_UPSTREAM_BAD_REPLY', this.server.label, 'oversized TCP frame'));
        return;
      }
      const id = msg.readUInt16BE(0);
      const w = this.waiting.get(id);
      if (w === undefined) continue; // a reply to a query that timed out
      this.waiting.delete(id);
      clearTimeout(w.timer);
      this.replies++;
      if (replyMatches(msg, id, w.question, 0, w.question.length)) w.resolve(Buffer.from(msg));
      else w.reject(new UpstreamError('VR_ERR_UPSTREAM_BAD_REPLY', this.server.label, 'TCP reply does not match our query'));
    }
    this.idleIfUnused();
  }

  private lost(why: string, cause?: Error): void {
    if (this.closed) return;
    this.finish((w) =>
      w.reused
        ? new ConnectionLostError('VR_ERR_UPSTREAM_TCP', this.server.label, why, cause ? { cause } : undefined)
        : new UpstreamError('VR_ERR_UPSTREAM_TCP', this.server.label, why, cause ? { cause } : undefined),
    );
  }

  private finish(errorFor: (w: Waiting) => Error): void {
    if (this.closed) return;
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiting) {
      clearTimeout(w.timer);
      w.reject(errorFor(w));
    }
    if (this.sock) {
      this.sock.removeAllListeners('data');
      this.sock.on('error', () => {}); // a late error must not become an unhandled 'error'
      this.sock.destroy();
    }
    this.onClosed(this);
  }

  /** A query is coming: the socket keeps the process alive again, the idle timer stops. */
  private busy(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    this.sock?.ref();
  }

  private idleIfUnused(): void {
    if (this.closed || this.waiting.size > 0 || this.idleTimer !== null || this.connecting !== null) return;
    this.sock?.unref();
    this.idleTimer = setTimeout(() => this.close('idle'), this.idleTimeoutMs);
    this.idleTimer.unref();
  }

  /** `wanted`, or a random ID no query on this connection waits with (RFC 5452 9.2: random). */
  private freeId(wanted: number): number {
    let id = wanted;
    while (this.waiting.has(id)) id = randomU16();
    return id;
  }
}

function withId(query: Buffer, id: number): Buffer {
  const copy = Buffer.from(query);
  copy.writeUInt16BE(id, 0);
  return copy;
}
