// The checks that follow a query's way: from a client socket bound to the VRF to the instance
// (a real query), from the instance to each upstream server (the route the kernel would take),
// and who else holds port 53 where the instance needs it.

import type { SocketFact } from '../host/facts.js';
import { serverAddress } from '../host/read.js';
import { cannotCheck, fail, pass, unitOf, vrfName, type Check, type Finding } from './finding.js';
import { servingOf } from './checks-instance.js';

/** 8. One query for `. NS`, sent from a socket bound to the VRF to the instance's listener, is answered. */
export const query: Check = (facts, vrf) => {
  const id = 'query';
  const names = new Set(servingOf(facts, vrf).statuses.map((s) => s.instance));
  return facts.probes.filter((p) => names.has(p.instance)).map((p) => p.rcode.ok
    ? pass(id, vrf, `". NS" sent from ${vrfName(vrf)} to ${p.to} was answered (${p.rcode.value})`)
    : fail(id, vrf, `". NS" sent from ${vrfName(vrf)} to ${p.to} got no answer: ${p.rcode.why}`, [
      `journalctl -u ${unitOf(vrf)} -n 50   # what the instance says`,
      `vrf-resolver query ${p.instance} . NS   # ask again, with details`,
    ]));
};

/** 8. Each upstream server has a route through the device the instance's upstream sockets are bound to. */
export const upstreamRoute: Check = (facts, vrf) => {
  const id = 'upstream-route';
  const out: Finding[] = [];
  for (const st of servingOf(facts, vrf).statuses) {
    for (const r of facts.routes.filter((x) => x.via === st.upstreamDevice && st.upstreams.some((u) => serverAddress(u.server) === x.address))) {
      const where = r.via === null ? 'the default VRF' : r.via;
      if (r.route.ok) {
        out.push(pass(id, vrf, `${r.address} is routed through ${where} via ${r.route.value.dev}${r.route.value.gateway === null ? '' : ` (gateway ${r.route.value.gateway})`}`));
        continue;
      }
      const ip = r.address.includes(':') ? 'ip -6' : 'ip';
      out.push(fail(id, vrf, `${r.address} has no route through ${where}: ${r.route.why}`, [
        `${ip} route add default via GATEWAY${r.via === null ? '' : ` vrf ${r.via}`}   # GATEWAY: the router towards ${r.address} on ${where}'s network`,
      ]));
    }
  }
  return out;
};

const WILDCARD = new Set(['0.0.0.0', '::', '*']);

function label(s: SocketFact): string {
  const a = s.address.includes(':') ? `[${s.address}]` : s.address;
  return `${s.proto} ${a}${s.device === null ? '' : `%${s.device}`}:${s.port}`;
}

/**
 * 10. Another process holding port 53 where the instance for this VRF binds it: a socket bound
 * to the same device, or one with no device on the wildcard, conflicts with the instance's
 * bind (EADDRINUSE) or shares its queries. Sockets of running instances are ours.
 */
export const port53: Check = (facts, vrf) => {
  const id = 'port-53';
  if (!facts.port53.ok) return [cannotCheck(id, vrf, 'port 53', facts.port53.why)];
  const ours = new Set(facts.instances.ok ? facts.instances.value.flatMap((i) => (i.status?.ok === true ? [i.status.value.pid] : [])) : []);
  const serving = servingOf(facts, vrf).statuses;
  const listenAddrs = new Set(serving.flatMap((s) => s.listeners.map((l) => /^(?:udp|tcp) \[?([^\]\s]+?)\]?:\d+/.exec(l)?.[1] ?? '')));
  const mine = (s: SocketFact): boolean => (s.pid !== null ? ours.has(s.pid) : serving.length > 0 && s.device === vrf && listenAddrs.has(s.address));
  const loop = (a: string): boolean => a === '::1' || a === '127.0.0.1' || listenAddrs.has(a);
  const clashes = facts.port53.value.filter((s) => !mine(s) && (vrf === null
    ? s.device === null && (WILDCARD.has(s.address) || loop(s.address))
    : s.device === vrf || (s.device === null && WILDCARD.has(s.address))));
  if (clashes.length === 0) return [pass(id, vrf, `no other process holds port 53 on ${vrf ?? 'the default VRF\'s addresses'}`)];
  return clashes.map((s) => {
    const who = s.process === null ? 'a process ss could not name' : `${s.process} (pid ${s.pid})`;
    const why = s.device === null && vrf !== null
      ? `with no device: binding 127.0.0.1:53 on ${vrf} conflicts with it (EADDRINUSE)`
      : `where ${unitOf(vrf)} listens: they conflict (EADDRINUSE) or share its queries`;
    const fix = s.pid === null
      ? [`sudo ss -Hlnp${s.proto === 'udp' ? 'u' : 't'} 'sport = :53'   # names the process; then stop it (systemctl disable --now UNIT)`]
      : [`ps -o unit= -p ${s.pid}   # the unit that runs ${s.process}; then: systemctl disable --now UNIT`];
    return fail(id, vrf, `${who} holds ${label(s)} ${why}`, fix);
  });
};
