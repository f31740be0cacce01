import type dgram from 'node:dgram';
import type net from 'node:net';

// Everything that opens a socket goes through a SocketFactory, passed in from app.ts, so the
// pipeline and the listeners never create sockets themselves (the shape of hickory's
// ConnectionProvider and undici's connector). Two implementations:
//   - native-factory.ts: sockets made by the native helper with SO_BINDTODEVICE set *before*
//     bind(), adopted by Node from their fd. This is what production uses, VRF or not.
//   - plain-factory.ts: Node's own dgram/net, no device binding. For tests that do not need a
//     device, and for hosts where the native helper is not built and no VRF is configured.
// A factory is made for one device (a VRF, a veth in tests) or for none (the default VRF).

export type Family = 4 | 6;

export interface ListenSpec {
  readonly family: Family;
  readonly address: string;
  readonly port: number;
}

/**
 * Where an upstream exchange's socket reports (upstream/udp.ts's Exchange is one: an object
 * with methods, not two closures per exchange).
 */
export interface ExchangeSink {
  /**
   * A datagram that reached the socket. `msg` is valid only during the call (copy what is
   * kept); `fromPeer`: its source is the address and port the query went to.
   */
  datagram(msg: Buffer, fromPeer: boolean): void;
  /** A failure found after udpExchange returned (a send completing with an error). */
  error(e: Error): void;
}

/** An upstream exchange's socket. close() ends it: no more datagrams; idempotent. */
export interface UdpExchangeSocket {
  close(): void;
}

export interface SocketFactory {
  /** The device every socket is bound to, or null for the default VRF. */
  readonly device: string | null;
  /** A UDP socket bound to address:port (SO_REUSEADDR), ready to receive. */
  udpListener(spec: ListenSpec): Promise<dgram.Socket>;
  /**
   * The same socket as a bare fd, for the batched listener (server/udp-batch.ts), which hands
   * it to the native helper; the caller owns it. Absent where the helper is not used.
   */
  udpListenerFd?(spec: ListenSpec): number;
  /** A listening TCP server on address:port (SO_REUSEADDR). */
  tcpListener(spec: ListenSpec, backlog: number): Promise<net.Server>;
  /**
   * One upstream UDP exchange: `query` sent to address:port from a fresh socket on a port the
   * kernel picks at random (RFC 5452 section 9.2) that no other local socket can bind (no
   * SO_REUSEADDR), every datagram that reaches it passed to sink.datagram until close().
   * `address` is in canonical form (upstream/server.ts), as the kernel reports a source.
   * Throws when the socket cannot be made or the query not sent, if that is known at once;
   * a failure found later goes to sink.error.
   */
  udpExchange(family: Family, address: string, port: number, query: Buffer, sink: ExchangeSink): UdpExchangeSocket;
  /** A TCP connection to an upstream server; resolves once connected. */
  tcpConnect(family: Family, address: string, port: number, timeoutMs: number): Promise<net.Socket>;
}
