// A SocketFactory made of Node's own dgram and net, with no device binding: for tests that do
// not need a device, and for a default-VRF instance on a host where the native helper is not
// built. Same semantics as the native factory: listeners with SO_REUSEADDR, IPv6 sockets with
// IPV6_V6ONLY, upstream UDP sockets on a kernel-chosen random port.

import dgram from 'node:dgram';
import net from 'node:net';
import type { ExchangeSink, Family, ListenSpec, SocketFactory, UdpExchangeSocket } from './socket-factory.js';

/** The wildcard address an upstream UDP socket binds to (port 0: the kernel picks). */
export const WILDCARD: Readonly<Record<Family, string>> = { 4: '0.0.0.0', 6: '::' };

export function createPlainSocketFactory(): SocketFactory {
  return {
    device: null,
    udpListener: (spec) => bindUdp(spec.family, spec.address, spec.port, true),
    tcpListener: (spec, backlog) => listenTcp(spec, backlog),
    udpExchange,
    tcpConnect: (family, address, port, timeoutMs) =>
      connectWithin(new net.Socket(), family, address, port, timeoutMs),
  };
}

function udpExchange(family: Family, address: string, port: number, query: Buffer, sink: ExchangeSink): UdpExchangeSocket {
  const onError = (e: Error) => sink.error(e);
  let sock: dgram.Socket | null = null;
  let closed = false;
  // Port 0: Linux picks a random free port from ip_local_port_range (RFC 5452 section 9.2).
  bindUdp(family, WILDCARD[family], 0, false).then((s) => {
    if (closed) {
      s.close();
      return;
    }
    sock = s;
    s.on('message', (msg, rinfo) => sink.datagram(msg, rinfo.port === port && rinfo.address === address));
    s.on('error', onError);
    s.send(query, port, address, (e) => {
      if (e) onError(e);
    });
  }, onError);
  return {
    close() {
      closed = true;
      if (sock === null) return;
      sock.removeAllListeners('message');
      sock.removeAllListeners('error');
      sock.on('error', () => {}); // a late ICMP error must not become an unhandled 'error'
      sock.close();
      sock = null;
    },
  };
}

function bindUdp(family: Family, address: string, port: number, reuseAddr: boolean): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket({ type: family === 4 ? 'udp4' : 'udp6', reuseAddr, ipv6Only: family === 6 });
    const onError = (e: Error) => {
      sock.close();
      reject(e);
    };
    sock.once('error', onError);
    // exclusive: a cluster worker binds for itself instead of asking the primary.
    sock.bind({ address, port, exclusive: true }, () => {
      sock.off('error', onError);
      resolve(sock);
    });
  });
}

function listenTcp(spec: ListenSpec, backlog: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    // libuv sets SO_REUSEADDR on every TCP listener it binds, so there is no option for it.
    const server = net.createServer();
    const onError = (e: Error) => reject(e);
    server.once('error', onError);
    server.listen({ host: spec.address, port: spec.port, backlog, ipv6Only: spec.family === 6, exclusive: true }, () => {
      server.off('error', onError);
      resolve(server);
    });
  });
}

/**
 * Connects `sock` (fresh, or adopted from an unconnected fd by the native factory) to
 * address:port. Resolves once connected; rejects with the connection error, or with an Error
 * whose code is 'ETIMEDOUT' after timeoutMs, destroying the socket either way.
 * Shared by both factories so their timeout behaviour cannot drift apart.
 */
export function connectWithin(
  sock: net.Socket,
  family: Family,
  address: string,
  port: number,
  timeoutMs: number,
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    // Only IP literals: a name would need a DNS lookup, and resolving is our own job.
    if (net.isIP(address) !== family) {
      sock.destroy();
      reject(new TypeError(`tcpConnect: ${address} is not an IPv${family} address`));
      return;
    }
    const timer = setTimeout(() => {
      sock.destroy();
      const where = family === 6 ? `[${address}]:${port}` : `${address}:${port}`;
      reject(Object.assign(new Error(`connect ETIMEDOUT ${where}: no connection within ${timeoutMs} ms`), {
        code: 'ETIMEDOUT',
        syscall: 'connect',
        address,
        port,
      }));
    }, timeoutMs);
    const onError = (e: Error) => {
      clearTimeout(timer);
      sock.destroy();
      reject(e);
    };
    sock.once('error', onError);
    sock.connect({ host: address, port }, () => {
      clearTimeout(timer);
      sock.off('error', onError);
      resolve(sock);
    });
  });
}
