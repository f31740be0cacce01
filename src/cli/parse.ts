// The one parser: `vrf-resolver COMMAND [FLAGS] [OPERANDS]` → the command's spec and its parsed
// values, or a usage error that says what to do and points at the command's help. Every
// command's flags and operands come from its spec (cli/commands/); the only command it knows by
// name is help, whose topic becomes the same help request as `TOPIC --help`. Values are checked
// only for shape here; `run`'s values are validated by loadConfig with the file, every problem
// at once.

import { existsSync } from 'node:fs';
import { parseArgs as nodeParseArgs } from 'node:util';
import { socketPathFor } from '../control/client.js';
import { CONTROL_DIR } from '../config/schema.js';
import { instanceProblem } from '../systemd/instance.js';
import type { CommandSpec, FlagDef, Operand, ParseContext, Parsed } from './command.js';
import { commandNames, findCommand } from './table.js';
import { sentenceList } from './text.js';

export type ParseResult =
  | { readonly kind: 'command'; readonly spec: CommandSpec; readonly parsed: Parsed }
  /** `--help`, `help [TOPIC]`, `COMMAND --help`: main prints helpText(topic). */
  | { readonly kind: 'help'; readonly topic?: string }
  | { readonly kind: 'version' }
  | { readonly kind: 'usage-error'; readonly message: string };

const INSTANCE_FLAG: FlagDef = { name: '--instance', arg: 'NAME', help: '' };
const HELP_FLAG: FlagDef = { name: '--help', short: 'h', help: '' };

/** The parse context of the running host: an instance exists when its control socket does. */
export function hostContext(controlDir = CONTROL_DIR): ParseContext {
  return { instanceExists: (name) => instanceProblem(name) === null && existsSync(socketPathFor(name, controlDir)) };
}

/** `argv` without the node binary and script: process.argv.slice(2). */
export function parse(argv: readonly string[], ctx: ParseContext = hostContext()): ParseResult {
  const [first, ...rest] = argv;
  if (first === undefined) return usage(`no command given; commands: ${commandNames().join(', ')} (try "vrf-resolver --help")`);
  if (first === '--help' || first === '-h') return { kind: 'help' };
  if (first === '--version' || first === '-V') return { kind: 'version' };
  if (first.startsWith('-')) {
    return usage(`unknown option ${first}; flags go after the command, e.g. "vrf-resolver run ${first} ..." (see "vrf-resolver --help")`);
  }
  const spec = findCommand(first);
  if (spec === undefined) return usage(`unknown command "${first}"; commands: ${commandNames().join(', ')} (see "vrf-resolver --help")`);
  const r = parseCommand(spec, rest, ctx);
  if (r.kind !== 'command' || spec.name !== 'help') return r;
  // `help TOPIC` is the same request as `TOPIC --help`: one path prints every help text.
  const topic = r.parsed.operands['COMMAND'];
  return topic === undefined ? { kind: 'help' } : { kind: 'help', topic };
}

function parseCommand(spec: CommandSpec, args: readonly string[], ctx: ParseContext): ParseResult {
  const flags = [...spec.flags, ...(spec.instance === 'none' ? [] : [INSTANCE_FLAG]), HELP_FLAG];
  let parsed;
  try {
    parsed = nodeParseArgs({ args: [...args], options: nodeOptions(flags), strict: true, allowPositionals: true });
  } catch (err) {
    return usage(describeParseError(spec.name, err));
  }
  const { values, positionals } = parsed;
  if (values['help'] === true) return { kind: 'help', topic: spec.name };
  const seeHelp = `see "vrf-resolver help ${spec.name}"`;

  const repeatable = spec.flags.filter((f) => f.repeatable).map((f) => f.name);
  for (const f of spec.flags) {
    const v = values[f.name.slice(2)];
    if (Array.isArray(v) && v.length > 1 && !f.repeatable) {
      const only = repeatable.length > 0 ? ` (only ${sentenceList(repeatable)} repeat)` : '';
      return usage(`${f.name} given ${v.length} times; give it once${only}; ${seeHelp}`);
    }
  }
  const instanceValues = values['instance'] as string[] | undefined;
  let instance: string | undefined;
  if (instanceValues !== undefined) {
    if (instanceValues.length > 1) return usage(`--instance given twice; give it once; ${seeHelp}`);
    instance = instanceValues[0] ?? '';
    if (instance === '') return usage(`--instance needs a name (--instance NAME, the VRF of the unit vrf-resolver@NAME); ${seeHelp}`);
    const problem = instanceProblem(instance);
    if (problem !== null) return usage(`--instance: ${problem}; ${seeHelp}`);
  }

  const given = new Set(Object.keys(values).filter((k) => values[k] !== undefined));
  const label = instance === undefined ? spec.name : `${spec.name} --instance`;
  const bound = bindOperands(spec, label, positionals, given, ctx);
  if (typeof bound === 'string') return usage(bound);
  if (bound['INSTANCE'] !== undefined) instance = bound['INSTANCE'];

  const out: Record<string, readonly string[] | true | undefined> = {};
  for (const f of flags) {
    const key = f.name.slice(2);
    if (key === 'help' || key === 'instance') continue;
    const v = values[key];
    if (v !== undefined && v !== false) out[key] = v === true ? true : (v as string[]);
  }
  const result: Parsed = { command: spec.name, values: out, operands: bound, ...(instance !== undefined && { instance }) };
  const problem = spec.validate?.(result) ?? null;
  if (problem !== null) return usage(`${problem}; ${seeHelp}`);
  return { kind: 'command', spec, parsed: result };
}

