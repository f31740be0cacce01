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
  /**
   * `exactCase`: the query's name has a random letter case (RandomizeCase=), and only a reply
   * that keeps it counts. Replies from the server that differ in case alone are ignored as
   * forgeries would be; if no other reply comes, the attempt fails with VR_ERR_UPSTREAM_CASE
   * (the server does not keep case) rather than a plain timeout.
   */
  (server: UpstreamServer, query: Buffer, question: Buffer, timeoutMs: number, exactCase?: boolean): Promise<Buffer>;
}

export function createUdpExchange(factory: SocketFactory, stats: Stats): UdpExchange {
  return (server, query, question, timeoutMs, exactCase = false) =>
    new Promise<Buffer>((resolve, reject) => {
      const id = query.readUInt16BE(0);
      const { family, port } = server.endpoint;
      // No cap on stray datagrams: giving up would let a flood of forgeries beat the real reply.
      // Each costs a comparison; the attempt's timeout bounds the exchange.
      let settled = false;
      let caseOnly = 0; // replies from the server that differ from the question in letter case alone
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
        () => done(caseOnly > 0
          ? new UpstreamError('VR_ERR_UPSTREAM_CASE', server.label, `${caseOnly} repl${caseOnly === 1 ? 'y' : 'ies'} within ${timeoutMs} ms, none keeping the query's letter case`)
          : new UpstreamError('VR_ERR_UPSTREAM_TIMEOUT', server.label, `no reply within ${timeoutMs} ms`)),
        timeoutMs,
      );
      try {
        sock = factory.udpExchange(family, server.address, port, query, (msg, fromPeer) => {
          if (!fromPeer) stats.spoofedReplies++;
          else if (!replyMatches(msg, id, question, exactCase)) {
            stats.mismatchedReplies++;
            if (exactCase && replyMatches(msg, id, question)) caseOnly++;
          }
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
