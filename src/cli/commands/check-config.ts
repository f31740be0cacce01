// `vrf-resolver check-config FILE | --instance NAME`: what the systemd unit runs before starting
// an instance (as Debian's dnsmasq@ unit does with --test). It loads exactly what `run` would
// load and prints every problem with its place, or the effective settings (cli/check-config.ts).

import { existsSync } from 'node:fs';
import { loadConfig, type LoadOptions } from '../../config/load.js';
import { ConfigError } from '../../errors.js';
import { detectLogFormat } from '../../log.js';
import { loadOptionsFor } from '../../systemd/instance.js';
import { checkConfig, summarize } from '../check-config.js';
import { EXIT, isSet, type CommandSpec } from '../command.js';
import { RUN_FLAGS, cliFlags, configFile } from '../run-flags.js';
import { writeError } from '../startup.js';

const EX_CONFIG = EXIT.CONFIG;

export const checkConfigSpec: CommandSpec = {
  name: 'check-config',
  summary: 'validate a config file, print the effective settings',
  usage: ['vrf-resolver check-config FILE [FLAGS]', 'vrf-resolver check-config --instance NAME [FLAGS]'],
  description: [
    'Reads FILE and its drop-ins (FILE.d/*.conf) and the same flags as "run", then prints every ' +
      'problem with its place (file:line key, or the flag), or a summary of the effective settings: ' +
      'the VRF, the listeners, the upstream servers and where they came from, the cache. ' +
      'Exits 0 when the configuration is valid, 78 (EX_CONFIG) otherwise. The systemd unit runs it before starting:',
    '  vrf-resolver check-config --instance %i',
  ],
  flags: RUN_FLAGS,
  // --config names the file only together with --instance (it replaces NAME.conf).
  operands: [{ name: 'FILE', noun: 'file', help: 'the config file; its drop-ins FILE.d/*.conf are read too', absentWith: ['instance', 'config'] }],
  instance: 'flag',
  validate: (p) =>
    p.instance === undefined && isSet(p, 'config')
      ? '"check-config" takes the file as its argument: vrf-resolver check-config FILE [--vrf NAME]'
      : null,
  async run(p, env) {
    const flags = cliFlags(p);
    const file = p.operands['FILE'];
    if (p.instance === undefined && file !== undefined) {
      const r = checkConfig(file, flags);
      (r.ok ? process.stdout : process.stderr).write(r.text);
      return r.ok ? 0 : EX_CONFIG;
    }
    const { load, label } = loadOptionsFor({ instance: p.instance, configFile: configFile(p), flags }, env.configDir);
    return checkInstance(load, label);
  },
};

/** `check-config --instance NAME`: like check-config FILE, with the instance's optional file. */
function checkInstance(load: LoadOptions, file: string): number {
  const label = load.fileOptional === true && !existsSync(file) ? `${file} (absent, optional)` : file;
  try {
    process.stdout.write(summarize(label, loadConfig(load)));
    return 0;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const lines = e.problems.map((p) => `${p.path}: ${p.message}`);
    lines.push(`${label}: ${e.problems.length} problem${e.problems.length === 1 ? '' : 's'}, not valid`);
    writeError(detectLogFormat(), lines.join('\n'));
    return EX_CONFIG;
  }
}
