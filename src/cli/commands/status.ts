// `vrf-resolver status [INSTANCE]`: what an instance is and how it is doing, in resolvectl's
// words: version, uptime, devices, listeners, config files, each upstream's health, the cache.

import type { StatusReport } from '../../control/types.js';
import type { CommandSpec } from '../command.js';
import { CONTROL_FLAG, INSTANCE_OPERAND, JSON_FLAG, oneWayToName, showEach } from '../control-target.js';
import { renderStatus } from '../render/status.js';

export const statusSpec: CommandSpec = {
  name: 'status',
  summary: 'show a running instance: VRF, listeners, upstream servers and their health, cache',
  usage: ['vrf-resolver status [INSTANCE] [--json]', 'vrf-resolver status --control PATH [--json]'],
  description: [
    'Shows the version, uptime, VRF device, upstream device, listeners and config files of a running ' +
      'instance; each upstream server with its state (healthy, or backing off until a time), failures, ' +
      'smoothed round-trip time and last error; the cache (entries, bytes and their limits) and the ' +
      'questions waiting on upstream servers. Without INSTANCE it shows every running instance.',
    'Exit codes: 0 done, 1 an instance answered with an error, 3 no such instance is running.',
  ],
  flags: [CONTROL_FLAG, JSON_FLAG],
  operands: [INSTANCE_OPERAND],
  instance: 'operand',
  validate: oneWayToName,
  run: (p, env) => showEach<StatusReport>(p, env, { command: 'status' }, renderStatus),
};
