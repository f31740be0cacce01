// The checks about the instance serving each VRF, from its control socket's status report and
// systemd's view of its unit: it runs (and will again after a reboot), its listeners are
// bound to the VRF device the kernel has now, and its upstream servers answer.

import type { StatusReport } from '../control/types.js';
import type { HostFacts, InstanceFact } from '../host/facts.js';
import { cannotCheck, fail, pass, unitOf, vrfName, warn, type Check, type Finding } from './finding.js';

export interface Serving {
  /** Running instances whose status names this VRF. */
  readonly statuses: readonly StatusReport[];
  /** Running instances named for this VRF whose status could not be read (not root). */
  readonly unreadable: readonly InstanceFact[];
  /** Sockets named for this VRF that nobody answers on. */
  readonly stale: readonly InstanceFact[];
}

/** The instances for one VRF. An instance is matched by the VRF its status reports, so --instance NAME with another VRF= is found too. */
export function servingOf(facts: HostFacts, vrf: string | null): Serving {
  const all = facts.instances.ok ? facts.instances.value : [];
  const name = vrf ?? 'default';
  return {
    statuses: all.flatMap((i) => (i.running && i.status?.ok === true && i.status.value.vrf.name === vrf ? [i.status.value] : [])),
    unreadable: all.filter((i) => i.running && i.status?.ok === false && i.instance === name),
    stale: all.filter((i) => !i.running && i.instance === name),
  };
}

function howToStart(facts: HostFacts, vrf: string | null): string[] {
  if (facts.systemd.pid1) return [`systemctl enable --now ${unitOf(vrf)}`];
  return [`vrf-resolver run${vrf === null ? '' : ` --vrf ${vrf}`} --upstream ADDR   # ADDR: a DNS server reachable from ${vrfName(vrf)}`];
}

/** 7. The unit is enabled and active, so the instance also runs after a reboot (only when systemd is PID 1). */
export const instanceUnit: Check = (facts, vrf) => {
  const id = 'instance-unit';
  const unit = unitOf(vrf);
  if (!facts.systemd.pid1) return [pass(id, vrf, `${unit}.service not checked: systemd is not PID 1 here`)];
  const units = facts.systemd.units;
  if (!units.ok) return [cannotCheck(id, vrf, `${unit}.service`, units.why)];
  const u = units.value[`${unit}.service`];
  const running = servingOf(facts, vrf).statuses.length > 0;
  if (u === undefined || u.activeState !== 'active') {
    const state = u === undefined ? 'unknown to systemd' : `${u.activeState}${u.unitFileState === '' ? '' : `, ${u.unitFileState}`}`;
    if (running) return [warn(id, vrf, `${unit}.service is ${state}: the instance running now was started by hand and will not come back after a reboot`, [`systemctl enable ${unit}   # then stop the one started by hand and: systemctl start ${unit}`])];
    return [fail(id, vrf, `${unit}.service is ${state}`, [`systemctl enable --now ${unit}`, `journalctl -u ${unit} -n 50   # if it does not stay up: why`])];
  }
  if (!u.unitFileState.startsWith('enabled')) return [warn(id, vrf, `${unit}.service is active but ${u.unitFileState || 'not enabled'}: it will not start after a reboot`, [`systemctl enable ${unit}`])];
  return [pass(id, vrf, `${unit}.service is active and enabled`)];
};

/** 7. An instance for this VRF answers on its control socket. */
export const instance: Check = (facts, vrf) => {
  const id = 'instance';
  if (!facts.instances.ok) return [cannotCheck(id, vrf, `the instances in ${facts.controlDir}`, facts.instances.why)];
  const s = servingOf(facts, vrf);
  if (s.statuses.length > 0) {
    return s.statuses.map((st) => pass(id, vrf, `instance ${st.instance} (pid ${st.pid}, version ${st.version}) serves ${vrfName(vrf)} and answers on ${st.controlSocket ?? 'its control socket'}`));
  }
  const u = s.unreadable[0];
  if (u !== undefined && u.status?.ok === false) return [cannotCheck(id, vrf, `instance ${u.instance}`, u.status.why)];
  const stale = s.stale[0] !== undefined ? `; ${s.stale[0].socket} is left by a stopped instance` : '';
  const what = `no running instance serves ${vrfName(vrf)} (none answers in ${facts.controlDir}${stale})`;
  // The default VRF needs one only when its clients are sent to loopback.
  const rc = facts.resolvConf.ok ? facts.resolvConf.value.nameservers : [];
  if (vrf === null && !rc.some((a) => a === '::1' || a === '127.0.0.1')) {
    return [warn(id, vrf, `${what}; ${'/etc/resolv.conf'} does not send the default VRF to 127.0.0.1, so nothing depends on one now`, howToStart(facts, vrf))];
  }
  return [fail(id, vrf, what, howToStart(facts, vrf))];
};

