// One query from `vrf-resolver query` to the instance's own listener, from inside the VRF: the
// socket comes from a factory bound to the instance's VRF device, as a client in that VRF
// (`ip vrf exec mgmt dig`) would ask. One attempt, no retry: the command reports what happened.

import type { StubQuery } from '../../dns/stub-query.js';
import type { Family, SocketFactory } from '../../net/socket-factory.js';
import { newStats } from '../../stats.js';
import { toUpstreamServer } from '../../upstream/server.js';
import { createTcpExchange } from '../../upstream/tcp.js';
import { systemClock } from '../../clock.js';
import { createUdpExchange, udpExchangeOnce } from '../../upstream/udp.js';
import { HEADER_LEN } from '../../dns/constants.js';

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

/**
 * The reply to `q` from `to`; rejects with an UpstreamError that says what happened. The same
 * exchanges the resolver uses upstream (RFC 5452 checks, TCP framing), seen from the other side:
 * here the instance is the server.
 */
export function exchange(factory: SocketFactory, to: Listener, q: StubQuery, timeoutMs: number): Promise<Buffer> {
  const server = toUpstreamServer({ family: to.family, address: to.address, port: to.port });
  return to.transport === 'udp'
    ? udpExchangeOnce(createUdpExchange(factory, newStats(), systemClock), server, q.msg, HEADER_LEN + q.question.length, timeoutMs)
    : createTcpExchange(factory)(server, q.msg, q.question, timeoutMs);
}
