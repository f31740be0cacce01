// `vrf-resolver setup VRF [--upstream ADDR]... [--keep-resolved] [--dry-run] [--undo] [--json]`:
// a stock host with a management VRF to a working one in one command. The work is in setup/,
// loaded when the command runs, so that every other command (`run` above all) does without it.

import { interfaceNameProblem } from '../../config/load.js';
import { STATE_FILE } from '../../setup/state.js';
import { EXIT, allValues, isSet, type CommandSpec } from '../command.js';
import { printJson } from '../control-target.js';

export const setupSpec: CommandSpec = {
  name: 'setup',
  summary: 'set the host up for VRF in one step: configuration, both instances, resolv.conf, resolved, nsswitch; then doctor',
  usage: ['vrf-resolver setup VRF [--upstream ADDR]... [--keep-resolved] [--dry-run]', 'vrf-resolver setup VRF --undo [--dry-run]'],
  description: [
    'Takes a host whose management VRF breaks name lookups (ip vrf exec VRF apt-get update: "Temporary failure ' +
      'resolving") to a working one, in this order, each step said as it is done:',
    '  1. the upstream servers: --upstream, else DNS= of /etc/vrf-resolver/VRF.conf,\n' +
      '     else systemd-resolved\'s (/run/systemd/resolve/resolv.conf), else\n' +
      '     /etc/resolv.conf; never 127.0.0.53 or a loopback address\n' +
      '  2. /etc/vrf-resolver/VRF.conf and default.conf (an existing file is kept);\n' +
      '     the default VRF\'s instance asks through VRF (UpstreamDevice=) when the\n' +
      '     default VRF has no route to the servers\n' +
      '  3. enables and starts vrf-resolver@VRF and vrf-resolver@default, and waits\n' +
      '     until each answers; its companion vrf-resolver-net@VRF adds the VRF\'s\n' +
      '     loopbacks and fixes the rule order whenever the device appears\n' +
      '  4. /etc/resolv.conf: nameserver 127.0.0.1 and ::1 (search domains kept;\n' +
      '     the old file or symlink saved)\n' +
      '  5. stops and disables systemd-resolved (--keep-resolved: keeps it running,\n' +
      '     without its stub listener)\n' +
      '  6. takes "resolve" off the hosts line of /etc/nsswitch.conf\n' +
      '  7. runs doctor for VRF and the default VRF and prints what it finds',
    `Run again, it finds every step done and says "nothing to change". What it replaced is kept in ${STATE_FILE}; ` +
      '--undo puts resolv.conf, the hosts line and systemd-resolved back, stops and disables the units setup enabled, ' +
      'and removes the files it wrote unless they were edited since. A step that fails stops setup with the reason and ' +
      'what is done; run it again once fixed, or --undo.',
    'Needs root and systemd, and the units installed (the Debian package, or systemd/install.sh install from a checkout). Exit codes: 0 the host is set up ' +
      '(doctor finds no FAIL) or --undo is done, 1 a step failed, a problem stopped it before any change, or doctor ' +
      'found a FAIL, 2 usage.',
  ],
  flags: [
    { name: '--upstream', arg: 'ADDR', repeatable: true, help: 'an upstream DNS server (ADDR[:PORT], [V6]:PORT); repeat for several' },
    { name: '--keep-resolved', help: 'keep systemd-resolved running (its D-Bus API, resolvectl), with its stub listener off' },
    { name: '--dry-run', help: 'print every step and the commands it would run; change nothing (no root needed)' },
    { name: '--undo', help: 'take back what setup did for VRF (with the last VRF also resolv.conf, nsswitch, resolved)' },
    { name: '--json', help: 'print {vrf, problems, upstreams, steps, doctor} as JSON at the end' },
  ],
  operands: [{ name: 'VRF', noun: 'VRF device', help: 'the VRF device, e.g. mgmt', check: (w) => (w === 'default' ? 'the default VRF needs no setup of its own: name the VRF device (setup enables vrf-resolver@default too)' : interfaceNameProblem(w)) }],
  instance: 'none',
  validate: (p) => {
    if (isSet(p, 'undo') && (isSet(p, 'upstream') || isSet(p, 'keep-resolved'))) return '--undo takes no --upstream or --keep-resolved';
    return null;
  },
  seeAlso: ['vrf-resolver doctor checks the same things without changing any; README: "Setting a host up".'],
  async run(p, env) {
    const { renderEnd, renderStep, setup, setupSucceeded } = await import('../../setup/run.js');
    const json = isSet(p, 'json');
    const dryRun = isSet(p, 'dry-run');
    const upstreams = allValues(p, 'upstream');
    const report = await setup({
      vrf: p.operands['VRF']!,
      undo: isSet(p, 'undo'),
      dryRun,
      keepResolved: isSet(p, 'keep-resolved'),
      ...(upstreams !== undefined && { upstreams }),
      ...(!json && {
        onStep: (r) => env.stdout(renderStep(r, dryRun)),
        onPlan: (up) => up !== null && env.stdout(`upstream servers: ${up.servers.join(' ')} (from ${up.source})\n`),
      }),
    });
    if (json) printJson(env, report);
    else env.stdout(renderEnd(report));
    return setupSucceeded(report) ? EXIT.OK : EXIT.FAILURE;
  },
};
