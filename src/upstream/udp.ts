// One UDP exchange with one upstream server. Each exchange has its own socket on a port the
// kernel picks at random and a random ID (RFC 5452 section 9), bound to the VRF by the socket
// factory. The socket is not connected, so we see every datagram that reaches it and count the
// ones that are not the answer: from another address or port (spoofedReplies), or from the
// server with a wrong ID or question (mismatchedReplies). Only a matching reply settles it.

import type dgram from 'node:dgram';
import { UpstreamError } from '../errors.js';
import { replyMatches } from '../dns/message.js';
import type { SocketFactory } from '../net/socket-factory.js';
import type { Stats } from '../stats.js';
import type { UpstreamServer } from './server.js';

export interface UdpExchange {
  (server: UpstreamServer, query: Buffer, question: Buffer, timeoutMs: number): Promise<Buffer>;
}

export function createUdpExchange(factory: SocketFactory, stats: Stats): UdpExchange {
  return async (server, query, question, timeoutMs) => {
    let sock: dgram.Socket;
    try {
      sock = await factory.udpClient(server.endpoint.family);
    } catch (e) {
      throw new UpstreamError('VR_ERR_UPSTREAM_NETWORK', server.label, `cannot open a UDP socket: ${(e as Error).message}`, { cause: e });
    }
    const id = query.readUInt16BE(0);
    return new Promise<Buffer>((resolve, reject) => {
      // No cap on stray datagrams: giving up would let a flood of forgeries beat the real reply.
      // Each costs a comparison; the attempt's timeout bounds the exchange.
      let settled = false;
      const done = (err: Error | null, reply?: Buffer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        sock.removeAllListeners('message');
        sock.on('error', () => {}); // a late ICMP error must not become an unhandled 'error'
        sock.close();
        if (err) reject(err);
        else resolve(reply!);
      };
      const timer = setTimeout(
        () => done(new UpstreamError('VR_ERR_UPSTREAM_TIMEOUT', server.label, `no reply within ${timeoutMs} ms`)),
        timeoutMs,
      );
      sock.on('message', (msg, rinfo) => {
        if (rinfo.port !== server.endpoint.port || rinfo.address !== server.address) {
          stats.spoofedReplies++;
        } else if (!replyMatches(msg, id, question)) {
          stats.mismatchedReplies++;
        } else {
          done(null, msg);
        }
      });
      sock.on('error', (e) =>
        done(new UpstreamError('VR_ERR_UPSTREAM_NETWORK', server.label, (e as NodeJS.ErrnoException).code ?? e.message, { cause: e })),
      );
      sock.send(query, server.endpoint.port, server.endpoint.address, (e) => {
        if (e) done(new UpstreamError('VR_ERR_UPSTREAM_NETWORK', server.label, `send failed: ${(e as NodeJS.ErrnoException).code ?? e.message}`, { cause: e }));
      });
    });
  };
}
