// `vrf-resolver log-level [INSTANCE] LEVEL`: change how much a running instance logs, for a
// while (debug logs one line per query); a reload or restart goes back to LogLevel=.

import { LOG_LEVELS } from '../../config/schema.js';
import type { LogLevel } from '../../config/types.js';
import type { CommandSpec } from '../command.js';
import { CONTROL_FLAG, INSTANCE_OPERAND, JSON_FLAG, oneWayToName, showOne } from '../control-target.js';

const isLevel = (word: string): boolean => (LOG_LEVELS as readonly string[]).includes(word.toLowerCase());

export const logLevelSpec: CommandSpec = {
  name: 'log-level',
  summary: 'set the log level of a running instance until its next reload or restart',
  usage: ['vrf-resolver log-level [INSTANCE] LEVEL [--json]', 'vrf-resolver log-level --control PATH LEVEL [--json]'],
  description: [
    `Sets the least severe messages the instance logs: ${LOG_LEVELS.join(', ')}; debug logs one line per query. ` +
      'It says the old and the new level. A reload (systemctl reload vrf-resolver@INSTANCE) or a restart ' +
      'goes back to the configured level (LogLevel=, --log-level).',
    'Exit codes: 0 done, 1 the instance answered with an error, 2 usage (or several instances run and ' +
      'none is named), 3 no such instance is running.',
  ],
  flags: [CONTROL_FLAG, JSON_FLAG],
  operands: [
    INSTANCE_OPERAND,
    { name: 'LEVEL', noun: 'log level', help: `one of ${LOG_LEVELS.join(', ')}`, check: (w) => (isLevel(w) ? null : `"${w}" is not a log level: use one of ${LOG_LEVELS.join(', ')}`) },
  ],
  instance: 'operand',
  validate: oneWayToName,
  run(p, env) {
    const level = (p.operands['LEVEL'] ?? '').toLowerCase() as LogLevel;
    return showOne<{ previous: LogLevel; level: LogLevel }>(p, env, { command: 'log-level', level }, (v, target) =>
      `Log level of ${target.instance}: ${v.previous} → ${v.level}.\n` + 'A reload or restart restores the configured level (LogLevel=).\n');
  },
};
