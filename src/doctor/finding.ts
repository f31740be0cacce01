// What one doctor check says about one VRF: PASS, WARN or FAIL, a stable id, a sentence, and
// for anything but PASS the exact commands that fix it. The JSON of `doctor --json` is made of
// these: scripts read `check` and `level`, keep them stable.

import type { HostFacts } from '../host/facts.js';

export type Level = 'PASS' | 'WARN' | 'FAIL';

export interface Finding {
  readonly level: Level;
  /** A stable id: "vrf-device", "rule-order", "resolv-conf"... */
  readonly check: string;
  /** The VRF it is about; null for the default VRF. */
  readonly vrf: string | null;
  readonly message: string;
  /** For WARN and FAIL: the command(s) to run, in order; a "# ..." tail says what to fill in or why. */
  readonly fix?: readonly string[];
}

/** One check: the findings for one VRF (null: the default VRF) from the host's facts; [] when it does not apply. */
export type Check = (facts: HostFacts, vrf: string | null) => Finding[];

export function pass(check: string, vrf: string | null, message: string): Finding {
  return { level: 'PASS', check, vrf, message };
}
export function warn(check: string, vrf: string | null, message: string, fix: readonly string[]): Finding {
  return { level: 'WARN', check, vrf, message, fix };
}
export function fail(check: string, vrf: string | null, message: string, fix: readonly string[]): Finding {
  return { level: 'FAIL', check, vrf, message, fix };
}

/**
 * A fact that could not be read: WARN, since doctor cannot tell, with what would let it read
 * it: root for a permission problem, iproute2 for a missing ip or ss, else a run as root.
 */
export function cannotCheck(check: string, vrf: string | null, what: string, why: string): Finding {
  const fix = /ip is not installed|ss is not installed/.test(why) ? 'apt-get install iproute2' : 'sudo vrf-resolver doctor';
  return warn(check, vrf, `${what} not checked: ${why}`, [fix]);
}

/** "mgmt", or "the default VRF" in sentences. */
export function vrfName(vrf: string | null): string {
  return vrf ?? 'the default VRF';
}

/** The systemd unit of the instance for this VRF. */
export function unitOf(vrf: string | null): string {
  return `vrf-resolver@${vrf ?? 'default'}`;
}
