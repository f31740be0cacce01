// TCP listener (RFC 7766): our own two-octet framing, pipelined queries answered as each
// completes (section 6.2.1.1, out of order allowed), an idle timeout (section 6.2.3), a cap on
// connections and on queries in progress per connection. No DNS logic here.

import type net from 'node:net';
import type { Logger } from 'pino';
import { MAX_QUERY_LEN } from '../dns/query.js';
import { FrameDecoder, frame } from '../net/framing.js';
import type { QueryContext } from '../resolver.js';
import type { Listener, QueryHandler } from './udp.js';

export interface TcpLimits {
  readonly idleTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxPipelined: number;
}

/** Replies queued for a client that does not read them; past this the connection is closed. */
const MAX_UNREAD_BYTES = 256 * 1024;

export function serveTcp(server: net.Server, label: string, handler: QueryHandler, limits: TcpLimits, log: Logger): Listener {
  const conns = new Set<net.Socket>();
  server.maxConnections = limits.maxConnections;
  server.on('connection', (sock) => {
    conns.add(sock);
    sock.on('close', () => conns.delete(sock));
    handleConnection(sock, handler, limits, log, label);
  });
  server.on('error', (err) => log.warn({ err: err.message, listener: label }, 'TCP listener error'));
  return {
    label,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const c of conns) c.destroy();
      }),
  };
}

function handleConnection(sock: net.Socket, handler: QueryHandler, limits: TcpLimits, log: Logger, label: string): void {
  const ctx: QueryContext = { transport: 'tcp', client: `${sock.remoteAddress}:${sock.remotePort}` };
  const decoder = new FrameDecoder(MAX_QUERY_LEN);
  let inProgress = 0;
  let partialSince = 0; // when the bytes of an incomplete message started to arrive
  sock.setNoDelay(true);
  sock.setTimeout(limits.idleTimeoutMs);
  sock.on('timeout', () => {
    // Idle: nothing received for idleTimeoutMs. Keep it while replies are still being worked on.
    if (inProgress === 0) sock.destroy();
  });
  sock.on('error', () => sock.destroy()); // resets from clients are routine

  const reply = (out: Buffer | null) => {
    inProgress--;
    if (sock.destroyed) return;
    if (out === null) {
      sock.destroy(); // unreadable or a response sent to us: nothing sensible to say on this stream
      return;
    }
    sock.write(frame(out));
    if (sock.writableLength > MAX_UNREAD_BYTES) sock.destroy();
    else if (sock.isPaused() && inProgress < limits.maxPipelined) sock.resume();
  };

  sock.on('data', (chunk: Buffer) => {
    decoder.push(chunk);
    for (;;) {
      const msg = decoder.next();
      if (msg === 'too-large') {
        sock.destroy();
        return;
      }
      if (msg === null) break;
      inProgress++;
      try {
        const result = handler(Buffer.from(msg), ctx);
        if (result instanceof Promise) {
          result.then(reply, (err: unknown) => {
            log.error({ err, listener: label }, 'handler failed');
            reply(null);
          });
        } else {
          reply(result);
        }
      } catch (err) {
        log.error({ err, listener: label }, 'handler failed');
        reply(null);
      }
      if (sock.destroyed) return;
    }
    // A message trickling in for longer than the idle timeout is cut off (slow-read defence).
    const now = performance.now();
    if (decoder.pending === 0) partialSince = 0;
    else if (partialSince === 0) partialSince = now;
    else if (now - partialSince > limits.idleTimeoutMs) return void sock.destroy();
    if (inProgress >= limits.maxPipelined) sock.pause();
  });
}
