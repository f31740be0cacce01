// `vrf-resolver query [INSTANCE] NAME [TYPE]`: ask a running instance over DNS, from inside its
// VRF, as its clients do, and say what came back and whether it came from the cache. It learns
// the instance's VRF and listeners from `status`, asks `cache-lookup` whether the answer is
// cached, then sends one query (RD=1, a random ID, EDNS 1232) to the instance's first listener.

import { randomInt } from 'node:crypto';
import type dnsPacket from 'dns-packet';
import type { StatusReport } from '../../control/types.js';
import { rcodeName, typeName, typeNumber } from '../../dns/mnemonics.js';
import { nameFromText, stubQuery } from '../../dns/stub-query.js';
import { NativeMissingError } from '../../errors.js';
import { NATIVE_RELATIVE_PATH, nativeAvailable } from '../../native/binding.js';
import { createNativeSocketFactory } from '../../net/native-factory.js';
import { createPlainSocketFactory } from '../../net/plain-factory.js';
import type { SocketFactory } from '../../net/socket-factory.js';
import { EXIT, isSet, type CommandEnv, type CommandSpec, type Parsed } from '../command.js';
import { CONTROL_FLAG, INSTANCE_OPERAND, JSON_FLAG, ask, oneWayToName, printJson, report, targetsOf, type Target } from '../control-target.js';
import { domainNameProblem, isRecordType, recordTypeProblem } from '../names.js';
import { type Listener, exchange, parseListener } from '../query/exchange.js';
import { presentRecord, recordLine, type PresentedRecord } from '../query/present.js';
import { formatMs, render } from '../render/layout.js';

/** How long the whole exchange may take: what a stub waits (resolv.conf(5) timeout). */
const TIMEOUT_MS = 5000;
/** EDNS payload size advertised, as the resolver itself does (DNS Flag Day 2020). */
const EDNS_UDP_SIZE = 1232;

export const querySpec: CommandSpec = {
  name: 'query',
  summary: 'ask a running instance for NAME from inside its VRF; show the answer and whether it was cached',
  usage: ['vrf-resolver query [INSTANCE] NAME [TYPE] [--tcp] [--json]', 'vrf-resolver query --control PATH NAME [TYPE] [--tcp] [--json]'],
  description: [
    'Sends one query for NAME and TYPE (default A) to the instance\'s first listener, over a socket bound ' +
      'to the instance\'s VRF device, as a client in that VRF asks. It prints the answer records, the rcode, ' +
      'whether the answer came from the cache and how long it has left, and the time taken.',
    'Two words are NAME TYPE when the second is a record type (A, aaaa, TYPE65534), else INSTANCE NAME; ' +
      '--instance NAME makes it plain.',
    'Exit codes: 0 an answer came (whatever its rcode), 1 none came within 5 s, 2 usage (or several ' +
      'instances run and none is named), 3 no such instance is running.',
  ],
  flags: [CONTROL_FLAG, { name: '--tcp', help: 'ask over TCP (a truncated UDP answer is asked again over TCP anyway)' }, JSON_FLAG],
  operands: [
    INSTANCE_OPERAND,
    { name: 'NAME', noun: 'domain name', help: 'the name to ask for, e.g. example.com', check: domainNameProblem },
    { name: 'TYPE', noun: 'record type', optional: true, help: 'A (default), AAAA, MX, TXT, ... or TYPE65534', check: recordTypeProblem, prefers: isRecordType },
  ],
  instance: 'operand',
  validate: oneWayToName,
  run: query,
};

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

async function query(p: Parsed, env: CommandEnv): Promise<number> {
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
      reply = await exchange(factory, to, stubQuery(wire, type, randomInt(0, 0x10000), EDNS_UDP_SIZE), left);
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
    // Loaded here, not at the top: every command's module is imported by the command table, and
    // dns-packet costs the running resolver about 9 MiB of RSS it never uses (issue 13).
    decoded = (await import('dns-packet')).default.decode(reply);
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
