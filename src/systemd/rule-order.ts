// FixRuleOrder=: the unit's privileged start step (ensure-loopback) puts the l3mdev rule before
// `lookup local`, IPv4 and IPv6, when it is not (host/rule-order.ts has the plan and why). The
// rules are the host's and shared by every VRF, so the first instance to start fixes them for
// all, and the step runs whenever the device appears: after a reboot, or a device re-created by ifupdown,
// the order holds without anyone remembering a one-off command.

import { parseRules } from '../host/parse.js';
import { planRuleOrder, ruleOrderCommands } from '../host/rule-order.js';
import { runIp, type IpRunner } from './loopback.js';

export interface RuleOrderResult {
  /** The `ip` commands run, as an operator would type them. */
  readonly ran: readonly string[];
  /** Per family: "fixed", "ok" (already right) or "no l3mdev rule" (no VRF routing yet). */
  readonly state: { readonly v4: string; readonly v6: string };
}

/** Reads the rules of both families and fixes their order; throws with iproute2's message when it cannot. */
export async function ensureRuleOrder(ip: IpRunner = runIp): Promise<RuleOrderResult> {
  const ran: string[] = [];
  const state: Record<'v4' | 'v6', string> = { v4: '', v6: '' };
  for (const family of [4, 6] as const) {
    const flag = family === 6 ? '-6' : '-4';
    const shown = await ip([flag, '-j', 'rule', 'show']);
    if (shown.code !== 0) throw new Error(`ip ${flag} -j rule show: ${shown.stderr.trim() || `exit ${String(shown.code)}`}`);
    const plan = planRuleOrder(parseRules(shown.stdout));
    const key = family === 6 ? 'v6' : 'v4';
    if (plan.kind !== 'fix') {
      state[key] = plan.kind === 'ok' ? 'ok' : 'no l3mdev rule';
      continue;
    }
    for (const args of ruleOrderCommands(plan, family)) {
      const r = await ip(args);
      if (r.code !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim() || `exit ${String(r.code)}`}`);
      ran.push(`ip ${args.join(' ')}`);
    }
    state[key] = 'fixed';
  }
  return { ran, state };
}
