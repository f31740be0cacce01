// A scripted upstream DNS server on real loopback sockets (UDP and TCP on the same port), in
// the spirit of Unbound's replay tests: the test sees every query and decides what is sent
// back, including forgeries from another port and replies that never come.

import dgram from 'node:dgram';
import net from 'node:net';
import { FrameDecoder, frame } from '../../src/net/framing.js';

export interface Responder {
  /** Send bytes back to the asker (UDP: from the server's port; TCP: on the connection). */
  reply(msg: Buffer): void;
  /** UDP only: send bytes to the asker from a different socket (a different source port). */
  replyFromOtherPort(msg: Buffer): void;
}

export type Script = (query: Buffer, transport: 'udp' | 'tcp', respond: Responder) => void;

export interface FakeUpstream {
  readonly address: string;
  readonly port: number;
  readonly queries: { transport: 'udp' | 'tcp'; msg: Buffer }[];
  /** TCP connections accepted so far, and those open now. */
  readonly tcp: { accepted: number; readonly open: Set<net.Socket> };
  script: Script;
  close(): Promise<void>;
}

export async function startFakeUpstream(script: Script, address = '127.0.0.1'): Promise<FakeUpstream> {
  const type = address.includes(':') ? 'udp6' : 'udp4';
  const udp = dgram.createSocket(type);
  const other = dgram.createSocket(type);
  await new Promise<void>((r) => udp.bind(0, address, r));
  await new Promise<void>((r) => other.bind(0, address, r));
  const port = udp.address().port;
  const tcp = net.createServer();
  const conns = new Set<net.Socket>();
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(port, address, () => resolve());
  });
  const fake: FakeUpstream = {
    address,
    port,
    queries: [],
    tcp: { accepted: 0, open: conns },
    script,
    close: async () => {
      for (const c of conns) c.destroy();
      await Promise.all([
        new Promise<void>((r) => udp.close(() => r())),
        new Promise<void>((r) => other.close(() => r())),
        new Promise<void>((r) => tcp.close(() => r())),
      ]);
    },
  };
  udp.on('message', (msg, rinfo) => {
    fake.queries.push({ transport: 'udp', msg });
    fake.script(msg, 'udp', {
      reply: (out) => udp.send(out, rinfo.port, rinfo.address),
      replyFromOtherPort: (out) => other.send(out, rinfo.port, rinfo.address),
    });
  });
  tcp.on('connection', (sock) => {
    fake.tcp.accepted++;
    conns.add(sock);
    sock.on('close', () => conns.delete(sock));
    sock.on('error', () => sock.destroy());
    const decoder = new FrameDecoder(65535);
    sock.on('data', (chunk: Buffer) => {
      decoder.push(chunk);
      for (let m = decoder.next(); m !== null && m !== 'too-large'; m = decoder.next()) {
        const msg = Buffer.from(m);
        fake.queries.push({ transport: 'tcp', msg });
        fake.script(msg, 'tcp', {
          reply: (out) => sock.write(frame(out)),
          replyFromOtherPort: () => {
            throw new Error('TCP has no other port');
          },
        });
      }
    });
  });
  return fake;
}
