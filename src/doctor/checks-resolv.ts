// The checks about how a program in the VRF finds the resolver: where glibc sends its queries
// (/etc/resolv.conf, the hosts line of /etc/nsswitch.conf), systemd-resolved standing in the
// way, and the l3mdev_accept sysctls that let sockets of the default VRF answer inside a VRF.

import type { HostFacts, ResolvConfFacts } from '../host/facts.js';
import { NSSWITCH_CONF, RESOLV_CONF } from '../host/read.js';
import { RESOLVED_STUBS as STUBS, hostsWithoutResolve, isLocalResolver as isLoopback } from '../setup/files.js';
import { cannotCheck, fail, pass, unitOf, vrfName, warn, type Check, type Finding } from './finding.js';

/** The commands that point resolv.conf at the instances, keeping its search domains. */
export function rewriteResolvConf(r: ResolvConfFacts): string[] {
  const search = r.search.length > 0 ? `search ${r.search.join(' ')}\\n` : '';
  return [
    `mv ${RESOLV_CONF} ${RESOLV_CONF}.before-vrf-resolver   # keeps the old file (or resolved's symlink)`,
    `printf '${search}nameserver 127.0.0.1\\nnameserver ::1\\n' > ${RESOLV_CONF}`,
  ];
}

/** 4. net.ipv4.{tcp,udp}_l3mdev_accept=1: sockets bound to no device serve every VRF too (ip-sysctl.rst). */
export const l3mdevAccept: Check = (facts, vrf) => {
  const id = 'l3mdev-accept';
  const { tcpL3mdevAccept: tcp, udpL3mdevAccept: udp } = facts.sysctls;
  const out: Finding[] = [];
  const on: string[] = [];
  for (const [key, v] of [['net.ipv4.tcp_l3mdev_accept', tcp], ['net.ipv4.udp_l3mdev_accept', udp]] as const) {
    if (!v.ok) {
      // No file: no l3mdev in this kernel, so no socket can leak across VRFs either.
      if (!/does not exist/.test(v.why)) out.push(cannotCheck(id, vrf, key, v.why));
    } else if (v.value !== 0) on.push(key);
  }
  if (on.length === 0) return out.length > 0 ? out : [pass(id, vrf, 'tcp_l3mdev_accept and udp_l3mdev_accept are 0: sockets with no device stay in the default VRF')];
  const meaning = vrf === null
    ? `the sockets of ${unitOf(null)} and of any resolver with no device also get queries from inside every VRF, and answer them through the default VRF's servers`
    : `a resolver with no device (${defaultResolvers(facts)}) also gets queries sent to 127.0.0.1:53 inside ${vrf}, can answer them instead of ${unitOf(vrf)} through the default VRF, and can keep it from binding`;
  out.push(warn(id, vrf, `${on.map((k) => `${k}=1`).join(', ')}: ${meaning}. Keep tcp_l3mdev_accept=1 only if a default-VRF daemon such as sshd must serve every VRF`, [
    ...on.map((k) => `sysctl -w ${k}=0`),
    ...on.map((k) => `echo '${k} = 0' >> /etc/sysctl.d/60-vrf-resolver.conf   # after a reboot too; a later file setting 1 wins`),
  ]));
  return out;
};

/** Who listens on port 53 with no device here, for the l3mdev_accept warning. */
function defaultResolvers(facts: HostFacts): string {
  if (!facts.port53.ok) return 'none known: ss could not be read';
  const names = new Set(facts.port53.value.filter((s) => s.device === null).map((s) => (s.process === null ? s.address : `${s.process} on ${s.address}`)));
  return names.size > 0 ? `here: ${[...names].join(', ')}` : 'none here now';
}

