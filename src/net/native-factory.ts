// The production SocketFactory: every socket is made by the native helper, which sets
// SO_BINDTODEVICE (when a device is given) *before* bind(), and Node adopts the finished fd;
// except upstream UDP exchanges, which the helper also sends and reads (udp-upstream.ts).
// With device null the sockets still come from the helper, so the default VRF runs the same
// code path as every other VRF.
//
// Who owns the fd: the helper closes it on its own failures; after that it is ours until
// Node adopts it. If adoption fails we close it, but only if it is still the socket we made
// (Node may already have closed it, and the number may have been reused).

import dgram from 'node:dgram';
import { fstatSync } from 'node:fs';
import net from 'node:net';
import { closeFd, createSocket } from '../native/binding.js';
import { connectWithin } from './plain-factory.js';
import { NativeUdpExchanges } from './udp-upstream.js';
import type { Family, ListenSpec, SocketFactory } from './socket-factory.js';

export interface NativeFactoryOptions {
  /**
   * Listeners get SO_REUSEPORT: with Workers= above 1 every worker binds the same address and
   * port and the kernel spreads the clients. Off otherwise, so that a second instance on the
   * same address fails with EADDRINUSE instead of quietly taking half the queries.
   */
  readonly reusePort?: boolean;
}

export function createNativeSocketFactory(device: string | null, options: NativeFactoryOptions = {}): SocketFactory {
  const reusePort = options.reusePort === true;
  let exchanges: NativeUdpExchanges | null = null;
  return {
    device,
    async udpListener(spec: ListenSpec): Promise<dgram.Socket> {
      return adoptUdp(this.udpListenerFd!(spec), spec.family);
    },

    udpListenerFd(spec: ListenSpec): number {
      return createSocket({
        family: spec.family, type: 'udp', device, address: spec.address, port: spec.port,
        reuseAddr: true, reusePort, v6Only: spec.family === 6,
      });
    },

    async tcpListener(spec: ListenSpec, backlog: number): Promise<net.Server> {
      const fd = createSocket({
        family: spec.family, type: 'tcp', device, address: spec.address, port: spec.port,
        reuseAddr: true, reusePort, v6Only: spec.family === 6, backlog,
      });
      return adoptServer(fd, backlog);
    },

    udpExchange(family, address, port, query, sink) {
      // Socket, device, send and the replies' reading are the helper's (udp-upstream.ts). Its
      // failures are known at once, so sink.error is never called.
      return (exchanges ??= new NativeUdpExchanges(device)).open(family, address, port, query, sink);
    },

    async tcpConnect(family: Family, address: string, port: number, timeoutMs: number): Promise<net.Socket> {
      // No bind: connect() picks the source address from the device's routes.
      const fd = createSocket({ family, type: 'tcp', device });
      const ino = inodeOf(fd);
      let sock: net.Socket;
      try {
        sock = new net.Socket({ fd });
      } catch (e) {
        releaseIfStillOurs(fd, ino);
        throw e;
      }
      // connect() must follow in the same tick. The constructor starts reading the adopted
      // fd; an unconnected TCP socket polls as hung up, so if the event loop turned first,
      // Node would read ENOTCONN and destroy it (measured on Node 20.20). connectWithin calls
      // sock.connect() synchronously, and Node connects to an IP literal on process.nextTick,
      // before the next poll.
      return connectWithin(sock, family, address, port, timeoutMs);
    },
  };
}

function adoptUdp(fd: number, family: Family): dgram.Socket {
  const ino = inodeOf(fd);
  const sock = dgram.createSocket({ type: family === 4 ? 'udp4' : 'udp6' });
  try {
    // Synchronous for an fd: it throws if the fd cannot be adopted, else is bound on return.
    // exclusive: a cluster worker adopts it itself instead of asking the primary.
    // libuv's uv_udp_open sets SO_REUSEADDR on every UDP fd it adopts: the listeners ask for it
    // anyway.
    sock.bind({ fd, exclusive: true });
  } catch (e) {
    sock.close();
    releaseIfStillOurs(fd, ino);
    throw e;
  }
  return sock;
}

function adoptServer(fd: number, backlog: number): Promise<net.Server> {
  const ino = inodeOf(fd);
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    const onError = (e: Error) => {
      releaseIfStillOurs(fd, ino);
      reject(e);
    };
    server.once('error', onError);
    // Node calls listen() again on an adopted fd; pass our backlog so it is not reset to 511.
    server.listen({ fd, backlog, exclusive: true }, () => {
      server.off('error', onError);
      resolve(server);
    });
  });
}

function inodeOf(fd: number): number {
  return fstatSync(fd).ino;
}

function releaseIfStillOurs(fd: number, ino: number): void {
  try {
    if (fstatSync(fd).ino === ino) closeFd(fd);
  } catch {
    // Already closed: Node took ownership before failing and released it.
  }
}
