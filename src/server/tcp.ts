// TCP listener (RFC 7766): our own two-octet framing, pipelined queries answered as each
// completes (section 6.2.1.1, out of order allowed), an idle timeout (section 6.2.3), a cap on
// connections and on queries in progress per connection. No DNS logic here.
//
// Under pressure (section 6.2.3: "servers MAY close idle connections when resources are short")
// a new connection at the cap evicts the connection idle the longest, so a crowd of silent
// connections cannot lock real clients out; only when every connection is busy is the new one
// refused.

import type net from 'node:net';
import type { Logger } from 'pino';
import { MAX_QUERY_LEN } from '../dns/query.js';
import { FrameDecoder, frame } from '../net/framing.js';
import { LATER, type QueryContext } from '../resolver.js';
import type { Listener, QueryHandler } from './udp.js';

export interface TcpLimits {
  readonly idleTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerClient: number;
  readonly maxPipelined: number;
}

/** Replies queued for a client that does not read them; past this the connection is closed. */
const MAX_UNREAD_BYTES = 256 * 1024;

interface Conn {
  readonly sock: net.Socket;
  readonly client: string;
  inProgress: number;
  /** performance.now() of the last byte received or reply sent. */
  lastActive: number;
}

export function serveTcp(server: net.Server, label: string, handler: QueryHandler, limits: TcpLimits, log: Logger): Listener {
  const conns = new Set<Conn>();
  const perClient = new Map<string, Set<Conn>>();
  const forget = (c: Conn) => {
    conns.delete(c);
    const mine = perClient.get(c.client);
    mine?.delete(c);
    if (mine?.size === 0) perClient.delete(c.client);
  };
  server.on('connection', (sock) => {
    const client = sock.remoteAddress ?? '';
    const mine = perClient.get(client);
    // One client at its own cap makes room among its own connections; at the global cap, the
    // idlest connection of anyone goes. Refused only when the candidates are all busy.
    const full =
      (mine !== undefined && mine.size >= limits.maxConnectionsPerClient && !evictIdlest(mine, forget)) ||
      (conns.size >= limits.maxConnections && !evictIdlest(conns, forget));
    if (full) {
      sock.destroy();
      return;
    }
    const conn: Conn = { sock, client, inProgress: 0, lastActive: performance.now() };
    conns.add(conn);
    if (mine) mine.add(conn);
    else perClient.set(client, new Set([conn]));
    sock.on('close', () => forget(conn));
    handleConnection(conn, handler, limits, log, label);
  });
  server.on('error', (err) => log.warn({ err: err.message, listener: label }, 'TCP listener error'));
  return {
    label,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const c of conns) c.sock.destroy();
      }),
  };
}

/** Closes the connection among `candidates` with nothing in progress, active least recently. */
function evictIdlest(candidates: Set<Conn>, forget: (c: Conn) => void): boolean {
  let victim: Conn | undefined;
  for (const c of candidates) if (c.inProgress === 0 && (!victim || c.lastActive < victim.lastActive)) victim = c;
  if (!victim) return false;
  forget(victim);
  victim.sock.destroy();
  return true;
}

function handleConnection(conn: Conn, handler: QueryHandler, limits: TcpLimits, log: Logger, label: string): void {
  const { sock } = conn;
  const decoder = new FrameDecoder(MAX_QUERY_LEN);
  let partialSince = 0; // when the bytes of an incomplete message started to arrive
  sock.setNoDelay(true);
  sock.setTimeout(limits.idleTimeoutMs);
  sock.on('timeout', () => {
    // Idle: nothing received for idleTimeoutMs. Keep it while replies are still being worked on.
    if (conn.inProgress === 0) sock.destroy();
  });
  sock.on('error', () => sock.destroy()); // resets from clients are routine

  const reply = (out: Buffer | null) => {
    conn.inProgress--;
    if (sock.destroyed) return;
    if (out === null) {
      sock.destroy(); // unreadable or a response sent to us: nothing sensible to say on this stream
      return;
    }
    conn.lastActive = performance.now();
    sock.write(frame(out));
    if (sock.writableLength > MAX_UNREAD_BYTES) sock.destroy(); // a client that never reads
    else if (sock.isPaused() && conn.inProgress < limits.maxPipelined) sock.resume();
  };
  // One context for the connection: replies may go out in any order (RFC 7766 section 7).
  const ctx: QueryContext = { transport: 'tcp', client: `${sock.remoteAddress}:${sock.remotePort}`, address: sock.remoteAddress ?? '', respond: reply };

  sock.on('data', (chunk: Buffer) => {
    conn.lastActive = performance.now();
    decoder.push(chunk);
    for (;;) {
      const msg = decoder.next();
      if (msg === 'too-large') {
        sock.destroy();
        return;
      }
      if (msg === null) break;
      conn.inProgress++;
      try {
        const result = handler(Buffer.from(msg), ctx);
        if (result !== LATER) reply(result);
      } catch (err) {
        log.error({ err, listener: label }, 'handler failed');
        reply(null);
      }
      if (sock.destroyed) return;
    }
    // A message trickling in for longer than the idle timeout is cut off (slow-read defence).
    if (decoder.pending === 0) partialSince = 0;
    else if (partialSince === 0) partialSince = conn.lastActive;
    else if (conn.lastActive - partialSince > limits.idleTimeoutMs) return void sock.destroy();
    if (conn.inProgress >= limits.maxPipelined) sock.pause();
  });
}