// Strings are `multiple` too, so a repeated scalar is caught instead of silently keeping the last.
function nodeOptions(flags: readonly FlagDef[]) {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
  for (const f of flags) {
    options[f.name.slice(2)] = f.arg
      ? { type: 'string', multiple: true, ...(f.short && { short: f.short }) }
      : { type: 'boolean', ...(f.short && { short: f.short }) };
  }
  return options;
}

/**
 * The words bound to the command's operands, by name, or the usage error. See Operand for how
 * an ambiguous line is read.
 */
function bindOperands(spec: CommandSpec, label: string, words: readonly string[], given: ReadonlySet<string>, ctx: ParseContext): Record<string, string> | string {
  const ops = spec.operands.filter((o) => !(o.absentWith ?? []).some((f) => given.has(f)));
  const required = ops.filter((o) => !o.optional);
  const seeHelp = `see "vrf-resolver help ${spec.name}"`;
  if (words.length < required.length) {
    const missing = required[words.length]!;
    return `"${label}" needs ${article(missing.noun)} ${missing.noun} (${missing.name}): ${spec.usage[0] ?? ''}; ${seeHelp}`;
  }
  if (words.length > ops.length) {
    const got = `got "${words.join(' ')}"`;
    if (ops.length === 0) return `"${label}" takes no arguments, ${got}; ${spec.strayHint ? `${spec.strayHint}; ` : ''}${seeHelp}`;
    if (ops.length === 1) return `"${label}" takes one ${ops[0]!.noun}, ${got}; ${seeHelp}`;
    return `"${label}" takes at most ${ops.length} arguments (${ops.map((o) => o.name).join(' ')}), ${got}; ${seeHelp}`;
  }
  // Every choice of optional operands to fill, the ones nearest the end first.
  const optionalIdx = ops.flatMap((o, i) => (o.optional ? [i] : []));
  const choices = subsets(optionalIdx.slice().reverse(), words.length - required.length);
  const readings = choices.map((chosen) => {
    const filled = ops.filter((o, i) => !o.optional || chosen.includes(i));
    const problems = filled.flatMap((o, i) => {
      const p = o.check?.(words[i]!) ?? null;
      return p === null ? [] : [{ operand: o.name, message: p }];
    });
    const score = filled.filter((o, i) => o.prefers?.(words[i]!, ctx) === true).length;
    return { filled, problems, score };
  });
  const valid = readings.filter((r) => r.problems.length === 0);
  if (valid.length === 0) {
    if (readings.length === 1) return `${readings[0]!.problems[0]!.message}; ${seeHelp}`;
    const tried = readings.map((r) => `as ${r.filled.map((o) => o.name).join(' ')} (${r.problems[0]!.operand}: ${r.problems[0]!.message})`);
    return `cannot read "${words.join(' ')}" ${tried.join(', or ')}; ${seeHelp}`;
  }
  const best = valid.reduce((a, b) => (b.score > a.score ? b : a));
  return Object.fromEntries(best.filled.map((o: Operand, i) => [o.name, words[i]!]));
}

/** The k-element subsets of `items`, earlier items first (so the first subset is the preferred). */
function subsets(items: readonly number[], k: number): number[][] {
  if (k === 0) return [[]];
  const out: number[][] = [];
  items.forEach((item, i) => {
    for (const tail of subsets(items.slice(i + 1), k - 1)) out.push([item, ...tail]);
  });
  return out;
}

/** Node's parseArgs messages, rephrased for operators and pointing at the command's help. */
function describeParseError(command: string, err: unknown): string {
  const code = (err as { code?: string } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  const flag = /--[a-z][a-z-]*/.exec(message)?.[0] ?? /'(-[^' ]*)/.exec(message)?.[1] ?? '';
  const seeHelp = `see "vrf-resolver help ${command}"`;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const unknown = /Unknown option '([^']+)'/.exec(message)?.[1] ?? flag;
    return `unknown option ${unknown} for "${command}"; ${seeHelp}`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (message.includes('does not take an argument')) return `${flag} takes no value; ${seeHelp}`;
    return `${flag} needs a value (${flag}=VALUE or ${flag} VALUE); ${seeHelp}`;
  }
  return `${message.split('\n')[0] ?? message}; ${seeHelp}`;
}

function article(noun: string): string {
  return /^[aeiou]/i.test(noun) ? 'an' : 'a';
}

function usage(message: string): ParseResult {
  return { kind: 'usage-error', message };
}
