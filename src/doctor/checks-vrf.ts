// The checks about the VRF itself and the kernel under it: VRF support, the device, its
// loopback addresses, the order of the policy routing rules, and the capability that
// SO_BINDTODEVICE needs on old kernels. Each reads HostFacts only.

import { fileURLToPath } from 'node:url';
import type { HostFacts, LinkFact, RuleFact } from '../host/facts.js';
import { freeVrfTable } from '../host/facts.js';
import { DROP_IN_DIR } from '../host/read.js';
import { planRuleOrder, ruleOrderCommands } from '../host/rule-order.js';
import { cannotCheck, fail, pass, unitOf, type Check, type Finding } from './finding.js';

/** The drop-in this package ships for kernels before 5.7, where this doctor was run from. */
export const CAP_NET_RAW_DROP_IN = fileURLToPath(new URL('../../systemd/kernel-before-5.7.conf', import.meta.url));

/** The device named `vrf`, when the links could be read. */
function linkOf(facts: HostFacts, vrf: string): LinkFact | undefined {
  return facts.links.ok ? facts.links.value.find((l) => l.name === vrf) : undefined;
}

/** 1. The kernel can make VRF devices: the vrf module is loaded (or built in) or can be loaded. */
export const kernelVrf: Check = (facts, vrf) => {
  if (vrf === null) return [];
  const id = 'kernel-vrf';
  if (facts.links.ok && facts.links.value.some((l) => l.kind === 'vrf')) return [pass(id, vrf, 'the kernel has VRF support (a device of kind vrf exists)')];
  const m = facts.kernel.vrfModule;
  if (!m.ok) return [cannotCheck(id, vrf, 'VRF support in the kernel', m.why)];
  if (m.value === 'loaded') return [pass(id, vrf, 'the vrf module is loaded')];
  if (m.value === 'loadable') return [pass(id, vrf, 'the vrf module is available (loaded by the first "ip link add ... type vrf")')];
  const release = facts.kernel.release.ok ? facts.kernel.release.value : '$(uname -r)';
  return [fail(id, vrf, `this kernel (${release}) has no vrf module: no VRF device can be created`, [
    'modprobe vrf',
    `apt-get install linux-modules-extra-${release}   # Ubuntu ships vrf.ko there; on Debian it is in linux-image`,
  ])];
};

/** 1. The device exists, is of kind vrf, and is up; its table is reported. */
export const vrfDevice: Check = (facts, vrf) => {
  if (vrf === null) return [];
  const id = 'vrf-device';
  if (!facts.links.ok) return [cannotCheck(id, vrf, `device ${vrf}`, facts.links.why)];
  const link = linkOf(facts, vrf);
  if (link === undefined) {
    const vrfs = facts.links.value.filter((l) => l.kind === 'vrf').map((l) => l.name);
    const table = freeVrfTable(facts.links.value);
    return [fail(id, vrf, `no device named ${vrf} (VRF devices here: ${vrfs.length > 0 ? vrfs.join(', ') : 'none'})`, [
      `ip link add ${vrf} type vrf table ${table} && ip link set ${vrf} up   # ${table}: a table no VRF here uses`,
    ])];
  }
  if (link.kind !== 'vrf') {
    const kind = link.kind === null ? 'a plain device' : `kind ${link.kind}`;
    return [fail(id, vrf, `${vrf} is not a VRF device (${kind}): sockets bound to it are in no VRF`, [
      `ip -br link show type vrf   # the VRF devices: name one of them, or make one and enslave ${vrf} to it:`,
      `ip link add VRF type vrf table ${freeVrfTable(facts.links.value)} && ip link set VRF up && ip link set ${vrf} master VRF   # VRF: the new VRF's name`,
    ])];
  }
  const what = `${vrf} is a VRF device (table ${link.vrfTable ?? 'unknown'}, ifindex ${link.ifindex})`;
  if (!link.up) return [fail(id, vrf, `${what}, but it is down: nothing is routed in it`, [`ip link set ${vrf} up`])];
  return [pass(id, vrf, `${what}, up`)];
};

/** 2. 127.0.0.1/8 and ::1/128 on the VRF device: the listeners bind them there (EADDRNOTAVAIL otherwise). */
export const loopback: Check = (facts, vrf) => {
  if (vrf === null || linkOf(facts, vrf)?.kind !== 'vrf') return [];
  const id = 'loopback';
  if (!facts.addresses.ok) return [cannotCheck(id, vrf, `the addresses of ${vrf}`, facts.addresses.why)];
  const on = facts.addresses.value.filter((a) => a.device === vrf);
  const out: Finding[] = [];
  for (const [address, cidr, add] of [
    ['127.0.0.1', '127.0.0.1/8', `ip addr add 127.0.0.1/8 dev ${vrf}`],
    // nodad, as ensure-loopback does: a tentative ::1 refuses bind() until DAD ends.
    ['::1', '::1/128', `ip -6 addr add ::1/128 dev ${vrf} nodad`],
  ] as const) {
    if (on.some((a) => a.local === address)) out.push(pass(id, vrf, `${address} is on ${vrf}`));
    else {
      // Fix lines are steps to run in order, never alternatives: ensure-loopback is named in the message.
      out.push(fail(id, vrf, `${cidr} is not on ${vrf}: a listener on ${address} in ${vrf} cannot bind (EADDRNOTAVAIL); ` +
        `vrf-resolver ensure-loopback --vrf ${vrf} adds both, and vrf-resolver-net@${vrf} runs it whenever the device appears`, [add]));
    }
  }
  return out;
};

