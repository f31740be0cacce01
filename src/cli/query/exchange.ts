// One query from `vrf-resolver query` to the instance's own listener, from inside the VRF: the
// socket comes from a factory bound to the instance's VRF device, as a client in that VRF
// (`ip vrf exec mgmt dig`) would ask. One attempt, no retry: the command reports what happened.

import type dgram from 'node:dgram';
import type net from 'node:net';
import { MAX_TCP_MESSAGE } from '../../dns/constants.js';
import { replyMatches } from '../../dns/message.js';
import type { StubQuery } from '../../dns/stub-query.js';
import { FrameDecoder, frame } from '../../net/framing.js';
import type { Family, SocketFactory } from '../../net/socket-factory.js';

export type Transport = 'udp' | 'tcp';

export interface Listener {
  readonly transport: Transport;
  readonly family: Family;
  readonly address: string;
  readonly port: number;
}

/**
 * A listener label of the status report ("udp 127.0.0.1:53 on mgmt", "tcp [::1]:53", "udp
 * 127.0.0.1:53 on mgmt (from systemd, dns)"), as an address to send to; a wildcard listener is
 * asked on loopback. null for a label of another shape.
 */
export function parseListener(label: string): Listener | null {
  const m = /^(udp|tcp) (?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):([0-9]+)(?: |$)/.exec(label);
  if (!m) return null;
  const v6 = m[2];
  const address = v6 !== undefined ? (v6 === '::' ? '::1' : v6) : m[3] === '0.0.0.0' ? '127.0.0.1' : m[3]!;
  return { transport: m[1] as Transport, family: v6 !== undefined ? 6 : 4, address, port: Number(m[4]) };
}

/** The reply to `q` from `to`; rejects with an Error that says what happened. */
export async function exchange(factory: SocketFactory, to: Listener, q: StubQuery, timeoutMs: number): Promise<Buffer> {
  return to.transport === 'udp' ? overUdp(await factory.udpClient(to.family), to, q, timeoutMs) : overTcp(factory, to, q, timeoutMs);
}

function overUdp(sock: dgram.Socket, to: Listener, q: StubQuery, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, reply?: Buffer): void => {
      clearTimeout(timer);
      sock.removeAllListeners('message');
      sock.on('error', () => {}); // a late ICMP error must not become an unhandled 'error'
      sock.close();
      if (err) reject(err);
      else resolve(reply!);
    };
    const timer = setTimeout(() => done(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    sock.on('message', (msg, rinfo) => {
      // Only the instance's reply to this question counts; anything else is ignored (RFC 5452).
      if (rinfo.address === to.address && rinfo.port === to.port && replyMatches(msg, q.id, q.question)) done(null, msg);
    });
    sock.on('error', (e) => done(e));
    sock.send(q.msg, to.port, to.address, (e) => {
      if (e) done(e);
    });
  });
}

async function overTcp(factory: SocketFactory, to: Listener, q: StubQuery, timeoutMs: number): Promise<Buffer> {
  const started = performance.now();
  const sock: net.Socket = await factory.tcpConnect(to.family, to.address, to.port, timeoutMs);
  const left = Math.max(1, timeoutMs - (performance.now() - started));
  return new Promise((resolve, reject) => {
    const decoder = new FrameDecoder(MAX_TCP_MESSAGE);
    const done = (err: Error | null, reply?: Buffer): void => {
      clearTimeout(timer);
      sock.removeAllListeners('data');
      sock.on('error', () => {});
      sock.destroy();
      if (err) reject(err);
      else resolve(reply!);
    };
    const timer = setTimeout(() => done(new Error(`no answer within ${timeoutMs} ms`)), left);
    sock.on('data', (chunk: Buffer) => {
      decoder.push(chunk);
      const msg = decoder.next();
      if (msg === null) return;
      if (msg === 'too-large') return done(new Error('the TCP reply is larger than a DNS message can be'));
      if (!replyMatches(msg, q.id, q.question)) return done(new Error('the TCP reply does not answer our query'));
      done(null, Buffer.from(msg));
    });
    sock.on('error', (e) => done(e));
    sock.on('end', () => done(new Error('the instance closed the TCP connection without an answer')));
    sock.write(frame(q.msg));
  });
}