/** 5. Where glibc sends queries: resolv.conf's nameservers and the options that matter. */
export const resolvConf: Check = (facts, vrf) => {
  const id = 'resolv-conf';
  const rc = facts.resolvConf;
  if (!rc.ok) return [cannotCheck(id, vrf, RESOLV_CONF, rc.why)];
  const r = rc.value;
  const fix = rewriteResolvConf(r);
  const managed = r.symlinkTarget !== null && r.symlinkTarget.includes('/run/systemd/resolve/')
    ? ` (a symlink to ${r.symlinkTarget}, which systemd-resolved writes)` : r.symlinkTarget !== null ? ` (a symlink to ${r.symlinkTarget})` : '';
  const ns = r.nameservers;
  const stubs = ns.filter((a) => STUBS.has(a));
  const remote = ns.filter((a) => !isLoopback(a) && !STUBS.has(a));
  if (stubs.length > 0) {
    if (vrf === null) return [pass(id, vrf, `${RESOLV_CONF}${managed} names systemd-resolved's stub ${stubs[0]}, which the default VRF reaches`)];
    return [fail(id, vrf, `${RESOLV_CONF}${managed} names ${stubs[0]}: systemd-resolved's stub listens on lo in the default VRF, unreachable from ${vrf}`, fix)];
  }
  const out: Finding[] = [];
  const bad = r.options.filter((o) => /^(timeout|attempts):0$/.test(o));
  if (bad.length > 0) out.push(warn(id, vrf, `${RESOLV_CONF}: options ${bad.join(' ')}: glibc gives up on each server at once`, fix));
  if (ns.length === 0) out.push(pass(id, vrf, `${RESOLV_CONF} has no nameserver line: glibc asks 127.0.0.1 (resolv.conf(5)), the instance of the client's VRF`));
  else if (remote.length === ns.length) {
    out.push(warn(id, vrf, `${RESOLV_CONF}${managed} sends queries straight to ${remote.join(', ')}: they work only while reachable from ${vrfName(vrf)}, and nothing is cached`, fix));
  } else if (remote.length > 0 && r.options.includes('rotate')) {
    out.push(warn(id, vrf, `${RESOLV_CONF}: options rotate spreads queries over every nameserver, so part of them go straight to ${remote.join(', ')}, past ${unitOf(vrf)}`, fix));
  } else {
    const also = remote.length > 0 ? `; ${remote.join(', ')} only when it does not answer` : '';
    out.push(pass(id, vrf, `${RESOLV_CONF}${managed} names ${ns.filter(isLoopback).join(', ')}: glibc asks the instance on the client's own VRF${also}`));
  }
  return out;
};

function resolvedActive(facts: HostFacts): boolean | null {
  const u = facts.systemd.units;
  if (!facts.systemd.pid1) return false;
  if (!u.ok) return null;
  return u.value['systemd-resolved.service']?.activeState === 'active';
}

/** 6. `resolve` on the hosts line: glibc asks systemd-resolved over varlink/D-Bus (nss-resolve(8)), which asks through the default VRF. */
export const nsswitch: Check = (facts, vrf) => {
  if (vrf === null) return []; // in the default VRF resolved reaches its servers
  const id = 'nsswitch';
  const h = facts.nsswitchHosts;
  if (!h.ok) return [cannotCheck(id, vrf, NSSWITCH_CONF, h.why)];
  if (h.value === null) return [pass(id, vrf, `${NSSWITCH_CONF} has no hosts line: glibc uses dns and files`)];
  const kept = hostsWithoutResolve(h.value);
  if (kept === null) return [pass(id, vrf, `hosts: ${h.value.join(' ')}: no nss-resolve, so glibc reads ${RESOLV_CONF}`)];
  const line = `hosts: ${kept.join(' ')}`;
  const fix = [`cp ${NSSWITCH_CONF} ${NSSWITCH_CONF}.before-vrf-resolver && sed -i 's/^hosts:.*/${line}/' ${NSSWITCH_CONF}`];
  const what = `hosts: ${h.value.join(' ')}: glibc asks systemd-resolved (nss-resolve) first, which asks its servers through the default VRF, not ${vrf}`;
  if (resolvedActive(facts) === false) return [warn(id, vrf, `${what}; resolved is not running now, so lookups fall through to dns until it starts`, fix)];
  return [fail(id, vrf, what, fix)];
};

/** 6. systemd-resolved running and owning resolv.conf or the hosts line: VRF lookups reach it and fail. */
export const systemdResolved: Check = (facts, vrf) => {
  if (vrf === null) return [];
  const id = 'systemd-resolved';
  if (!facts.systemd.pid1) return [pass(id, vrf, 'systemd-resolved not checked: systemd is not PID 1 here')];
  const active = resolvedActive(facts);
  if (active === null) return [cannotCheck(id, vrf, 'systemd-resolved', facts.systemd.units.ok ? 'systemctl reported no state for it' : facts.systemd.units.why)];
  if (!active) return [pass(id, vrf, 'systemd-resolved is not running')];
  const rc = facts.resolvConf.ok ? facts.resolvConf.value : null;
  const owns = rc !== null && ((rc.symlinkTarget?.includes('/run/systemd/resolve/') ?? false) || rc.nameservers.some((a) => STUBS.has(a)));
  const nss = facts.nsswitchHosts.ok && (facts.nsswitchHosts.value ?? []).includes('resolve');
  if (!owns && !nss) return [pass(id, vrf, `systemd-resolved is running, but neither ${RESOLV_CONF} nor ${NSSWITCH_CONF} sends lookups to it`)];
  const how = [owns ? `${RESOLV_CONF} points at it` : '', nss ? 'nss-resolve is on the hosts line' : ''].filter((s) => s !== '').join(' and ');
  return [fail(id, vrf, `systemd-resolved is running and ${how}: it asks through the default VRF, so lookups in ${vrf} fail`, [
    'systemctl disable --now systemd-resolved   # then fix resolv-conf and nsswitch as they say',
  ])];
};
