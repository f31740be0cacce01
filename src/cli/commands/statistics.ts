// `vrf-resolver statistics [INSTANCE] [--reset]`: every counter of an instance, as
// `resolvectl statistics` and `unbound-control stats` show theirs.

import type { StatisticsReport } from '../../control/types.js';
import { EXIT, isSet, type CommandSpec } from '../command.js';
import { CONTROL_FLAG, INSTANCE_OPERAND, JSON_FLAG, ask, oneWayToName, printJson, report, targetsOf } from '../control-target.js';
import { renderStatistics } from '../render/statistics.js';

export const statisticsSpec: CommandSpec = {
  name: 'statistics',
  summary: 'show the counters of a running instance: queries, replies, cache, upstreams, latency',
  usage: ['vrf-resolver statistics [INSTANCE] [--json] [--reset]', 'vrf-resolver statistics --control PATH [--json] [--reset]'],
  description: [
    'Shows every counter of a running instance since it started or since the last --reset: queries ' +
      'by transport and by type, replies by rcode, cache hits, misses and evictions, upstream queries, ' +
      'failures, timeouts and TCP fallbacks per server with their round-trip time, and the latency ' +
      'of cache hits and misses (p50, p90, p99). Without INSTANCE it shows every running instance.',
    'Exit codes: 0 done, 1 an instance answered with an error, 3 no such instance is running.',
  ],
  flags: [CONTROL_FLAG, JSON_FLAG, { name: '--reset', help: 'zero the counters after reading them (the figures shown are those before)' }],
  operands: [INSTANCE_OPERAND],
  instance: 'operand',
  validate: oneWayToName,
  async run(p, env) {
    const reset = isSet(p, 'reset');
    const t = await targetsOf(p, env, 'all');
    if (!t.ok) return report(env, t);
    const reports: StatisticsReport[] = [];
    let code: number = EXIT.OK;
    for (const target of t.value.targets) {
      const r = await ask(target, { command: 'statistics', reset }, env);
      if (r.ok) reports.push(r.value as StatisticsReport);
      else {
        const failed = report(env, r); // the others are still shown
        if (code === EXIT.OK) code = failed;
      }
    }
    if (isSet(p, 'json')) {
      if (t.value.many) printJson(env, reports);
      else if (reports[0] !== undefined) printJson(env, reports[0]);
      return code;
    }
    env.stdout(reports.map((r) => renderStatistics(r) + (reset ? `Statistics of ${r.instance} reset.\n` : '')).join('\n'));
    return code;
  },
};
