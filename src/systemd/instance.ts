// The command lines the systemd units run, for instance NAME (%i):
//   vrf-resolver check-config --instance NAME      (ExecStartPre=)
//   vrf-resolver ensure-loopback --instance NAME   (ExecStartPre=+, privileged)
//   vrf-resolver run --instance NAME               (ExecStart=)
// --instance NAME reads /etc/vrf-resolver/NAME.conf and its drop-ins NAME.conf.d/*.conf, and
// the file is optional: an instance configured only by a drop-in (say, DNS= written by a DHCP
// hook) or by ResolvConf= in a drop-in works without it. NAME is the VRF unless VRF= or --vrf
// says otherwise; "default" is the default VRF. An explicit --config FILE replaces the
// default path and must exist. Every other flag of `run` works as usual.
//
// This is parsed here, before cli/args.ts sees the command line, so the unit's needs stay in
// one place; `ensure-loopback` without --instance takes the flags of `run` (--vrf, --config...).

import { parseArgs } from '../cli/args.js';
import { interfaceNameProblem, type LoadOptions } from '../config/load.js';

export const CONFIG_DIR = '/etc/vrf-resolver';

export type SystemdCommand =
  | { readonly kind: 'run' | 'check-config' | 'ensure-loopback'; readonly load: LoadOptions; readonly label: string }
  | { readonly kind: 'usage-error'; readonly message: string };

/** null when the command line is not one of these (cli/args.ts handles it). */
export function parseSystemdCommand(argv: readonly string[], configDir = CONFIG_DIR): SystemdCommand | null {
  const [command, ...rest] = argv;
  if (command !== 'run' && command !== 'check-config' && command !== 'ensure-loopback') return null;
  const taken = takeInstance(rest);
  if ('message' in taken) return { kind: 'usage-error', message: taken.message };
  const { instance, others } = taken;
  if (instance === undefined && command !== 'ensure-loopback') return null;

  // The flags of `run` (shape only: values are checked by loadConfig with the file).
  const parsed = parseArgs(['run', ...others]);
  if (parsed.kind === 'usage-error') {
    return { kind: 'usage-error', message: parsed.message.replace(/"run" takes no arguments/, `"${command}${instance === undefined ? '' : ' --instance'}" takes no arguments`) };
  }
  if (parsed.kind !== 'run') return { kind: 'usage-error', message: `see "vrf-resolver help run" for the flags of ${command}` };

  if (instance === undefined) {
    const load = { ...(parsed.configFile !== undefined && { file: parsed.configFile }), dropInDir: 'auto', flags: parsed.flags };
    return { kind: command, load, label: parsed.configFile ?? 'command line' };
  }
  const problem = instance === 'default' ? null : interfaceNameProblem(instance);
  if (problem !== null) return { kind: 'usage-error', message: `--instance: ${problem}` };
  const file = parsed.configFile ?? `${configDir}/${instance}.conf`;
  const load: LoadOptions = { file, fileOptional: parsed.configFile === undefined, dropInDir: 'auto', flags: parsed.flags, instance };
  return { kind: command, load, label: file };
}

function takeInstance(args: readonly string[]): { instance: string | undefined; others: string[] } | { message: string } {
  const others: string[] = [];
  let instance: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    let value: string | undefined;
    if (a === '--instance') {
      value = args[++i];
      if (value === undefined || value.startsWith('-')) return { message: '--instance needs a value (--instance NAME, the VRF of the unit vrf-resolver@NAME)' };
    } else if (a.startsWith('--instance=')) {
      value = a.slice('--instance='.length);
    } else {
      others.push(a);
      continue;
    }
    if (instance !== undefined) return { message: '--instance given twice; give it once' };
    if (value === '') return { message: '--instance needs a name' };
    instance = value;
  }
  return { instance, others };
}
