// UDP listener: datagrams in, the handler's reply out to the sender. No DNS logic here; the
// socket comes ready-bound from the socket factory. The handler returns the reply at once (a
// cache hit) or LATER, and then replies through the context's respond(). Whatever a datagram
// contains, nothing escapes this listener.

import type dgram from 'node:dgram';
import type { Logger } from 'pino';
import { LATER, type HandleResult, type QueryContext } from '../resolver.js';

export type QueryHandler = (msg: Buffer, ctx: QueryContext) => HandleResult;

export interface Listener {
  /** "udp 127.0.0.1:53" */
  readonly label: string;
  close(): Promise<void>;
}

/** The client's "address:port" is built only when a log line asks for it. */
class UdpContext implements QueryContext {
  readonly transport = 'udp' as const;
  constructor(
    private readonly sock: dgram.Socket,
    readonly address: string,
    private readonly port: number,
  ) {}
  get client(): string {
    return `${this.address}:${this.port}`;
  }
  // No callback per send: a failed send surfaces as the socket's 'error' event (logged in
  // serveUdp), and the hot path allocates no closure for it.
  respond(reply: Buffer | null): void {
    if (reply) this.sock.send(reply, this.port, this.address);
  }
}

export function serveUdp(sock: dgram.Socket, label: string, handler: QueryHandler, log: Logger): Listener {
  sock.on('message', (msg, rinfo) => {
    const ctx = new UdpContext(sock, rinfo.address, rinfo.port);
    try {
      const result = handler(msg, ctx);
      if (result !== LATER) ctx.respond(result);
    } catch (err) {
      log.error({ err, listener: label }, 'handler failed');
    }
  });
  sock.on('error', (err) => log.warn({ err: err.message, listener: label }, 'UDP listener error'));
  return {
    label,
    close: () => new Promise<void>((resolve) => sock.close(() => resolve())),
  };
}
