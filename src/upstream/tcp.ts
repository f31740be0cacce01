// One TCP exchange with one upstream server (RFC 7766): used when the UDP reply came back with
// TC=1. The connection comes from the socket factory, so it leaves through the same VRF.
// One query per connection: fallbacks are rare on a stub's path, and a fresh connection per
// query keeps a broken upstream connection from taking other queries down with it.

import type net from 'node:net';
import { UpstreamError } from '../errors.js';
import { replyMatches } from '../dns/message.js';
import { MAX_TCP_MESSAGE } from '../dns/constants.js';
import { FrameDecoder, frame } from '../net/framing.js';
import type { SocketFactory } from '../net/socket-factory.js';
import type { UpstreamServer } from './server.js';

export interface TcpExchange {
  (server: UpstreamServer, query: Buffer, question: Buffer, timeoutMs: number): Promise<Buffer>;
}

export function createTcpExchange(factory: SocketFactory): TcpExchange {
  return async (server, query, question, timeoutMs) => {
    const started = performance.now();
    let sock: net.Socket;
    try {
      sock = await factory.tcpConnect(server.endpoint.family, server.endpoint.address, server.endpoint.port, timeoutMs);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new UpstreamError(
        code === 'ETIMEDOUT' ? 'VR_ERR_UPSTREAM_TIMEOUT' : 'VR_ERR_UPSTREAM_TCP',
        server.label,
        `TCP connect failed: ${code ?? (e as Error).message}`,
        { cause: e },
      );
    }
    const left = Math.max(1, timeoutMs - (performance.now() - started));
    const id = query.readUInt16BE(0);
    return new Promise<Buffer>((resolve, reject) => {
      const decoder = new FrameDecoder(MAX_TCP_MESSAGE);
      let settled = false;
      const done = (err: Error | null, reply?: Buffer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        sock.removeAllListeners('data');
        sock.on('error', () => {});
        sock.destroy();
        if (err) reject(err);
        else resolve(reply!);
      };
      const timer = setTimeout(
        () => done(new UpstreamError('VR_ERR_UPSTREAM_TIMEOUT', server.label, `no TCP reply within ${timeoutMs} ms`)),
        left,
      );
      sock.on('data', (chunk: Buffer) => {
        decoder.push(chunk);
        const msg = decoder.next();
        if (msg === null) return;
        if (msg === 'too-large') return done(new UpstreamError('VR_ERR_UPSTREAM_BAD_REPLY', server.label, 'oversized TCP frame'));
        if (!replyMatches(msg, id, question)) {
          return done(new UpstreamError('VR_ERR_UPSTREAM_BAD_REPLY', server.label, 'TCP reply does not match our query'));
        }
        done(null, Buffer.from(msg));
      });
      sock.on('error', (e) =>
        done(new UpstreamError('VR_ERR_UPSTREAM_TCP', server.label, (e as NodeJS.ErrnoException).code ?? e.message, { cause: e })),
      );
      sock.on('end', () => done(new UpstreamError('VR_ERR_UPSTREAM_TCP', server.label, 'connection closed before a reply')));
      sock.write(frame(query));
    });
  };
}
