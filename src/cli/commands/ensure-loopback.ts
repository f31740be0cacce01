// `vrf-resolver ensure-loopback`: what the privileged companion unit vrf-resolver-net@NAME runs
// (AddLoopbackAddresses=). `run` never does it itself: the long-running resolver changes no
// network configuration, and without the addresses its bind() fails with EADDRNOTAVAIL and says
// what to run.

import type { LoadOptions } from '../../config/load.js';
import { createLogger, detectLogFormat } from '../../log.js';
import { loadOptionsFor } from '../../systemd/instance.js';
import { ensureLoopback, neededLoopback, runIp } from '../../systemd/loopback.js';
import { ensureRuleOrder } from '../../systemd/rule-order.js';
import { notAVrfWarning } from '../../systemd/device-kind.js';
import { EXIT, type CommandSpec } from '../command.js';
import { RUN_FLAGS, cliFlags, configFile } from '../run-flags.js';
import { finishLog, loadOrReport } from '../startup.js';

const EX_CONFIG = EXIT.CONFIG;

export const ensureLoopbackSpec: CommandSpec = {
  name: 'ensure-loopback',
  summary: 'add 127.0.0.1/8 and ::1/128 to the VRF device when missing, and fix the rule order (needs CAP_NET_ADMIN; vrf-resolver-net@NAME runs it)',
  usage: ['vrf-resolver ensure-loopback --instance NAME [FLAGS]', 'vrf-resolver ensure-loopback [--config FILE] [FLAGS]'],
  description: [
    'Adds the loopback addresses the listeners need (127.0.0.1/8 and ::1/128) to the VRF device when they are ' +
      'missing, and logs what it added; with AddLoopbackAddresses=no, in the default VRF, or without a loopback ' +
      'listener there is nothing to do. Then, for a VRF and unless FixRuleOrder=no, it puts the l3mdev policy rule ' +
      'before "lookup local" (IPv4 and IPv6) when the kernel\'s default order is in the way, and logs the ip commands it ran. ' +
      'It reads the same configuration and flags as "run". ' +
      'The systemd unit vrf-resolver-net@NAME runs it, as root with CAP_NET_ADMIN, before the resolver starts and each time ' +
      'the device appears; the resolver never changes the network itself:',
    '  ExecStart=vrf-resolver ensure-loopback --instance %i',
    'A device that does not exist yet is not an error (exit 0, one warn line): the unit vrf-resolver-net@NAME runs this ' +
      'again each time the device appears. Exits 0 when the addresses and the rule order are right (or the device is not ' +
      'there), 1 when they could not be made so, 78 on an invalid configuration.',
  ],
  flags: RUN_FLAGS,
  operands: [],
  instance: 'flag',
  strayHint: 'a config file is given with --config FILE',
  run: (p, env) => ensureLoopbackCommand(loadOptionsFor({ instance: p.instance, configFile: configFile(p), flags: cliFlags(p) }, env.configDir).load),
};

async function ensureLoopbackCommand(load: LoadOptions): Promise<number> {
  const config = loadOrReport(load);
  if (config === null) return EX_CONFIG;
  const log = createLogger(config.logLevel, config.vrf, undefined, config.logFormat ?? detectLogFormat());
  const need = neededLoopback(config);
  // The unit vrf-resolver-net@NAME runs this before the instance starts and again each time the
  // device appears: a device that is not there yet is nothing to fix now.
  if (config.vrf !== null && !(await deviceExists(config.vrf))) {
    log.warn({ device: config.vrf }, `${config.vrf} does not exist (yet): nothing to add now; under systemd this runs again when it appears`);
    await finishLog(log);
    return 0;
  }
  const notVrf = config.vrf === null ? null : await notAVrfWarning(config.vrf);
  if (notVrf !== null) log.warn({ device: config.vrf }, notVrf);
  try {
    if (need === null) {
      const why = config.vrf === null ? 'the default VRF uses lo' : config.addLoopbackAddresses === false ? 'AddLoopbackAddresses=no' : 'no loopback listener';
      log.info({ reason: why }, 'no loopback addresses to add');
    } else {
      const r = await ensureLoopback(need.device, need.addresses);
      log.info({ device: need.device, added: r.added, present: r.present },
        r.added.length > 0 ? 'loopback addresses added' : 'loopback addresses already present');
    }
  } catch (e) {
    log.fatal({ err: (e as Error).message, device: need?.device }, 'cannot add the loopback addresses');
    await finishLog(log);
    return 1;
  }
  // FixRuleOrder=: only for a VRF (the default VRF's lookups never pass the l3mdev rule).
  if (config.vrf !== null && config.fixRuleOrder !== false) {
    try {
      const r = await ensureRuleOrder();
      log.info({ ran: r.ran, ipv4: r.state.v4, ipv6: r.state.v6 },
        r.ran.length > 0 ? 'rule order fixed: l3mdev before lookup local' : 'rule order already right');
    } catch (e) {
      log.fatal({ err: (e as Error).message }, 'cannot fix the rule order (FixRuleOrder=)');
      await finishLog(log);
      return 1;
    }
  }
  await finishLog(log);
  return 0;
}

/** `ip link show dev NAME` succeeds; false only when ip says the device does not exist. */
async function deviceExists(device: string): Promise<boolean> {
  try {
    const r = await runIp(['-j', 'link', 'show', 'dev', device]);
    return r.code === 0 || !/does not exist|Cannot find device/i.test(r.stderr);
  } catch {
    return true; // no ip: ensureLoopback says so
  }
}
