// Help texts for network engineers, generated from the command table (cli/table.ts) and the
// config schema: every command, flag, default and bound comes from there, so the help cannot
// drift from what the parser accepts and loadConfig does.

import { OPTION_KEYS, OPTIONS, formatBounds, formatDefault, optionSpec } from '../config/schema.js';
import { formatEndpoint, parseEndpoint } from '../config/endpoint.js';
import { CONFIG_DIR } from '../systemd/instance.js';
import type { CommandSpec, FlagDef } from './command.js';
import { COMMANDS, findCommand } from './table.js';
import { sentenceList } from './text.js';

const WIDTH = 78;
/** Where help texts start the description of a flag, an argument or a command. */
const COLUMN = 31;

/** The text for `vrf-resolver help [TOPIC]`; undefined for a topic we have no help for. */
export function helpText(topic?: string): string | undefined {
  if (topic === undefined) return topLevelHelp();
  if (topic === 'config') return configHelp();
  const spec = findCommand(topic);
  return spec === undefined ? undefined : commandHelp(spec);
}

export function topLevelHelp(): string {
  const quoted = (kind: CommandSpec['instance']): string =>
    sentenceList(COMMANDS.filter((c) => c.instance === kind).map((c) => `"${c.name}"`));
  return `vrf-resolver: a caching DNS forwarder for Linux VRFs

One instance per VRF. It answers on ${defaultListeners()} (UDP and TCP)
inside the VRF and asks the upstream servers through sockets bound to the VRF
device, so "nameserver 127.0.0.1" in /etc/resolv.conf works in every VRF
(ip vrf exec mgmt ...), with an instance for the default VRF beside them.

Usage: vrf-resolver COMMAND [ARGUMENTS] [FLAGS]

Commands:
${COMMANDS.map((c) => entry(commandUsage(c), c.summary, '')).join('\n')}

${wrap(`${quoted('flag')} also take --instance NAME, as the unit vrf-resolver@NAME does: ` +
  `config ${CONFIG_DIR}/NAME.conf (optional) plus its drop-ins, and NAME as the VRF ("default": the default VRF).`)}

${wrap(`${quoted('operand')} talk to a running instance over its control socket. ` +
  'INSTANCE is its VRF, or "default", as in vrf-resolver@INSTANCE; it may be left out when one instance runs.')}

Example, a resolver for the management VRF "mgmt":
  ip addr add 127.0.0.1/8 dev mgmt; ip addr add ::1/128 dev mgmt
  vrf-resolver run --vrf mgmt --upstream 192.0.2.53
  ip vrf exec mgmt dig @127.0.0.1 example.com
  vrf-resolver status mgmt

Config files: ${CONFIG_DIR}/NAME.conf, a [Resolve] section as in
resolved.conf, plus drop-ins ${CONFIG_DIR}/NAME.conf.d/*.conf.
As a service, one instance per VRF:
  systemctl enable --now vrf-resolver@NAME

Flags:
  -h, --help           this help ("vrf-resolver help COMMAND" for a command's)
  -V, --version        print the version
`;
}

/** `help COMMAND` and `COMMAND --help`. */
export function commandHelp(spec: CommandSpec): string {
  const lines = spec.usage.map((u, i) => `${i === 0 ? 'Usage: ' : '       '}${u}`);
  lines.push('', ...paragraphs(spec.description));
  if (spec.operands.length > 0) {
    lines.push('', 'Arguments:', ...spec.operands.map((o) => entry(o.name, o.help, '')));
  }
  lines.push('', 'Flags:');
  if (spec.instance === 'flag') {
    lines.push(entry('--instance NAME', `the unit's instance: --vrf NAME plus ${CONFIG_DIR}/NAME.conf if it exists`, 'default: none'));
  } else if (spec.instance === 'operand') {
    lines.push(entry('--instance NAME', 'the instance, as INSTANCE', ''));
  }
  for (const f of spec.flags) lines.push(entry(flagUsage(f), f.help, f.note ?? ''));
  lines.push(entry('-h, --help', 'this help', ''));
  if (spec.seeAlso) lines.push('', ...paragraphs(spec.seeAlso));
  return lines.join('\n') + '\n';
}

export function runHelp(): string {
  return commandHelp(findCommand('run')!);
}

export function checkConfigHelp(): string {
  return commandHelp(findCommand('check-config')!);
}

/** Every key of the [Resolve] section, with its default, bounds and documentation. */
export function configHelp(): string {
  const lines = [
    wrap(`Config file keys (${CONFIG_DIR}/NAME.conf, section [Resolve]; syntax as in resolved.conf(5)). ` +
      'Drop-ins in NAME.conf.d/*.conf are read after it, in lexical order.'),
    '',
  ];
  for (const key of OPTION_KEYS) {
    const spec = optionSpec(key);
    const bounds = formatBounds(spec);
    const flag = spec.flag ? `, flag ${spec.flag.name}` : '';
    lines.push(wrap(`${key}=  (default: ${formatDefault(spec)}${bounds ? `; ${bounds}` : ''}${flag})`, '      ').trimStart());
    lines.push(wrap(spec.doc, '    '), '');
  }
  return lines.join('\n');
}

/** "query [INSTANCE] NAME [TYPE]": the command and its operands. */
export function commandUsage(spec: CommandSpec): string {
  return [spec.name, ...spec.operands.map((o) => (o.optional ? `[${o.name}]` : o.name))].join(' ');
}

function defaultListeners(): string {
  return OPTIONS.Listen.default
    .map((a) => parseEndpoint(a, OPTIONS.Port.default))
    .map((p) => (p.ok ? formatEndpoint(p.value) : ''))
    .join(' and ');
}

function flagUsage(flag: FlagDef): string {
  const long = flag.arg ? `${flag.name} ${flag.arg}` : flag.name;
  return flag.short ? `-${flag.short}, ${long}` : long;
}

/** Paragraphs wrapped, a blank line between; one starting with two spaces kept as it is. */
function paragraphs(texts: readonly string[]): string[] {
  return texts.flatMap((t, i) => [...(i > 0 && !t.startsWith('  ') ? [''] : []), t.startsWith('  ') ? t : wrap(t)]);
}

function entry(usage: string, help: string, note: string): string {
  const indent = ' '.repeat(COLUMN);
  const head = `  ${usage}`.padEnd(COLUMN);
  const body = wrap(help, indent).trimStart();
  const first = head.length > COLUMN ? `${head.trimEnd()}\n${indent}${body}` : `${head}${body}`;
  return note ? `${first}\n${wrap(`(${note})`, indent)}` : first;
}

function wrap(text: string, indent = ''): string {
  const out: string[] = [];
  let line = indent;
  for (const word of text.split(/\s+/)) {
    if (line.trim() !== '' && line.length + 1 + word.length > WIDTH) {
      out.push(line);
      line = indent;
    }
    line += line.trim() === '' ? word : ` ${word}`;
  }
  out.push(line);
  return out.join('\n');
}
