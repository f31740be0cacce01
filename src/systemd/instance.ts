// The command lines the systemd units run, for instance NAME (%i):
//   vrf-resolver check-config --instance NAME      (ExecStartPre=)
//   vrf-resolver ensure-loopback --instance NAME   (vrf-resolver-net@NAME, privileged)
//   vrf-resolver run --instance NAME               (ExecStart=)
// --instance NAME reads /etc/vrf-resolver/NAME.conf and its drop-ins NAME.conf.d/*.conf, and
// the file is optional: an instance configured only by a drop-in (say, DNS= written by a DHCP
// hook) or by ResolvConf= in a drop-in works without it. NAME is the VRF unless VRF= or --vrf
// says otherwise; "default" is the default VRF. An explicit --config FILE replaces the
// default path and must exist. Every other flag of `run` works as usual.
//
// The parser (cli/parse.ts) reads --instance and checks the name; this is what it means.

import { interfaceNameProblem, type CliFlags, type LoadOptions } from '../config/load.js';

export const CONFIG_DIR = '/etc/vrf-resolver';

export interface InstanceLoad {
  readonly load: LoadOptions;
  /** The file to name in messages: the config file, or "command line" without one. */
  readonly label: string;
}

/** What run, check-config and ensure-loopback load, with or without --instance. */
export function loadOptionsFor(
  o: { readonly instance?: string | undefined; readonly configFile?: string | undefined; readonly flags: CliFlags },
  configDir = CONFIG_DIR,
): InstanceLoad {
  if (o.instance === undefined) {
    const load: LoadOptions = { ...(o.configFile !== undefined && { file: o.configFile }), dropInDir: 'auto', flags: o.flags };
    return { load, label: o.configFile ?? 'command line' };
  }
  const file = o.configFile ?? `${configDir}/${o.instance}.conf`;
  const load: LoadOptions = { file, fileOptional: o.configFile === undefined, dropInDir: 'auto', flags: o.flags, instance: o.instance };
  return { load, label: file };
}

/** Why NAME cannot name an instance, or null: an instance is named for its VRF, or "default". */
export function instanceProblem(name: string): string | null {
  return name === 'default' ? null : interfaceNameProblem(name);
}
