// `vrf-resolver flush-caches [INSTANCE] [NAME]`: drop the whole cache, or every entry of one
// name (every type, DO and CD variant), as `resolvectl flush-caches` and `unbound-control flush`.

import type { CommandSpec } from '../command.js';
import { CONTROL_FLAG, INSTANCE_OPERAND, JSON_FLAG, oneWayToName, showOne } from '../control-target.js';
import { domainNameProblem } from '../names.js';
import { plural } from '../text.js';

export const flushCachesSpec: CommandSpec = {
  name: 'flush-caches',
  summary: 'drop the cache of a running instance, or every entry of one name',
  usage: ['vrf-resolver flush-caches [INSTANCE] [NAME] [--json]', 'vrf-resolver flush-caches --control PATH [NAME] [--json]'],
  description: [
    'Drops every cached answer of the instance, or with NAME every answer for that name (all types), ' +
      'and says how many entries went. With one word, it is the INSTANCE when an instance of that name ' +
      'has a control socket, else the NAME; --instance NAME makes it plain.',
    'Exit codes: 0 done, 1 the instance answered with an error, 2 usage (or several instances run and ' +
      'none is named), 3 no such instance is running.',
  ],
  flags: [CONTROL_FLAG, JSON_FLAG],
  operands: [
    { ...INSTANCE_OPERAND, prefers: (word, ctx) => ctx.instanceExists(word) },
    { name: 'NAME', noun: 'domain name', optional: true, help: 'the name whose entries go, e.g. example.com', check: domainNameProblem },
  ],
  instance: 'operand',
  validate: oneWayToName,
  run(p, env) {
    const name = p.operands['NAME'];
    return showOne<{ flushed: number }>(p, env, name === undefined ? { command: 'flush-caches' } : { command: 'flush-caches', name },
      ({ flushed }) => `Flushed ${plural(flushed, 'entry', 'entries')}${name === undefined ? '' : ` for ${name}`}.\n`);
  },
};
