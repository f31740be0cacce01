// Every `vrf-resolver` command, in the order the top-level help, the usage messages and the
// README list them: run, check-config and help first as they always were, then the unit's
// privileged step, then the commands that talk to a running instance. A new command is a
// module in cli/commands/ and a line here.

import type { CommandSpec } from './command.js';
import { checkConfigSpec } from './commands/check-config.js';
import { doctorSpec } from './commands/doctor.js';
import { ensureLoopbackSpec } from './commands/ensure-loopback.js';
import { flushCachesSpec } from './commands/flush-caches.js';
import { helpSpec } from './commands/help.js';
import { logLevelSpec } from './commands/log-level.js';
import { querySpec } from './commands/query.js';
import { runSpec } from './commands/run.js';
import { setupSpec } from './commands/setup.js';
import { statisticsSpec } from './commands/statistics.js';
import { statusSpec } from './commands/status.js';

export const COMMANDS: readonly CommandSpec[] = [
  runSpec,
  checkConfigSpec,
  helpSpec,
  ensureLoopbackSpec,
  statusSpec,
  statisticsSpec,
  flushCachesSpec,
  logLevelSpec,
  querySpec,
  doctorSpec,
  setupSpec,
];

export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}

export function commandNames(): string[] {
  return COMMANDS.map((c) => c.name);
}

/** What `vrf-resolver help TOPIC` knows: every command, and the topics their help covers (config). */
export function helpTopics(): string[] {
  return COMMANDS.flatMap((c) => [c.name, ...(c.topics ?? [])]);
}
