// The order of the policy routing rules a VRF needs (Documentation/networking/vrf.rst): the
// l3mdev rule (pref 1000, added by the kernel with the first VRF) must come before
// `lookup local`. With the kernel's default `0: from all lookup local` first, a packet from
// inside a VRF to 127.0.0.1 is delivered to lo in the default VRF, and the VRF's own instance
// never sees it. One plan, used by doctor (to print the fix) and by the unit's privileged start
// step (FixRuleOrder=, to apply it): add `lookup local` after l3mdev, then delete the ones before.
//
// The rule added is `protocol kernel`, as the kernel's own `0: lookup local` it replaces.
// systemd-networkd removes, when it starts, every rule it did not configure unless its protocol
// is kernel (networkd.conf, ManageForeignRoutingPolicyRules=yes, the default): the VM lab saw a
// `systemctl restart systemd-networkd` leave a host with no `lookup local` rule at all, which
// breaks every local address (127.0.0.1 too) until the rule is back.

import type { RuleFact } from './facts.js';

/** The preference the local rule moves to (the usual choice, just below main's 32766). */
export const LOCAL_RULE_PREF = 32765;

export type RuleOrderPlan =
  /** l3mdev comes before every `lookup local` rule, and one follows it. */
  | { readonly kind: 'ok'; readonly l3mdevPref: number; readonly localPref: number }
  /** No l3mdev rule: no VRF routing on this host yet, nothing to order. */
  | { readonly kind: 'no-l3mdev' }
  /** Add `lookup local` at `add` (null: one is already after l3mdev), then delete the prefs in `del`. */
  | { readonly kind: 'fix'; readonly l3mdevPref: number; readonly add: number | null; readonly del: readonly number[] };

export function planRuleOrder(rules: readonly RuleFact[]): RuleOrderPlan {
  const l3mdev = rules.find((r) => r.l3mdev && r.matchesAll);
  if (l3mdev === undefined) return { kind: 'no-l3mdev' };
  const locals = rules.filter((r) => r.table === 'local' && r.matchesAll && !r.l3mdev);
  const before = locals.filter((r) => r.priority < l3mdev.priority).map((r) => r.priority);
  const after = locals.filter((r) => r.priority > l3mdev.priority);
  if (before.length === 0 && after.length > 0) return { kind: 'ok', l3mdevPref: l3mdev.priority, localPref: after[0]!.priority };
  return { kind: 'fix', l3mdevPref: l3mdev.priority, add: after.length > 0 ? null : Math.max(LOCAL_RULE_PREF, l3mdev.priority + 1), del: before };
}

/** The plan as `ip` argument lists for one family, in the order they must run (add first: never a moment without a local rule). */
export function ruleOrderCommands(plan: Extract<RuleOrderPlan, { kind: 'fix' }>, family: 4 | 6): string[][] {
  const fam = family === 6 ? ['-6'] : ['-4'];
  return [
    ...(plan.add === null ? [] : [[...fam, 'rule', 'add', 'pref', String(plan.add), 'table', 'local', 'protocol', 'kernel']]),
    ...plan.del.map((pref) => [...fam, 'rule', 'del', 'pref', String(pref)]),
  ];
}
