// One `vrf-resolver setup VRF` (or --undo): read the host, plan, carry the plan out (or print it
// for --dry-run), then run doctor for the VRF and the default VRF and say whether the host is
// set up. The rendering of the human output lives here too, next to the report it renders.

import { doctor, renderFindings, type DoctorReport } from '../doctor/run.js';
import { applySteps, type StepResult } from './apply.js';
import { realSetupIo, type SetupIo } from './io.js';
import { discoverUpstreams, planSetup, planUndo, serverAddress, type SetupOptions, type Upstreams } from './plan.js';
import { readSetupFacts, routesInDefaultVrf, type SetupPaths } from './read.js';
import { EMPTY_STATE, STATE_FILE } from './state.js';

export const SETUP_PATHS: SetupPaths = {
  configDir: '/etc/vrf-resolver',
  controlDir: '/run/vrf-resolver',
  resolvConf: '/etc/resolv.conf',
  nsswitch: '/etc/nsswitch.conf',
  resolvedServers: '/run/systemd/resolve/resolv.conf',
  resolvedDropIn: '/etc/systemd/resolved.conf.d/vrf-resolver.conf',
  stateFile: STATE_FILE,
};

export interface SetupReport {
  readonly vrf: string;
  readonly undo: boolean;
  readonly dryRun: boolean;
  /** Problems found before anything was changed; then nothing was. */
  readonly problems: readonly string[];
  readonly upstreams: Upstreams | null;
  readonly steps: readonly StepResult[];
  readonly changed: number;
  readonly failed: boolean;
  /** doctor for the VRF and the default VRF, after a setup that ran (not for --dry-run or --undo). */
  readonly doctor: DoctorReport | null;
}

export interface SetupRun extends SetupOptions {
  readonly vrf: string;
  readonly undo: boolean;
  readonly paths?: SetupPaths;
  readonly io?: SetupIo;
  /** Tests: how to wait for an instance, and the doctor run at the end (default: the real ones). */
  readonly waitAnswering?: (instance: string) => Promise<string>;
  readonly doctor?: (asked: readonly string[]) => Promise<DoctorReport>;
  /** Each step's result as it is known (the human output streams; --json waits for the report). */
  readonly onStep?: (r: StepResult) => void;
  /** Called once the upstream servers are known, before the first step. */
  readonly onPlan?: (upstreams: Upstreams | null) => void;
}

export async function setup(o: SetupRun): Promise<SetupReport> {
  const paths = o.paths ?? SETUP_PATHS;
  const io = o.io ?? realSetupIo;
  const facts = await readSetupFacts(o.vrf, paths, io);
  // Whether the default VRF's instance must ask through the VRF: only when setup writes its file.
  const found = o.undo || facts.configs.default !== null ? null : discoverUpstreams(facts, paths, o);
  const routes = found?.ok === true ? await routesInDefaultVrf(io, found.value.servers.map(serverAddress)) : {};
  const plan = o.undo ? planUndo(facts, paths, o) : planSetup(facts, paths, o, routes);
  const base = { vrf: o.vrf, undo: o.undo, dryRun: o.dryRun };
  if (!plan.ok) return { ...base, problems: plan.problems, upstreams: null, steps: [], changed: 0, failed: true, doctor: null };
  o.onPlan?.(plan.upstreams);
  const applied = await applySteps(plan.steps, facts.state.ok ? facts.state.value : EMPTY_STATE, {
    io,
    stateFile: paths.stateFile,
    controlDir: paths.controlDir,
    dryRun: o.dryRun,
    recordFirst: !o.undo,
    onStep: o.onStep ?? (() => undefined),
    ...(o.waitAnswering !== undefined && { waitAnswering: o.waitAnswering }),
  });
  const changed = applied.results.filter((r) => r.status === 'changed' || r.status === 'would').length;
  const runDoctor = o.doctor ?? ((asked) => doctor({ controlDir: paths.controlDir, asked }));
  const report = o.undo || o.dryRun || applied.failed ? null : await runDoctor([o.vrf, 'default']);
  return { ...base, problems: [], upstreams: plan.upstreams, steps: applied.results, changed, failed: applied.failed, doctor: report };
}

/** Whether the host is where setup meant to leave it: every step done and doctor without FAIL. */
export function setupSucceeded(r: SetupReport): boolean {
  return !r.failed && (r.doctor === null || r.doctor.summary.fail === 0);
}

const LABEL: Record<StepResult['status'], string> = { changed: 'done ', unchanged: 'ok   ', would: 'would', failed: 'FAIL ', 'not-run': 'not run' };

/** One step as the human output shows it: "done  TITLE", its commands with --dry-run, the detail. */
export function renderStep(r: StepResult, dryRun: boolean): string {
  const lines = [`${LABEL[r.status]} ${r.title}`];
  if (dryRun && r.status === 'would') lines.push(...r.commands.map((c) => `        $ ${c}`));
  if (r.detail !== undefined) lines.push(`        ${r.status === 'failed' ? 'error: ' : ''}${r.detail}`);
  return `${lines.join('\n')}\n`;
}

/** Everything after the steps: problems, the state the host is left in, doctor, the last line. */
export function renderEnd(r: SetupReport): string {
  const what = r.undo ? `setup ${r.vrf} --undo` : `setup ${r.vrf}`;
  if (r.problems.length > 0) {
    return `${r.problems.map((p) => `FAIL  ${p}`).join('\n')}\n${what}: nothing was changed (${r.problems.length} problem${r.problems.length === 1 ? '' : 's'} above)\n`;
  }
  const out: string[] = [];
  if (r.failed) {
    const done = r.steps.filter((s) => s.status === 'changed').map((s) => s.id);
    out.push(`${what} stopped at the failed step. Done before it: ${done.length > 0 ? done.join(', ') : 'nothing'}; the steps after it did not run.`);
    out.push(r.undo ? 'Fix the cause and run the same command again: it picks up where it stopped.'
      : `Fix the cause and run setup again (it skips what is done), or take back what it did: vrf-resolver setup ${r.vrf} --undo`);
  }
  if (r.doctor !== null) out.push(`doctor (${r.vrf} and the default VRF):`, renderFindings(r.doctor).trimEnd());
  const n = r.changed === 0 ? 'nothing to change' : `${r.changed} change${r.changed === 1 ? '' : 's'}${r.dryRun ? ' to make (dry run: nothing was changed)' : ''}`;
  const tail = r.doctor === null ? '' : `; doctor: ${r.doctor.summary.fail === 0 ? 'no FAIL' : `${r.doctor.summary.fail} FAIL`}`;
  out.push(`${what}: ${r.failed ? 'FAILED' : n}${tail}`);
  return `${out.join('\n')}\n`;
}
