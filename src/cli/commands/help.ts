// `vrf-resolver help [COMMAND]`: the texts of cli/help.ts, generated from the command table.
// The parser turns `help TOPIC` into the same help request as `TOPIC --help`, which main prints;
// run() prints it too, for a caller that dispatches this spec itself.

import { EXIT, type CommandSpec } from '../command.js';
import { helpText } from '../help.js';
import { helpTopics } from '../table.js';

export const helpSpec: CommandSpec = {
  name: 'help',
  summary: 'help for a command, or for every config file key (help config)',
  usage: ['vrf-resolver help [COMMAND]', 'vrf-resolver COMMAND --help'],
  description: [
    'Prints the help of COMMAND: its usage, arguments and flags; without COMMAND, the list of commands. ' +
      '"vrf-resolver help config" lists every key of the config file with its default and bounds.',
  ],
  flags: [],
  operands: [{
    name: 'COMMAND',
    noun: 'topic',
    optional: true,
    help: 'a command, or "config"',
    check: (w) => (helpTopics().includes(w) ? null : `no help for "${w}"; topics: ${helpTopics().join(', ')}`),
  }],
  instance: 'none',
  topics: ['config'],
  async run(p, env) {
    env.stdout(helpText(p.operands['COMMAND']) ?? '');
    return EXIT.OK;
  },
};