/** "udp 127.0.0.1:53 on mgmt (from systemd, dns)" → its device, or null with none. */
function listenerDevice(label: string): string | null {
  return / on ([^\s(]+)/.exec(label)?.[1] ?? null;
}

/**
 * 7. The listeners are bound to this VRF's device: as the instance reports them, and as the
 * kernel shows its sockets on port 53 (ss prints the device a socket is bound to as %DEV).
 */
export const instanceListeners: Check = (facts, vrf) => {
  const id = 'instance-listeners';
  const out: Finding[] = [];
  for (const st of servingOf(facts, vrf).statuses) {
    if (st.listeners.length === 0) {
      out.push(fail(id, vrf, `instance ${st.instance} has no DNS listener`, [`vrf-resolver check-config --instance ${st.instance}   # Listen= is empty?`]));
      continue;
    }
    const wrong = st.listeners.filter((l) => listenerDevice(l) !== vrf);
    const kernel = facts.port53.ok ? facts.port53.value.filter((k) => k.pid === st.pid && k.device !== vrf && !/^if\d+$/.test(k.device ?? '')) : [];
    const seen = [...wrong.map((l) => `${l} (reported)`), ...kernel.map((k) => `${k.proto} ${k.address}${k.device === null ? '' : `%${k.device}`}:${k.port} (ss)`)];
    if (seen.length > 0) {
      out.push(fail(id, vrf, `instance ${st.instance} has listeners not bound to ${vrf ?? 'no device'}: ${seen.join(', ')}`, [`systemctl restart ${unitOf(vrf)}`]));
    } else out.push(pass(id, vrf, `instance ${st.instance} listens on ${st.listeners.join(', ')}`));
  }
  return out;
};

/**
 * 7. The device the sockets are bound to is the device named now. A socket keeps the ifindex
 * it was bound to, so after `ip link del mgmt; ip link add mgmt ...` the instance listens on a
 * device that is gone (ss shows it as %ifN) until it restarts.
 */
export const instanceIfindex: Check = (facts, vrf) => {
  if (vrf === null || !facts.links.ok) return [];
  const id = 'instance-ifindex';
  const link = facts.links.value.find((l) => l.name === vrf);
  const out: Finding[] = [];
  const existing = new Set(facts.links.value.map((l) => l.ifindex));
  for (const st of servingOf(facts, vrf).statuses) {
    const gone = facts.port53.ok
      ? facts.port53.value.filter((k) => (k.pid === st.pid || k.pid === null) && /^if\d+$/.test(k.device ?? '') && !existing.has(Number(k.device!.slice(2))))
      : [];
    const stale = gone.length > 0 || (link !== undefined && st.vrf.ifindex !== null && st.vrf.ifindex !== link.ifindex);
    if (stale) {
      const what = gone.length > 0 ? `sockets bound to a device that no longer exists (${[...new Set(gone.map((k) => k.device))].join(', ')})` : `ifindex ${st.vrf.ifindex}`;
      out.push(fail(id, vrf, `instance ${st.instance} has ${what}, while ${vrf} is ifindex ${link?.ifindex ?? 'gone'}: ${vrf} was re-created; restart ${unitOf(vrf)}`, [`systemctl restart ${unitOf(vrf)}`]));
    } else if (link !== undefined) out.push(pass(id, vrf, `instance ${st.instance} is bound to ${vrf} as it is now (ifindex ${link.ifindex})`));
  }
  return out;
};

/** 7. Each upstream server answers: backing off means it failed several times in a row. */
export const upstreams: Check = (facts, vrf) => {
  const id = 'upstreams';
  const out: Finding[] = [];
  for (const st of servingOf(facts, vrf).statuses) {
    if (st.upstreams.length === 0) {
      out.push(fail(id, vrf, `instance ${st.instance} has no upstream server`, [`echo 'DNS=ADDR' >> /etc/vrf-resolver/${st.instance}.conf && systemctl reload ${unitOf(vrf)}   # ADDR: a DNS server reachable from ${vrfName(vrf)}`]));
      continue;
    }
    for (const u of st.upstreams) {
      if (u.state === 'healthy') {
        out.push(pass(id, vrf, `${u.server} is healthy${u.rttMs === null ? '' : ` (${Math.round(u.rttMs)} ms)`}, ${u.failures} of ${u.queries} exchanges failed`));
        continue;
      }
      const last = u.lastError === null ? '' : `, last ${u.lastError.code} at ${u.lastError.at}`;
      const dig = `${st.upstreamDevice === null ? '' : `ip vrf exec ${st.upstreamDevice} `}dig @${u.server.replace(/^\[(.*)\]:(\d+)$/, '$1 -p $2').replace(/^([^ ]+):(\d+)$/, '$1 -p $2')} . NS`;
      out.push(warn(id, vrf, `${u.server} is backing off after ${u.consecutiveFailures} failures in a row${last}: the others are asked first`, [
        `${dig}   # does it answer from ${st.upstreamDevice ?? 'the default VRF'}?`,
        `vrf-resolver statistics ${st.instance}   # failures by code`,
      ]));
    }
  }
  return out;
};
