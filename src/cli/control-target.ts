// How the operator commands (status, statistics, flush-caches, log-level, query) find the
// instance they talk to, and what they say when it is not there. An instance is named as its
// unit is (vrf-resolver@INSTANCE: the VRF, or "default"), by --instance NAME, or by its control
// socket (--control PATH); with none named and exactly one running, that one is meant.

import { basename } from 'node:path';
import { controlRequest, findInstances, socketPathFor } from '../control/client.js';
import type { ControlRequest } from '../control/protocol.js';
import { ControlError } from '../errors.js';
import { instanceProblem } from '../systemd/instance.js';
import { EXIT, isSet, lastValue, type CommandEnv, type FlagDef, type Operand, type Parsed } from './command.js';

export const INSTANCE_OPERAND: Operand = {
  name: 'INSTANCE',
  noun: 'instance',
  optional: true,
  absentWith: ['instance', 'control'],
  help: 'the VRF name, or "default", as in vrf-resolver@INSTANCE; may be left out when one instance runs',
  check: instanceProblem,
};

export const CONTROL_FLAG: FlagDef = {
  name: '--control',
  arg: 'PATH',
  help: 'talk to the instance at this control socket (ControlSocket=)',
  note: 'default: /run/vrf-resolver/INSTANCE.sock',
};

export const JSON_FLAG: FlagDef = { name: '--json', help: 'print the result as JSON, as the instance reports it' };

/** For validate: --instance and --control name the same thing twice. */
export function oneWayToName(p: Parsed): string | null {
  return isSet(p, 'control') && p.instance !== undefined ? 'give INSTANCE (or --instance NAME) or --control PATH, not both' : null;
}

export interface Target {
  /** The instance's name, or for --control PATH the socket's file name without ".sock". */
  readonly instance: string;
  readonly path: string;
  /** Named by --control PATH rather than by its instance name. */
  readonly byPath: boolean;
}

export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly code: number; readonly message: string };

/**
 * The instances the command talks to. With none named: the one running instance, or with
 * several every one (`several: 'all'`, for status and statistics) or a usage error that lists them.
 */
export async function targetsOf(p: Parsed, env: CommandEnv, several: 'all' | 'one'): Promise<Outcome<{ targets: Target[]; many: boolean }>> {
  const control = lastValue(p, 'control');
  if (control !== undefined) return { ok: true, value: { targets: [{ instance: basename(control).replace(/\.sock$/, ''), path: control, byPath: true }], many: false } };
  if (p.instance !== undefined) return { ok: true, value: { targets: [{ instance: p.instance, path: socketPathFor(p.instance, env.controlDir), byPath: false }], many: false } };
  const found = await findInstances(env.controlDir);
  const running = found.filter((f) => f.running).map((f) => ({ instance: f.instance, path: f.path, byPath: false }));
  if (running.length === 0) {
    const stale = found.map((f) => basename(f.path));
    const left = stale.length > 0 ? `\n${stale.join(', ')} in ${env.controlDir}: left by stopped instances, nothing answers there.` : '';
    return { ok: false, code: EXIT.NO_INSTANCE, message: `no vrf-resolver instance is running (no control socket answers in ${env.controlDir}).${left}\n${howToStart(null)}` };
  }
  if (running.length === 1) return { ok: true, value: { targets: running, many: false } };
  if (several === 'all') return { ok: true, value: { targets: running, many: true } };
  return {
    ok: false,
    code: EXIT.USAGE,
    message: `several instances are running (${running.map((r) => r.instance).join(', ')}); name one: vrf-resolver ${p.command} INSTANCE ...`,
  };
}

/**
 * One request to one instance. A socket nobody answers on is exit 3 with the running instances
 * and how to start this one; any other failure (no permission, no reply, an error reply) is 1.
 */
