// Carrying out a plan (plan.ts): each step's actions in order, the state file kept current, and
// one result per step for the output. A failed action stops the run there; what was done so far
// is in the state file, so --undo can take it back.
//
// When the state is written: a setup step records what it will change *before* changing it (the
// original resolv.conf must be saved before it is replaced); an undo step records after, once
// the thing is back.

import { setTimeout as sleep } from 'node:timers/promises';
import { controlRequest, socketPathFor } from '../control/client.js';
import type { StatusReport } from '../control/types.js';
import { runProblem } from '../host/io.js';
import { probeInstance, type Probe } from '../host/probe.js';
import type { SetupIo } from './io.js';
import type { Action, Step } from './plan.js';
import { isEmptyState, type SetupState } from './state.js';

/** Under qemu TCG a Node instance takes a minute to start; on real hardware a second. */
const START_TIMEOUT_MS = 300_000;
const WAIT_ANSWER_MS = 120_000;

export type StepStatus = 'changed' | 'unchanged' | 'would' | 'failed' | 'not-run';

export interface StepResult {
  readonly id: string;
  readonly status: StepStatus;
  readonly title: string;
  /** The actions as commands an operator could type. */
  readonly commands: readonly string[];
  /** What the step found out (a reply's rcode) or why it failed. */
  readonly detail?: string;
}

export interface ApplyOptions {
  readonly io: SetupIo;
  readonly stateFile: string;
  readonly controlDir: string;
  readonly dryRun: boolean;
  /** Setup records before acting, undo after (see the top of this file). */
  readonly recordFirst: boolean;
  /** Called with each result as it is known (the human output streams). */
  readonly onStep: (r: StepResult) => void;
  /** Resolves with what the instance answered once it does (default: its control socket, then a query inside its VRF). */
  readonly waitAnswering?: (instance: string) => Promise<string>;
}

export interface Applied {
  readonly results: readonly StepResult[];
  readonly failed: boolean;
  readonly state: SetupState;
}

export function describeAction(a: Action): string {
  switch (a.kind) {
    case 'write':
      return `write ${a.path} (mode ${a.mode.toString(8).padStart(4, '0')})`;
    case 'symlink':
      return `ln -sfn ${a.target} ${a.path}`;
    case 'remove':
      return `rm -f ${a.path}`;
    case 'systemctl':
      return `systemctl ${a.args.join(' ')}`;
    case 'wait':
      return `wait until vrf-resolver@${a.instance} answers a query sent inside its VRF`;
  }
}

export async function applySteps(steps: readonly Step[], state0: SetupState, o: ApplyOptions): Promise<Applied> {
  let state = state0;
  const results: StepResult[] = [];
  const emit = (r: StepResult): void => {
    results.push(r);
    o.onStep(r);
  };
  const save = async (next: SetupState): Promise<void> => {
    if (JSON.stringify(next) === JSON.stringify(state)) return;
    state = next;
    if (isEmptyState(state)) await o.io.remove(o.stateFile);
    else await o.io.writeFile(o.stateFile, `${JSON.stringify(state, null, 2)}\n`, 0o644);
  };
  for (const [i, step] of steps.entries()) {
    const commands = step.actions.map(describeAction);
    if (!step.change) {
      if (!o.dryRun) await save(step.record(state));
      emit({ id: step.id, status: 'unchanged', title: step.title, commands });
      continue;
    }
    if (o.dryRun) {
      emit({ id: step.id, status: 'would', title: step.title, commands });
      continue;
    }
    const details: string[] = [];
    try {
      if (o.recordFirst) await save(step.record(state));
      for (const a of step.actions) {
        const said = await act(a, o);
        if (said !== null) details.push(said);
      }
      if (!o.recordFirst) await save(step.record(state));
    } catch (e) {
      emit({ id: step.id, status: 'failed', title: step.title, commands, detail: (e as Error).message });
      for (const rest of steps.slice(i + 1)) emit({ id: rest.id, status: 'not-run', title: rest.title, commands: rest.actions.map(describeAction) });
      return { results, failed: true, state };
    }
    emit({ id: step.id, status: 'changed', title: step.title, commands, ...(details.length > 0 && { detail: details.join('; ') }) });
  }
  return { results, failed: false, state };
}

/** One action; what it found out worth saying, or null. Throws with the reason and what to look at. */
async function act(a: Action, o: ApplyOptions): Promise<string | null> {
  switch (a.kind) {
    case 'write':
      await o.io.writeFile(a.path, a.text, a.mode);
      return null;
    case 'symlink':
      await o.io.symlink(a.path, a.target);
      return null;
    case 'remove':
      await o.io.remove(a.path);
      return null;
    case 'systemctl': {
      const r = await o.io.run('systemctl', a.args, START_TIMEOUT_MS);
      if (r.code === 0) return null;
      const units = a.args.filter((x) => x.includes('.'));
      const look = units.length > 0 ? `; see: systemctl status ${units.join(' ')}; journalctl -b -u ${units[0]!}` : '';
      throw new Error(`${runProblem('systemctl', a.args, r)}${look}`);
    }
    case 'wait':
      return `vrf-resolver@${a.instance} answers (${await (o.waitAnswering ?? ((i) => waitAnswering(i, o.controlDir, probeInstance)))(a.instance)})`;
  }
}

/** Until the instance's control socket gives its status and a query sent inside its VRF gets a reply (any rcode). */
async function waitAnswering(instance: string, controlDir: string, probe: Probe): Promise<string> {
  const deadline = Date.now() + WAIT_ANSWER_MS;
  let last = 'no try yet';
  for (let tries = 0; Date.now() < deadline && tries < WAIT_ANSWER_MS / 500; tries++) {
    try {
      const status = (await controlRequest(socketPathFor(instance, controlDir), { command: 'status' }, 5000)) as StatusReport;
      const p = await probe(status);
      if (p.rcode.ok) return `${p.to}: ${p.rcode.value}`;
      last = `${p.to}: ${p.rcode.why}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(500);
  }
  throw new Error(`vrf-resolver@${instance} did not answer within ${WAIT_ANSWER_MS / 1000} s (${last}); see: vrf-resolver doctor ${instance}; journalctl -b -u vrf-resolver@${instance}`);
}
