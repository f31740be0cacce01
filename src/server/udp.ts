// UDP listener: datagrams in, the handler's reply out to the sender. No DNS logic here; the
// socket comes ready-bound from the socket factory. The handler is synchronous for cache hits
// and returns a promise otherwise. Whatever a datagram contains, nothing escapes this listener.

import type dgram from 'node:dgram';
import type { Logger } from 'pino';
import type { HandleResult, QueryContext } from '../resolver.js';

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
    readonly address: string,
    private readonly port: number,
  ) {}
  get client(): string {
    return `${this.address}:${this.port}`;
  }
}

export function serveUdp(sock: dgram.Socket, label: string, handler: QueryHandler, log: Logger): Listener {
  // No callback per send: a failed send surfaces as the socket's 'error' event (logged below),
  // and the hot path allocates no closure for it.
  const send = (reply: Buffer | null, port: number, address: string) => {
    if (reply) sock.send(reply, port, address);
  };
  sock.on('message', (msg, rinfo) => {
    const ctx = new UdpContext(rinfo.address, rinfo.port);
    try {
      const result = handler(msg, ctx);
      if (result instanceof Promise) {
        result.then(
          (reply) => send(reply, rinfo.port, rinfo.address),
          (err: unknown) => log.error({ err, listener: label }, 'handler failed'),
        );
      } else {
        send(result, rinfo.port, rinfo.address);
      }
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