/**
 * 3. Rule order. A packet from inside a VRF to 127.0.0.1 must be looked up in the VRF's table
 * (the l3mdev rule, pref 1000) before the local table: with the kernel's default
 * `0: from all lookup local` first, it is delivered to lo in the default VRF, and the VRF's own
 * instance never sees it (Documentation/networking/vrf.rst, "Using VRF-aware ... local table").
 * For the default VRF it is reported once VRFs are in use here (there is an l3mdev rule).
 */
export const ruleOrder: Check = (facts, vrf) => {
  const id = 'rule-order';
  const out: Finding[] = [];
  for (const [family, rules, ip] of [[4, facts.rules.v4, 'ip'], [6, facts.rules.v6, 'ip -6']] as const) {
    const label = `IPv${family} rules`;
    if (!rules.ok) {
      out.push(cannotCheck(id, vrf, label, rules.why));
      continue;
    }
    const f = judgeRules(rules.value, vrf, ip, label, facts.links.ok && facts.links.value.some((l) => l.kind === 'vrf'));
    if (f !== null) out.push(f);
  }
  return out;
};

function judgeRules(rules: readonly RuleFact[], vrf: string | null, ip: string, label: string, vrfsExist: boolean): Finding | null {
  const id = 'rule-order';
  const plan = planRuleOrder(rules);
  if (plan.kind === 'no-l3mdev') {
    // No VRF routing here: nothing for the default VRF to be in the way of. Without any VRF
    // device, vrf-device says so; the kernel adds this rule with the first VRF it creates.
    if (vrf === null || !vrfsExist) return null;
    return fail(id, vrf, `${label}: no l3mdev rule, so no lookup from ${vrf} reaches its table`, [`${ip} rule add pref 1000 l3mdev protocol kernel`]);
  }
  if (plan.kind === 'ok') return pass(id, vrf, `${label}: l3mdev (pref ${plan.l3mdevPref}) before local (pref ${plan.localPref})`);
  const fix = [ruleOrderCommands(plan, ip === 'ip -6' ? 6 : 4).map((args) => `${ip} ${args.slice(1).join(' ')}`).join(' && ')];
  if (plan.del.length === 0) return fail(id, vrf, `${label}: no "lookup local" rule: no local address (127.0.0.1 either) can be reached`, fix);
  const who = vrf === null ? 'every VRF' : vrf;
  return fail(id, vrf,
    `${label}: "lookup local" (pref ${plan.del[0]!}) comes before l3mdev (pref ${plan.l3mdevPref}): 127.0.0.1 asked from ${who} goes to lo in the default VRF, not to ${vrf === null ? 'the VRF\'s instance' : unitOf(vrf)}`,
    fix);
}

/** 9. Before Linux 5.7, SO_BINDTODEVICE needs CAP_NET_RAW (commit c427bfec18f2); the unit only grants it through the drop-in. */
export const capabilities: Check = (facts, vrf) => {
  if (vrf === null) return []; // the default VRF's sockets are bound to no device
  const id = 'capabilities';
  const rel = facts.kernel.release;
  if (!rel.ok) return [cannotCheck(id, vrf, 'the kernel release', rel.why)];
  const m = /^(\d+)\.(\d+)/.exec(rel.value);
  if (m === null) return [cannotCheck(id, vrf, 'the kernel release', `"${rel.value}" is not a version`)];
  const [major, minor] = [Number(m[1]), Number(m[2])];
  if (major > 5 || (major === 5 && minor >= 7)) return [pass(id, vrf, `kernel ${rel.value} (≥ 5.7): SO_BINDTODEVICE needs no CAP_NET_RAW`)];
  const d = facts.systemd.dropIns;
  if (!d.ok) return [cannotCheck(id, vrf, `the drop-ins in ${DROP_IN_DIR}`, d.why)];
  const grant = d.value.find((x) => x.capNetRaw);
  if (grant !== undefined) return [pass(id, vrf, `kernel ${rel.value} (< 5.7): ${grant.path} grants CAP_NET_RAW for SO_BINDTODEVICE`)];
  return [fail(id, vrf, `kernel ${rel.value} (< 5.7): SO_BINDTODEVICE needs CAP_NET_RAW, and no drop-in in ${DROP_IN_DIR} grants it: ${unitOf(vrf)} cannot bind to ${vrf} (EPERM)`, [
    `mkdir -p ${DROP_IN_DIR}`,
    `cp ${CAP_NET_RAW_DROP_IN} ${DROP_IN_DIR}/`,
    `systemctl daemon-reload && systemctl restart ${unitOf(vrf)}`,
  ])];
};
