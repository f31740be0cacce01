// One doctor run: read the host (host/read.ts), pick the VRFs (the ones asked about, else every
// VRF device and the default VRF), run every check for each, and render the findings: one line
// per finding, each WARN and FAIL followed by its fix lines, or the JSON of --json.

import type { Known, LinkFact } from '../host/facts.js';
import type { HostIo } from '../host/io.js';
import type { Probe } from '../host/probe.js';
import { readHost, type InstanceSource } from '../host/read.js';
import { CHECKS } from './checks.js';
import type { Check, Finding } from './finding.js';

export interface Summary {
  /** The VRFs checked; null is the default VRF. */
  readonly vrfs: readonly (string | null)[];
  readonly pass: number;
  readonly warn: number;
  readonly fail: number;
}

export interface DoctorReport {
  readonly findings: readonly Finding[];
  readonly summary: Summary;
}

export interface DoctorOptions {
  readonly controlDir: string;
  /** The VRF names asked about ("default" is the default VRF); empty: all of them. */
  readonly asked: readonly string[];
  readonly io?: HostIo;
  readonly instances?: InstanceSource;
  readonly probe?: Probe | null;
}

/**
 * The VRFs to check: those asked about, in the order given, or every device of kind vrf (by
 * name) after the default VRF. A name that is not a VRF device stays: vrf-device says so.
 */
export function vrfsToCheck(links: Known<readonly LinkFact[]>, asked: readonly string[]): (string | null)[] {
  if (asked.length > 0) return [...new Set(asked.map((a) => (a === 'default' ? null : a)))];
  const devices = links.ok ? links.value.filter((l) => l.kind === 'vrf').map((l) => l.name).sort() : [];
  return [null, ...devices];
}

export async function doctor(o: DoctorOptions): Promise<DoctorReport> {
  const { facts, vrfs } = await readHost({
    controlDir: o.controlDir,
    select: (links) => vrfsToCheck(links, o.asked),
    ...(o.io !== undefined && { io: o.io }),
    ...(o.instances !== undefined && { instances: o.instances }),
    ...(o.probe !== undefined && { probe: o.probe }),
  });
  const findings = runChecks(facts, vrfs);
  return { findings, summary: summarize(findings, vrfs) };
}

export function runChecks(facts: Parameters<Check>[0], vrfs: readonly (string | null)[], checks: readonly Check[] = CHECKS): Finding[] {
  return vrfs.flatMap((vrf) => checks.flatMap((check) => check(facts, vrf)));
}

export function summarize(findings: readonly Finding[], vrfs: readonly (string | null)[]): Summary {
  const count = (level: Finding['level']): number => findings.filter((f) => f.level === level).length;
  return { vrfs, pass: count('PASS'), warn: count('WARN'), fail: count('FAIL') };
}

/** "FAIL [mgmt] rule-order: ...", then "  fix: COMMAND" per fix line; a summary line last. */
export function renderFindings(r: DoctorReport): string {
  const lines = r.findings.flatMap((f) => [
    `${f.level} [${f.vrf ?? 'default'}] ${f.check}: ${f.message}`,
    ...(f.level === 'PASS' ? [] : (f.fix ?? []).map((c) => `  fix: ${c}`)),
  ]);
  lines.push(...setupHints(r.findings));
  const s = r.summary;
  const vrfs = s.vrfs.map((v) => v ?? 'default').join(', ');
  lines.push(`${s.pass} PASS, ${s.warn} WARN, ${s.fail} FAIL (${vrfs})`);
  return `${lines.join('\n')}\n`;
}

/** What `vrf-resolver setup VRF` makes hold (its steps, and the unit's start step). */
const SETUP_FIXES: ReadonlySet<string> = new Set(['loopback', 'rule-order', 'resolv-conf', 'nsswitch', 'systemd-resolved', 'instance-unit', 'instance']);

/** For each VRF with a FAIL that setup fixes: one line naming it, so the fix lines are not the only way. */
function setupHints(findings: readonly Finding[]): string[] {
  const byVrf = new Map<string, string[]>();
  for (const f of findings) {
    if (f.level !== 'FAIL' || f.vrf === null || !SETUP_FIXES.has(f.check)) continue;
    byVrf.set(f.vrf, [...new Set([...(byVrf.get(f.vrf) ?? []), f.check])]);
  }
  return [...byVrf].map(([vrf, ids]) => `hint: vrf-resolver setup ${vrf} makes ${ids.join(', ')} hold in one step, after reboots too (--dry-run shows how)`);
}