export async function ask(target: Target, request: ControlRequest, env: CommandEnv): Promise<Outcome<unknown>> {
  try {
    return { ok: true, value: await controlRequest(target.path, request) };
  } catch (e) {
    if (!(e instanceof ControlError)) throw e;
    if (e.code === 'VR_ERR_CONTROL_UNAVAILABLE' && notListening(e.cause)) {
      return { ok: false, code: EXIT.NO_INSTANCE, message: await notRunning(target, env) };
    }
    const who = e.code === 'VR_ERR_CONTROL_REQUEST' ? `instance ${target.instance}: ` : '';
    return { ok: false, code: EXIT.FAILURE, message: `${who}${e.message}` };
  }
}

/** Writes the failure to stderr and returns its exit code. */
export function report(env: CommandEnv, failure: { readonly code: number; readonly message: string }): number {
  env.stderr(`vrf-resolver: ${failure.message}\n`);
  return failure.code;
}

/** JSON as the commands print it: indented for people, one document for jq. */
export function printJson(env: CommandEnv, value: unknown): void {
  env.stdout(`${JSON.stringify(value, null, 2)}\n`);
}

function notListening(cause: unknown): boolean {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ECONNREFUSED';
}

async function notRunning(target: Target, env: CommandEnv): Promise<string> {
  const running = (await findInstances(env.controlDir)).filter((f) => f.running).map((f) => f.instance);
  const named = !target.byPath;
  const head = named
    ? `instance "${target.instance}" is not running: nothing answers at ${target.path}.`
    : `no instance is running at ${target.path}.`;
  const others = `Running instances${named ? '' : ` (in ${env.controlDir})`}: ${running.length > 0 ? running.join(', ') : 'none'}.`;
  return `${head}\n${others}\n${howToStart(named ? target.instance : null, named ? undefined : target.path)}`;
}

function howToStart(instance: string | null, controlPath?: string): string {
  const unit = instance ?? 'NAME';
  const vrf = instance === 'default' ? '' : ` --vrf ${instance ?? 'NAME'}`;
  const control = controlPath === undefined ? '' : ` --control ${controlPath}`;
  const what = instance === null ? ` (NAME: the VRF, or "default")` : '';
  const lead = `Start ${instance === null ? 'one' : 'it'}:`;
  return `${lead} systemctl start vrf-resolver@${unit}${what}\n${'or:'.padStart(lead.length)} vrf-resolver run${vrf} --upstream ADDR${control}`;
}

/**
 * Sends one request to every target and shows what came back: an array of reports with --json
 * when several instances were meant, else one; the human renderer otherwise. A failing instance
 * is reported and the others are still shown; the first failure's code is the exit code.
 */
export async function showEach<T>(
  p: Parsed,
  env: CommandEnv,
  request: ControlRequest,
  renderHuman: (r: T) => string,
): Promise<number> {
  const t = await targetsOf(p, env, 'all');
  if (!t.ok) return report(env, t);
  const reports: T[] = [];
  let code: number = EXIT.OK;
  for (const target of t.value.targets) {
    const r = await ask(target, request, env);
    if (r.ok) reports.push(r.value as T);
    else {
      const failed = report(env, r);
      if (code === EXIT.OK) code = failed;
    }
  }
  if (isSet(p, 'json')) {
    if (t.value.many) printJson(env, reports);
    else if (reports[0] !== undefined) printJson(env, reports[0]);
  } else {
    env.stdout(reports.map(renderHuman).join('\n'));
  }
  return code;
}

/** One request to the one instance meant, its result printed as JSON (--json) or by `renderHuman`. */
export async function showOne<T>(
  p: Parsed,
  env: CommandEnv,
  request: ControlRequest,
  renderHuman: (result: T, target: Target) => string,
): Promise<number> {
  const t = await targetsOf(p, env, 'one');
  if (!t.ok) return report(env, t);
  const target = t.value.targets[0]!;
  const r = await ask(target, request, env);
  if (!r.ok) return report(env, r);
  if (isSet(p, 'json')) printJson(env, r.value);
  else env.stdout(renderHuman(r.value as T, target));
  return EXIT.OK;
}
