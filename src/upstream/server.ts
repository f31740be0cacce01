// An upstream server as the exchanges see it: its endpoint, the address in the form the kernel
// reports for a datagram's source (so a reply's origin can be compared as a string), and a label
// for logs ("192.0.2.53:53", "[2001:db8::53]:53", "10.1.1.53:53%mgmt" for a server of its own device).

import net from 'node:net';
import type { UpstreamEndpoint } from '../config/types.js';

export interface UpstreamServer {
  readonly endpoint: UpstreamEndpoint;
  /** The name its TLS certificate is checked against (DNS=ADDR#NAME); null: none given. */
  readonly tlsName: string | null;
  /** Canonical text of the address (RFC 5952 for IPv6, as inet_ntop prints it). */
  readonly address: string;
  readonly label: string;
}

export function toUpstreamServer(endpoint: UpstreamEndpoint): UpstreamServer {
  const address = endpoint.family === 6 ? canonicalIPv6(endpoint.address) : endpoint.address;
  const where = endpoint.family === 6 ? `[${address}]:${endpoint.port}` : `${address}:${endpoint.port}`;
  const label = endpoint.device !== undefined ? `${where}%${endpoint.device}` : where;
  return { endpoint, tlsName: endpoint.tlsName ?? null, address, label };
}

function canonicalIPv6(address: string): string {
  if (net.isIPv6(address) === false) return address;
  // The WHATWG URL parser serialises IPv6 per RFC 5952 (lowercase, longest zero run as ::),
  // which is what inet_ntop gives for the source of a received datagram.
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}
