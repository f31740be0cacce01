// The command line: `vrf-resolver COMMAND [FLAGS]`. Parsing only checks the shape (known
// flags, values present, no stray arguments); the values themselves are validated by
// loadConfig together with the file, so every problem is reported in one pass with its flag.

import { parseArgs as nodeParseArgs } from 'node:util';
import type { CliFlags } from '../config/load.js';

export type Command =
  | { readonly kind: 'run'; readonly configFile?: string; readonly flags: CliFlags }
  | { readonly kind: 'check-config'; readonly configFile: string; readonly flags: CliFlags }
  | { readonly kind: 'help'; readonly topic?: string }
  | { readonly kind: 'version' }
  | { readonly kind: 'usage-error'; readonly message: string };

export const COMMANDS = ['run', 'check-config', 'help'] as const;
/** What `vrf-resolver help TOPIC` knows: the commands, and `config` (every file key). */
export const HELP_TOPICS: readonly string[] = [...COMMANDS, 'config'];

// The flags of `run` (and of `check-config`, so it checks exactly what `run` would start).
// Scalars are declared `multiple` too, so a repeated one is caught instead of silently
// keeping the last.
const FLAG_OPTIONS = {
  vrf: { type: 'string', multiple: true },
  listen: { type: 'string', multiple: true },
  port: { type: 'string', multiple: true },
  upstream: { type: 'string', multiple: true },
  'upstream-device': { type: 'string', multiple: true },
  'resolv-conf': { type: 'string', multiple: true },
  config: { type: 'string', multiple: true },
  'no-cache': { type: 'boolean' },
  'log-level': { type: 'string', multiple: true },
  'allow-from': { type: 'string', multiple: true },
  control: { type: 'string', multiple: true },
  metrics: { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;

const REPEATABLE = new Set(['listen', 'upstream', 'allow-from']);

/** `argv` without the node binary and script: process.argv.slice(2). */
export function parseArgs(argv: readonly string[]): Command {
  const [first, ...rest] = argv;
  if (first === undefined) {
    return usage('no command given; commands: run, check-config, help (try "vrf-resolver --help")');
  }
  if (first === '--help' || first === '-h') return { kind: 'help' };
  if (first === '--version' || first === '-V') return { kind: 'version' };
  if (first === 'help') return helpCommand(rest);
  if (first === 'run' || first === 'check-config') return commandWithFlags(first, rest);
  if (first.startsWith('-')) {
    return usage(`unknown option ${first}; flags go after the command, e.g. "vrf-resolver run ${first} ..." (see "vrf-resolver --help")`);
  }
  return usage(`unknown command "${first}"; commands: ${COMMANDS.join(', ')} (see "vrf-resolver --help")`);
}

function helpCommand(rest: readonly string[]): Command {
  const [topic, ...extra] = rest;
  if (topic === undefined) return { kind: 'help' };
  if (extra.length > 0) return usage(`"help" takes one topic, got "${rest.join(' ')}"`);
  if (!HELP_TOPICS.includes(topic)) {
    return usage(`no help for "${topic}"; topics: ${HELP_TOPICS.join(', ')}`);
  }
  return { kind: 'help', topic };
}

function commandWithFlags(command: 'run' | 'check-config', args: readonly string[]): Command {
  let parsed;
  try {
    parsed = nodeParseArgs({ args: [...args], options: FLAG_OPTIONS, strict: true, allowPositionals: true });
  } catch (err) {
    return usage(describeParseError(command, err));
  }
  const { values, positionals } = parsed;
  if (values.help === true) return { kind: 'help', topic: command };

  for (const [name, value] of Object.entries(values)) {
    if (Array.isArray(value) && value.length > 1 && !REPEATABLE.has(name)) {
      return usage(`--${name} given ${value.length} times; give it once (only --listen, --upstream and --allow-from repeat)`);
    }
  }
  const last = (v: readonly string[] | undefined): string | undefined => v?.[v.length - 1];
  const flags: CliFlags = {
    ...(values.vrf && { vrf: last(values.vrf) }),
    ...(values.listen && { listen: values.listen }),
    ...(values.port && { port: last(values.port) }),
    ...(values.upstream && { upstream: values.upstream }),
    ...(values['upstream-device'] && { upstreamDevice: last(values['upstream-device']) }),
    ...(values['resolv-conf'] && { resolvConf: last(values['resolv-conf']) }),
    ...(values['no-cache'] === true && { noCache: true }),
    ...(values['log-level'] && { logLevel: last(values['log-level']) }),
    ...(values['allow-from'] && { allowFrom: values['allow-from'] }),
    ...(values.control && { control: last(values.control) }),
    ...(values.metrics && { metrics: last(values.metrics) }),
  };
  const configFile = last(values.config);

  if (command === 'run') {
    if (positionals.length > 0) {
      return usage(`"run" takes no arguments, got "${positionals.join(' ')}"; a config file is given with --config FILE`);
    }
    return configFile === undefined ? { kind: 'run', flags } : { kind: 'run', configFile, flags };
  }
  if (configFile !== undefined) {
    return usage('"check-config" takes the file as its argument: vrf-resolver check-config FILE [--vrf NAME]');
  }
  const [file, ...extra] = positionals;
  if (file === undefined) return usage('"check-config" needs a file: vrf-resolver check-config FILE [--vrf NAME]');
  if (extra.length > 0) return usage(`"check-config" takes one file, got "${positionals.join(' ')}"`);
  return { kind: 'check-config', configFile: file, flags };
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

function usage(message: string): Command {
  return { kind: 'usage-error', message };
}
