// `vrf-resolver doctor [VRF] [--vrf NAME]... [--json]`: check the host for everything a VRF
// instance needs, one line per finding (PASS, WARN, FAIL), each problem with the exact command
// that fixes it. The checks live in doctor/, the reading of the host in host/; both are loaded
// when the command runs, so that every other command (`run` above all) does without them.

import { interfaceNameProblem } from '../../config/load.js';
import { EXIT, allValues, isSet, lastValue, type CommandSpec, type Parsed } from '../command.js';
import { printJson } from '../control-target.js';

/** A VRF as doctor takes it: a device name, or "default". */
function vrfProblem(name: string): string | null {
  return name === 'default' ? null : interfaceNameProblem(name);
}

function asked(p: Parsed): string[] {
  const one = p.operands['VRF'];
  return [...(one === undefined ? [] : [one]), ...(allValues(p, 'vrf') ?? [])];
}

export const doctorSpec: CommandSpec = {
  name: 'doctor',
  summary: 'check the host for each VRF: device, loopbacks, rule order, resolv.conf, resolved, instance; print each fix',
  usage: ['vrf-resolver doctor [VRF] [--vrf NAME]... [--json]'],
  description: [
    'Checks what a vrf-resolver instance needs in each VRF: the kernel\'s VRF support; the device (of kind vrf, ' +
      'up) and its table; 127.0.0.1/8 and ::1/128 on it; the l3mdev rule before "lookup local" (IPv4 and IPv6); ' +
      'CAP_NET_RAW on kernels before 5.7; the l3mdev_accept sysctls; /etc/resolv.conf, the hosts line of ' +
      '/etc/nsswitch.conf and systemd-resolved; the unit, the control socket, the listeners\' device and ' +
      'ifindex, the upstream servers\' health and routes; a real query sent from inside the VRF; and other ' +
      'processes on port 53.',
    'Without VRF it checks every VRF device and the default VRF; it never looks closely at a VRF not asked ' +
      'about. Each finding is one line starting with PASS, WARN or FAIL; each WARN and FAIL is followed by ' +
      'lines "fix: COMMAND", indented, with the exact commands to run. As a normal user it reports what it can read and says what it could not.',
    'Exit codes: 0 no FAIL, 1 at least one FAIL, 2 usage.',
  ],
  flags: [
    { name: '--vrf', arg: 'NAME', repeatable: true, help: 'a VRF to check (repeat for several; "default" is the default VRF)' },
    { name: '--control-dir', arg: 'DIR', help: 'where the instances\' control sockets are', note: 'default: /run/vrf-resolver' },
    { name: '--json', help: 'print {findings, summary} as JSON: each finding\'s level, check id, VRF, message and fix' },
  ],
  operands: [{ name: 'VRF', noun: 'VRF', optional: true, help: 'the VRF device to check, or "default"; all of them when left out', check: vrfProblem }],
  instance: 'none',
  validate: (p) => (allValues(p, 'vrf') ?? []).map(vrfProblem).find((m) => m !== null) ?? null,
  async run(p, env) {
    const { doctor, renderFindings } = await import('../../doctor/run.js');
    const report = await doctor({ controlDir: lastValue(p, 'control-dir') ?? env.controlDir, asked: asked(p) });
    if (isSet(p, 'json')) printJson(env, report);
    else env.stdout(renderFindings(report));
    return report.summary.fail > 0 ? EXIT.FAILURE : EXIT.OK;
  },
};
