// doctor's end-to-end test of one instance: one DNS query from a socket bound to the instance's
// VRF device to its first UDP listener, as a client inside the VRF (`ip vrf exec mgmt dig`)
// would send it. The question is `. NS` with RD=1: every recursive path can answer it, and any
// rcode counts as "answered": a SERVFAIL still proves the listener, the device binding and the
// rule order work, and upstream trouble is judged from the instance's own upstream health.

import { parseListener, exchange, type Listener } from '../cli/query/exchange.js';
import type { StatusReport } from '../control/types.js';
import { rcodeName } from '../dns/mnemonics.js';
import { nameFromText, stubQuery } from '../dns/stub-query.js';
import { NATIVE_RELATIVE_PATH, nativeAvailable } from '../native/binding.js';
import { createNativeSocketFactory } from '../net/native-factory.js';
import { createPlainSocketFactory } from '../net/plain-factory.js';
import { randomU16 } from '../random.js';
import type { SocketFactory } from '../net/socket-factory.js';
import { known, unknown, type ProbeFact } from './facts.js';

/** What a stub gives one server before it tries the next (resolv.conf(5) timeout is 5 s). */
const PROBE_TIMEOUT_MS = 3000;
const TYPE_NS = 2;
const EDNS_UDP_SIZE = 1232;

export type Probe = (status: StatusReport) => Promise<ProbeFact>;

export const probeInstance: Probe = async (status) => {
  const to = status.listeners.map(parseListener).find((l): l is Listener => l !== null && l.transport === 'udp');
  if (to === undefined) return { instance: status.instance, to: '-', rcode: unknown(`no UDP listener (listeners: ${status.listeners.join(', ') || 'none'})`) };
  const label = `udp ${to.family === 6 ? `[${to.address}]` : to.address}:${to.port}`;
  // As `vrf-resolver query` does: the native helper binds the socket to the VRF; in the default
  // VRF Node's own sockets do when the helper is not built.
  let factory: SocketFactory;
  if (nativeAvailable()) factory = createNativeSocketFactory(status.vrf.name);
  else if (status.vrf.name === null) factory = createPlainSocketFactory();
  else return { instance: status.instance, to: label, rcode: unknown(`the native helper (${NATIVE_RELATIVE_PATH}) is not built, so no socket can be bound to ${status.vrf.name}: run npm ci`) };
  const root = nameFromText('.') as Buffer;
  try {
    const reply = await exchange(factory, to, stubQuery(root, TYPE_NS, randomU16(), EDNS_UDP_SIZE), PROBE_TIMEOUT_MS);
    return { instance: status.instance, to: label, rcode: known(rcodeName(reply[3]! & 0x0f)) };
  } catch (e) {
    return { instance: status.instance, to: label, rcode: unknown((e as Error).message) };
  }
};
