// What `vrf-resolver query` does (cli/commands/query.ts describes it): learn the instance's VRF
// and listeners from `status`, ask `cache-lookup` whether the answer is cached, then send one
// query (RD=1, a random ID, EDNS 1232) to the instance's first listener from a socket in its
// VRF, and print what came back.

import dnsPacket from 'dns-packet';
import type { StatusReport } from '../../control/types.js';
import { rcodeName, typeName, typeNumber } from '../../dns/mnemonics.js';
import { nameFromText, stubQuery } from '../../dns/stub-query.js';
import { NativeMissingError } from '../../errors.js';
import { NATIVE_RELATIVE_PATH, nativeAvailable } from '../../native/binding.js';
import { createNativeSocketFactory } from '../../net/native-factory.js';
import { createPlainSocketFactory } from '../../net/plain-factory.js';
import type { SocketFactory } from '../../net/socket-factory.js';
import { EXIT, isSet, type CommandEnv, type Parsed } from '../command.js';
import { ask, printJson, report, targetsOf, type Target } from '../control-target.js';
import { type Listener, exchange, parseListener } from './exchange.js';
import { presentRecord, recordLine, type PresentedRecord } from './present.js';
import { formatMs, render } from '../render/layout.js';
import { randomU16 } from '../../random.js';

/** How long the whole exchange may take: what a stub waits (resolv.conf(5) timeout). */
const TIMEOUT_MS = 5000;
/** EDNS payload size advertised, as the resolver itself does (DNS Flag Day 2020). */
const EDNS_UDP_SIZE = 1232;

interface Cached {
  readonly cached: boolean;
  readonly remainingSec: number | null;
}

/** What --json prints. */
interface QueryResult {
  readonly instance: string;
  readonly server: string;
  readonly transport: Listener['transport'];
  readonly truncatedOverUdp: boolean;
  readonly question: { readonly name: string; readonly type: string };
  readonly rcode: string;
  readonly answers: readonly PresentedRecord[];
  readonly authority: readonly PresentedRecord[];
  /** null: unknown (the instance does not answer cache-lookup). */
  readonly cache: Cached | null;
  readonly timeMs: number;
}

export async function query(p: Parsed, env: CommandEnv): Promise<number> {
  const name = p.operands['NAME'] ?? '';
  const type = typeNumber(p.operands['TYPE'] ?? 'A') ?? 1;
  const wire = nameFromText(name);
  if (typeof wire === 'string') return report(env, { code: EXIT.USAGE, message: wire });
  const t = await targetsOf(p, env, 'one');
  if (!t.ok) return report(env, t);
  const target = t.value.targets[0]!;
  const s = await ask(target, { command: 'status' }, env);
  if (!s.ok) return report(env, s);
  const status = s.value as StatusReport;
  const cache = await cacheLookup(target, name, type, env);

  let transport: Listener['transport'] = isSet(p, 'tcp') ? 'tcp' : 'udp';
  let factory: SocketFactory;
  try {
    factory = clientFactory(status.vrf.name);
  } catch (e) {
    return report(env, { code: EXIT.FAILURE, message: (e as Error).message });
  }
  const started = performance.now();
  let reply: Buffer | undefined;
  let truncatedOverUdp = false;
  let to: Listener | undefined;
  for (;;) {
    to = status.listeners.map(parseListener).find((l): l is Listener => l !== null && l.transport === transport);
    if (to === undefined) {
      return report(env, { code: EXIT.FAILURE, message: `instance ${target.instance} has no ${transport} listener (listeners: ${status.listeners.join(', ') || 'none'})` });
    }
    const left = Math.max(1, TIMEOUT_MS - (performance.now() - started));
    try {
      reply = await exchange(factory, to, stubQuery(wire, type, randomU16(), EDNS_UDP_SIZE), left);
    } catch (e) {
      const where = `${to.transport} ${to.family === 6 ? `[${to.address}]` : to.address}:${to.port}`;
      return report(env, { code: EXIT.FAILURE, message: `no answer from instance ${target.instance} at ${where}: ${(e as Error).message}` });
    }
    // TC=1: the answer did not fit; ask again over TCP as a stub would (RFC 7766 section 5).
    if (transport === 'tcp' || (reply[2]! & 0x02) === 0) break;
    truncatedOverUdp = true;
    transport = 'tcp';
  }
  const timeMs = performance.now() - started;

  let decoded: dnsPacket.Packet;
  try {
    decoded = dnsPacket.decode(reply);
  } catch (e) {
    return report(env, { code: EXIT.FAILURE, message: `the answer could not be read: ${(e as Error).message}` });
  }
  const opt = (decoded.additionals ?? []).find((a) => a.type === 'OPT') as { extendedRcode?: number } | undefined;
  const result: QueryResult = {
    instance: target.instance,
    server: `${to.family === 6 ? `[${to.address}]` : to.address}:${to.port}`,
    transport,
    truncatedOverUdp,
    question: { name, type: typeName(type) },
    rcode: rcodeName(((opt?.extendedRcode ?? 0) << 4) | (reply[3]! & 0x0f)),
    answers: (decoded.answers ?? []).map(presentRecord),
    authority: (decoded.authorities ?? []).map(presentRecord),
    cache,
    timeMs: Math.round(timeMs * 1000) / 1000,
  };
  if (isSet(p, 'json')) printJson(env, result);
  else env.stdout(humanAnswer(result, status.vrf.name));
  return EXIT.OK;
}

/** Asked before the query, so a miss is not turned into a hit by the query itself. */
async function cacheLookup(target: Target, name: string, type: number, env: CommandEnv): Promise<Cached | null> {
  const r = await ask(target, { command: 'cache-lookup', name, type }, env);
  if (!r.ok) return null; // an older instance does not know the request: "unknown"
  const v = r.value as Partial<Cached> | null;
  return typeof v?.cached === 'boolean' ? { cached: v.cached, remainingSec: v.remainingSec ?? null } : null;
}

/** As run's socket factories: the native helper whenever it is built; Node's in the default VRF without it. */
function clientFactory(device: string | null): SocketFactory {
  if (nativeAvailable()) return createNativeSocketFactory(device);
  if (device !== null) throw new NativeMissingError(NATIVE_RELATIVE_PATH);
  return createPlainSocketFactory();
}

function humanAnswer(r: QueryResult, vrf: string | null): string {
  const records = r.answers.length > 0 ? r.answers : r.authority;
  const ttls = records.map((a) => a.ttl);
  const cache = r.cache === null
    ? 'unknown (this instance does not answer cache lookups)'
    : r.cache.cached ? `hit${r.cache.remainingSec === null ? '' : `, ${r.cache.remainingSec} s left`}` : 'miss';
  const body = r.answers.length > 0 ? r.answers.map(recordLine) : ['(no answer records)', ...r.authority.map((a) => `${recordLine(a)}\t; authority`)];
  const via = `${r.transport.toUpperCase()}${r.truncatedOverUdp ? ' (truncated over UDP)' : ''}`;
  return `${body.join('\n')}\n\n` + render([
    { key: 'Rcode', value: r.rcode },
    { key: 'Cache', value: cache },
    { key: 'TTL', value: ttls.length > 0 ? `${Math.min(...ttls)} s` : '-' },
    { key: 'Time', value: `${formatMs(r.timeMs)} over ${via} to ${r.server} in ${vrf === null ? 'the default VRF' : `VRF ${vrf}`} (instance ${r.instance})` },
  ]);
}
