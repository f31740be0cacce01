// `vrf-resolver statistics [INSTANCE] [--reset]`: every counter of an instance, as
// `resolvectl statistics` and `unbound-control stats` show theirs.

import type { StatisticsReport } from '../../control/types.js';
import { isSet, type CommandSpec } from '../command.js';
import { CONTROL_FLAG, INSTANCE_OPERAND, JSON_FLAG, oneWayToName, showEach } from '../control-target.js';
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
  run(p, env) {
    const reset = isSet(p, 'reset');
    // With --reset the instance returns the figures it had, then starts from zero.
    return showEach<StatisticsReport>(p, env, { command: 'statistics', reset }, (r) =>
      renderStatistics(r) + (reset ? `Statistics of ${r.instance} reset.\n` : ''));
  },
};
