// Help texts for network engineers. Every default and bound comes from config/schema.ts, so
// the help cannot drift from what loadConfig does.

import { OPTION_KEYS, OPTIONS, formatBounds, formatDefault, optionSpec, type FlagSpec } from '../config/schema.js';
import { formatEndpoint, parseEndpoint } from '../config/endpoint.js';

const WIDTH = 78;
const CONFIG_DIR = '/etc/vrf-resolver';

/** The text for `vrf-resolver help [TOPIC]`; undefined for a topic we have no help for. */
export function helpText(topic?: string): string | undefined {
  switch (topic) {
    case undefined: case 'help': return topLevelHelp();
    case 'run': return runHelp();
    case 'check-config': return checkConfigHelp();
    case 'config': return configHelp();
    default: return undefined;
  }
}

export function topLevelHelp(): string {
  return `vrf-resolver: a caching DNS forwarder for Linux VRFs

One instance per VRF. It answers on ${defaultListeners()} (UDP and TCP)
inside the VRF and asks the upstream servers through sockets bound to the VRF
device, so "nameserver 127.0.0.1" in /etc/resolv.conf works in every VRF
(ip vrf exec mgmt ...), with an instance for the default VRF beside them.

Usage: vrf-resolver COMMAND [FLAGS]

Commands:
  run                  run the resolver for one VRF, in the foreground
  check-config FILE    validate a config file, print the effective settings
  ensure-loopback      add 127.0.0.1/8 and ::1/128 to the VRF device when
                       missing (needs CAP_NET_ADMIN; the unit runs it first)
  help [COMMAND]       help for run, check-config, or config (every file key)

"run", "check-config" and "ensure-loopback" also take --instance NAME, as the
unit vrf-resolver@NAME does: config ${CONFIG_DIR}/NAME.conf (optional) plus
its drop-ins, and NAME as the VRF ("default": the default VRF).

Example, a resolver for the management VRF "mgmt":
  ip addr add 127.0.0.1/8 dev mgmt; ip addr add ::1/128 dev mgmt
  vrf-resolver run --vrf mgmt --upstream 192.0.2.53
  ip vrf exec mgmt dig @127.0.0.1 example.com

Config files: ${CONFIG_DIR}/NAME.conf, a [Resolve] section as in
resolved.conf, plus drop-ins ${CONFIG_DIR}/NAME.conf.d/*.conf.
As a service, one instance per VRF:
  systemctl enable --now vrf-resolver@NAME

Flags:
  -h, --help           this help ("vrf-resolver help run" for the run flags)
  -V, --version        print the version
`;
}

export function runHelp(): string {
  const lines = [
    'Usage: vrf-resolver run [--config FILE] [FLAGS]',
    '',
    wrap('Runs the resolver for one VRF in the foreground; systemd runs it as vrf-resolver@NAME. ' +
      'Flags override the config file; a flag for a list (--listen, --upstream) replaces the list from the file.'),
    '',
    'Flags:',
    flagEntry('--config FILE', 'config file, a [Resolve] section; drop-ins in FILE.d/*.conf',
      'default: none'),
    flagEntry('--instance NAME', `the unit's instance: --vrf NAME plus ${CONFIG_DIR}/NAME.conf if it exists`,
      'default: none'),
  ];
  for (const key of OPTION_KEYS) {
    const spec = optionSpec(key);
    if (spec.flag) lines.push(flagEntry(flagUsage(spec.flag), spec.flag.help, `file: ${key}=, default: ${formatDefault(spec)}`));
  }
  lines.push(flagEntry('-h, --help', 'this help', ''));
  lines.push('', wrap('Cache sizes, TTL limits, timeouts and TCP limits are set in the config file only; ' +
    '"vrf-resolver help config" lists every key with its default.'), '');
  return lines.join('\n');
}

export function checkConfigHelp(): string {
  return [
    'Usage: vrf-resolver check-config FILE [FLAGS]',
    '       vrf-resolver check-config --instance NAME [FLAGS]',
    '',
    wrap('Reads FILE and its drop-ins (FILE.d/*.conf) and the same flags as "run", then prints every ' +
      'problem with its place (file:line key, or the flag), or a summary of the effective settings: ' +
      'the VRF, the listeners, the upstream servers and where they came from, the cache. ' +
      'Exits 0 when the configuration is valid, 78 (EX_CONFIG) otherwise. The systemd unit runs it before starting:'),
    '  vrf-resolver check-config --instance %i',
    '',
    'Flags:',
    flagEntry('--vrf NAME', 'the instance name; overrides VRF= in the file', ''),
    flagEntry('...', 'every other flag of "run" (see "vrf-resolver help run")', ''),
    '',
  ].join('\n');
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

function defaultListeners(): string {
  return OPTIONS.Listen.default
    .map((a) => parseEndpoint(a, OPTIONS.Port.default))
    .map((p) => (p.ok ? formatEndpoint(p.value) : ''))
    .join(' and ');
}

function flagUsage(flag: FlagSpec): string {
  return flag.arg ? `${flag.name} ${flag.arg}` : flag.name;
}

function flagEntry(usage: string, help: string, note: string): string {
  const indent = ' '.repeat(31);
  const head = `  ${usage}`.padEnd(31);
  const body = wrap(help, indent).trimStart();
  const first = head.length > 31 ? `${head.trimEnd()}\n${indent}${body}` : `${head}${body}`;
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
