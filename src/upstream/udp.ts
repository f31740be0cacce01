// One UDP exchange with one upstream server. Each exchange has its own socket on a port the
// kernel picks at random and a random ID (RFC 5452 section 9), bound to the VRF by the socket
// factory. The socket is not connected, so we see every datagram that reaches it and count the
// ones that are not the answer: from another address or port (spoofedReplies), or from the
// server with a wrong ID or question (mismatchedReplies). Only a matching reply settles it.

import { UpstreamError } from '../errors.js';
import { replyMatches } from '../dns/message.js';
import type { SocketFactory, UdpExchangeSocket } from '../net/socket-factory.js';
import type { Stats } from '../stats.js';
import type { UpstreamServer } from './server.js';

export interface UdpExchange {
  (server: UpstreamServer, query: Buffer, question: Buffer, timeoutMs: number): Promise<Buffer>;
}

export function createUdpExchange(factory: SocketFactory, stats: Stats): UdpExchange {
  return (server, query, question, timeoutMs) =>
    new Promise<Buffer>((resolve, reject) => {
      const id = query.readUInt16BE(0);
      const { family, port } = server.endpoint;
      // No cap on stray datagrams: giving up would let a flood of forgeries beat the real reply.
      // Each costs a comparison; the attempt's timeout bounds the exchange.
      let settled = false;
      let sock: UdpExchangeSocket | null = null;
      const done = (err: Error | null, reply?: Buffer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        sock?.close();
        if (err) reject(err);
        else resolve(reply!);
      };
      const fail = (e: Error) => done(networkError(server, e));
      const timer = setTimeout(
        () => done(new UpstreamError('VR_ERR_UPSTREAM_TIMEOUT', server.label, `no reply within ${timeoutMs} ms`)),
        timeoutMs,
      );
      try {
        sock = factory.udpExchange(family, server.address, port, query, (msg, fromPeer) => {
          if (!fromPeer) stats.spoofedReplies++;
          else if (!replyMatches(msg, id, question)) stats.mismatchedReplies++;
          // A copy: the factory may reuse msg's memory once we return (the helper's slots).
          else done(null, Buffer.from(msg));
        }, fail);
      } catch (e) {
        fail(e as Error);
      }
      if (settled) sock?.close(); // failed inside udpExchange, before sock was set
    });
}

/** A socket or send failure as the pool reports it: what failed and the errno name. */
function networkError(server: UpstreamServer, e: Error): UpstreamError {
  const { code, syscall } = e as NodeJS.ErrnoException;
  const what = syscall === 'sendto' || syscall === 'send' ? 'send failed' : 'cannot open a UDP socket';
  return new UpstreamError('VR_ERR_UPSTREAM_NETWORK', server.label, `${what}: ${code ?? e.message}`, { cause: e });
}
