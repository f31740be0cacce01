// `vrf-resolver query [INSTANCE] NAME [TYPE]`: ask a running instance over DNS, from inside its
// VRF, as its clients do, and say what came back and whether it came from the cache. The work
// is in cli/query/run.ts, loaded when the command runs: the command table imports every
// command's module, and the running resolver has no use for a DNS client (issue 13).

import type { CommandSpec } from '../command.js';
import { CONTROL_FLAG, INSTANCE_OPERAND, JSON_FLAG, oneWayToName } from '../control-target.js';
import { domainNameProblem, isRecordType, recordTypeProblem } from '../names.js';

export const querySpec: CommandSpec = {
  name: 'query',
  summary: 'ask a running instance for NAME from inside its VRF; show the answer and whether it was cached',
  usage: ['vrf-resolver query [INSTANCE] NAME [TYPE] [--tcp] [--json]', 'vrf-resolver query --control PATH NAME [TYPE] [--tcp] [--json]'],
  description: [
    'Sends one query for NAME and TYPE (default A) to the instance\'s first listener, over a socket bound ' +
      'to the instance\'s VRF device, as a client in that VRF asks. It prints the answer records, the rcode, ' +
      'whether the answer came from the cache and how long it has left, and the time taken.',
    'Two words are NAME TYPE when the second is a record type (A, aaaa, TYPE65534), else INSTANCE NAME; ' +
      '--instance NAME makes it plain.',
    'Exit codes: 0 an answer came (whatever its rcode), 1 none came within 5 s, 2 usage (or several ' +
      'instances run and none is named), 3 no such instance is running.',
  ],
  flags: [CONTROL_FLAG, { name: '--tcp', help: 'ask over TCP (a truncated UDP answer is asked again over TCP anyway)' }, JSON_FLAG],
  operands: [
    INSTANCE_OPERAND,
    { name: 'NAME', noun: 'domain name', help: 'the name to ask for, e.g. example.com', check: domainNameProblem },
    { name: 'TYPE', noun: 'record type', optional: true, help: 'A (default), AAAA, MX, TXT, ... or TYPE65534', check: recordTypeProblem, prefers: isRecordType },
  ],
  instance: 'operand',
  validate: oneWayToName,
  async run(p, env) {
    const { query } = await import('../query/run.js');
    return query(p, env);
  },
};
