// `vrf-resolver status [INSTANCE]`: what an instance is and how it is doing, in resolvectl's
// words: version, uptime, devices, listeners, config files, each upstream's health, the cache.

import type { StatusReport } from '../../control/types.js';
import { EXIT, isSet, type CommandSpec } from '../command.js';
import { CONTROL_FLAG, INSTANCE_OPERAND, JSON_FLAG, ask, oneWayToName, printJson, report, targetsOf } from '../control-target.js';
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
  async run(p, env) {
    const t = await targetsOf(p, env, 'all');
    if (!t.ok) return report(env, t);
    const reports: StatusReport[] = [];
    let code: number = EXIT.OK;
    for (const target of t.value.targets) {
      const r = await ask(target, { command: 'status' }, env);
      if (r.ok) reports.push(r.value as StatusReport);
      else {
        const failed = report(env, r); // the others are still shown
        if (code === EXIT.OK) code = failed;
      }
    }
    if (isSet(p, 'json')) {
      if (t.value.many) printJson(env, reports);
      else if (reports[0] !== undefined) printJson(env, reports[0]);
    } else {
      env.stdout(reports.map(renderStatus).join('\n'));
    }
    return code;
  },
};
