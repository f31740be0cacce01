// The shape of one `vrf-resolver COMMAND`: everything the parser, the help texts and the README
// need to know about it, plus what it does. Each command is one module in cli/commands/ that
// exports a CommandSpec; cli/table.ts lists them. Adding a command touches that table only.

import type { FlagSpec } from '../config/schema.js';

/** Exit codes shared by every command (sysexits.h where one fits). */
export const EXIT = {
  OK: 0,
  /** A runtime failure, or the instance answered a request with an error. */
  FAILURE: 1,
  /** The command line is wrong (EX_USAGE is 64 in sysexits.h; we keep 2, as getopt tools do). */
  USAGE: 2,
  /** The operator commands: no such instance is running. */
  NO_INSTANCE: 3,
  /** The configuration is invalid (EX_CONFIG); the unit does not restart on it. */
  CONFIG: 78,
} as const;

/**
 * A flag: the schema's FlagSpec (name, value placeholder, repeatable, one help line), so the
 * flags of `run` are the schema's own objects. A flag without `arg` is a switch.
 */
export interface FlagDef extends FlagSpec {
  /** One letter, for `-x`. */
  readonly short?: string;
  /** Shown under the help line in parentheses: where else it is set, its default. */
  readonly note?: string;
}

/** What the parser may ask about the host while it binds operands (tests pass their own). */
export interface ParseContext {
  /** True when an instance of this name has a control socket (it may still not answer). */
  instanceExists(name: string): boolean;
}

/**
 * A positional argument. Optional operands make a command line ambiguous ("query mgmt A"); the
 * parser tries every way to bind the words, drops those where a `check` fails, and takes the
 * one with the most operands whose `prefers` says yes; on a tie, the optional operands nearer
 * the end are filled first.
 */
export interface Operand {
  /** The placeholder in usage lines: INSTANCE, NAME, TYPE. */
  readonly name: string;
  /** For messages: "needs a domain name", "takes one file". */
  readonly noun: string;
  /** One line for the help's Arguments section. */
  readonly help: string;
  readonly optional?: boolean;
  /** Long names of flags that stand in for this operand: when one is given it is not expected. */
  readonly absentWith?: readonly string[];
  /** Why this word cannot be this operand (it is a usage error), or null. */
  readonly check?: (word: string) => string | null;
  /** Whether this operand is the likelier reading of the word, to tell optional operands apart. */
  readonly prefers?: (word: string, ctx: ParseContext) => boolean;
}

/** A command line after parsing: the flags' values and the operands, by name. */
export interface Parsed {
  readonly command: string;
  /** By long name without "--": every value of a flag with a value, true for a switch given. */
  readonly values: Readonly<Record<string, readonly string[] | true | undefined>>;
  /** By operand name; only those given. */
  readonly operands: Readonly<Record<string, string | undefined>>;
  /** The instance named by --instance NAME or the INSTANCE operand. */
  readonly instance?: string;
}

/** Where a command reads and writes; main passes the real ones, tests their own. */
export interface CommandEnv {
  /** Where the instances' control sockets are (CONTROL_DIR). */
  readonly controlDir: string;
  /** Where --instance NAME finds NAME.conf (/etc/vrf-resolver). */
  readonly configDir: string;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

export interface CommandSpec {
  readonly name: string;
  /** One line for the command list (top-level help, README). */
  readonly summary: string;
  /** "vrf-resolver status [INSTANCE] [--json]", one per form. */
  readonly usage: readonly string[];
  /** Paragraphs for `help COMMAND`; one starting with two spaces is printed as it is. */
  readonly description: readonly string[];
  readonly flags: readonly FlagDef[];
  readonly operands: readonly Operand[];
  /**
   * 'flag': --instance NAME (the unit's command lines); 'operand': also the INSTANCE operand,
   * which must be the first of `operands`. The parser adds --instance and checks the name.
   */
  readonly instance: 'none' | 'flag' | 'operand';
  /** Said after "takes no arguments" when a stray word is given (`run mgmt.conf`). */
  readonly strayHint?: string;
  /** A rule across flags and operands; the message of a usage error, or null. */
  readonly validate?: (parsed: Parsed) => string | null;
  /** Paragraphs for `help COMMAND` after the flags. */
  readonly seeAlso?: readonly string[];
  /** Help topics this command's help also covers (`help config`). */
  readonly topics?: readonly string[];
  /** Does the work; resolves with the exit code. */
  run(parsed: Parsed, env: CommandEnv): Promise<number>;
}

/** The last value of a flag with a value (scalars are given once; the parser checks). */
export function lastValue(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return Array.isArray(v) ? v[v.length - 1] : undefined;
}

/** Every value of a repeatable flag, in order; undefined when not given. */
export function allValues(p: Parsed, name: string): readonly string[] | undefined {
  const v = p.values[name];
  return Array.isArray(v) ? v : undefined;
}

export function isSet(p: Parsed, name: string): boolean {
  return p.values[name] !== undefined;
}
