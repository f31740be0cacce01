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
   * A UDP socket for one upstream exchange, bound to an ephemeral port that the kernel picks
   * at random (RFC 5452 section 9.2: source port randomisation).
   */
  udpClient(family: Family): Promise<dgram.Socket>;
  /** A TCP connection to an upstream server; resolves once connected. */
  tcpConnect(family: Family, address: string, port: number, timeoutMs: number): Promise<net.Socket>;
}
