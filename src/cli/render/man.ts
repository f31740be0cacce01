// The manual pages vrf-resolver(8) and vrf-resolver.conf(5), generated from the command table
// (cli/table.ts) and the config schema (config/schema.ts): the same source as `--help`,
// `help config` and the README's reference tables, so none of them can drift from what the
// parser accepts and loadConfig does. The Debian package renders them at build time
// (systemd/deb/build.sh); test/unit/man-pages.test.ts checks that every command, flag and key
// is in them.

import { CONTROL_DIR, OPTION_KEYS, OPTIONS, formatBounds, formatDefault, optionSpec } from '../../config/schema.js';
import { SECTION } from '../../config/ini.js';
import { STATE_FILE } from '../../setup/state.js';
import { CONFIG_DIR } from '../../systemd/instance.js';
import { EXIT, type CommandSpec, type FlagDef } from '../command.js';
import { COMMANDS } from '../table.js';
import { sentenceList } from '../text.js';
import { bold, italic, paragraph, preformatted, roffText, tagged, title } from './roff.js';

export interface ManPageInfo {
  /** The package version, for the title line ("vrf-resolver 0.1.0"). */
  readonly version: string;
  /** YYYY-MM-DD; the build passes the commit's date, so a rebuild gives the same page. */
  readonly date: string;
}

/** What each exit code means, for EXIT STATUS (the type makes a new code a compile error here). */
const EXIT_MEANING: Record<keyof typeof EXIT, string> = {
  OK: 'success',
  FAILURE: 'a runtime failure, or a running instance answered the request with an error',
  USAGE: 'the command line is wrong',
  NO_INSTANCE: 'status, statistics, flush-caches, log-level, query: no such instance is running',
  CONFIG: 'the configuration is invalid (EX_CONFIG); the unit vrf-resolver@NAME is not restarted on it',
};

/** No hyphenation and a ragged right edge: flags, paths and key names are never split or stretched. */
const LAYOUT = ['.nh', '.ad l'];

const UNITS = ['vrf-resolver@NAME.service', 'vrf-resolver@default.service', 'vrf-resolver-net@NAME.service', 'vrf-resolver@NAME.socket'];

/** vrf-resolver(8): every command with its usage, description, arguments and flags. */
export function renderCommandManPage(info: ManPageInfo): string {
  const byKind = (kind: CommandSpec['instance']): string => sentenceList(COMMANDS.filter((c) => c.instance === kind).map((c) => c.name));
  const lines = [
    title('VRF-RESOLVER', 8, info.date, `vrf-resolver ${info.version}`, 'System Administration'),
    ...LAYOUT,
    '.SH NAME',
    `vrf\\-resolver \\- ${roffText('a caching DNS forwarder for Linux VRFs')}`,
    '.SH SYNOPSIS',
    '.nf',
    ...COMMANDS.flatMap((c) => c.usage.map(roffText)),
    '.fi',
    '.SH DESCRIPTION',
    ...paragraph(`vrf-resolver runs one instance per VRF. An instance answers on ${OPTIONS.Listen.default.join(' and ')} ` +
      `(port ${OPTIONS.Port.default}, UDP and TCP) inside its VRF, and asks the upstream servers through sockets bound to ` +
      'the VRF device (SO_BINDTODEVICE), so "nameserver 127.0.0.1" in /etc/resolv.conf works for ip vrf exec VRF ' +
      'and every other process in the VRF. Instances of several VRFs, and one for the default VRF, share 127.0.0.1:53: ' +
      'each socket is bound to its own device. Answers are cached in wire form; identical concurrent questions share ' +
      'one upstream query.'),
    ...paragraph(`As a service, one instance per VRF: systemctl enable --now vrf-resolver@NAME reads ${CONFIG_DIR}/NAME.conf ` +
      '(optional) and its drop-ins, described in vrf-resolver.conf(5). vrf-resolver setup VRF does that and the rest of ' +
      'a host\'s set-up in one step; vrf-resolver doctor checks a host and prints the commands that fix what it finds.'),
    ...paragraph(`${byKind('flag')} take --instance NAME, as the unit vrf-resolver@NAME runs them. ` +
      `${byKind('operand')} talk to a running instance over its control socket; INSTANCE is its VRF, or "default", ` +
      'and may be left out when one instance runs.'),
    '.SH COMMANDS',
    ...COMMANDS.flatMap(commandSection),
    '.SH GLOBAL FLAGS',
    ...tagged(flagTag({ name: '--help', short: 'h', help: '' }), 'Help for a command (vrf-resolver help COMMAND), or this overview.'),
    ...tagged(flagTag({ name: '--version', short: 'V', help: '' }), 'Print the version.'),
    '.SH EXIT STATUS',
    ...(Object.keys(EXIT) as (keyof typeof EXIT)[]).flatMap((k) => tagged(bold(String(EXIT[k])), EXIT_MEANING[k])),
    '.SH FILES',
    ...tagged(italic(`${CONFIG_DIR}/NAME.conf`), `The configuration of instance NAME, and its drop-ins in ${CONFIG_DIR}/NAME.conf.d/*.conf; see vrf-resolver.conf(5).`),
    ...tagged(italic(`${CONTROL_DIR}/INSTANCE.sock`), 'The control socket of a running instance (ControlSocket=).'),
    ...tagged(italic(STATE_FILE), 'What vrf-resolver setup changed on this host, so that setup --undo can put it back.'),
    ...tagged(italic(UNITS.join(', ')), 'The systemd units: the instance for VRF NAME, the one for the default VRF, the privileged step that adds the ' +
      'loopback addresses and fixes the rule order whenever the device appears, and optional socket activation.'),
    '.SH EXAMPLES',
    ...preformatted([
      'vrf-resolver setup mgmt --dry-run',
      'vrf-resolver setup mgmt',
      'ip vrf exec mgmt apt-get update',
      'vrf-resolver status mgmt',
      'vrf-resolver query mgmt debian.org AAAA',
      'vrf-resolver run --vrf mgmt --upstream 192.0.2.53',
    ]),
    '.SH SEE ALSO',
    `${bold('vrf-resolver.conf')}(5), ${bold('ip-vrf')}(8), ${bold('systemctl')}(1), ${bold('resolv.conf')}(5), ${bold('resolved.conf')}(5)`,
  ];
  return lines.join('\n') + '\n';
}

/** vrf-resolver.conf(5): the file's syntax and every key of the [Resolve] section. */
export function renderConfigManPage(info: ManPageInfo): string {
  const lines = [
    title('VRF-RESOLVER.CONF', 5, info.date, `vrf-resolver ${info.version}`, 'File Formats'),
    ...LAYOUT,
    '.SH NAME',
    `vrf\\-resolver.conf \\- ${roffText('configuration of a vrf-resolver instance')}`,
    '.SH SYNOPSIS',
    '.nf',
    roffText(`${CONFIG_DIR}/NAME.conf`),
    roffText(`${CONFIG_DIR}/NAME.conf.d/*.conf`),
    '.fi',
    '.SH DESCRIPTION',
    ...paragraph(`The instance vrf-resolver@NAME (vrf-resolver run --instance NAME) reads ${CONFIG_DIR}/NAME.conf when it ` +
      'exists, then the drop-ins in NAME.conf.d/*.conf in lexical order. vrf-resolver run --config FILE reads FILE and ' +
      'FILE.d/*.conf. NAME is the VRF device, or "default" for the default VRF.'),
    ...paragraph(`The syntax is that of resolved.conf(5): one [${SECTION}] section of Key=Value lines; lines starting with ` +
      '"#" or ";" are comments. For most keys the last assignment wins. Each assignment of a list key (DNS=, Listen=, ' +
      'AllowFrom=) adds to the list, and an empty assignment clears it. Command-line flags override the file; a flag ' +
      'for a list replaces the list from the file. Unknown keys are errors.'),
    ...paragraph('vrf-resolver check-config FILE (or --instance NAME) validates the files and prints every problem with ' +
      'its file, line and key, or the effective settings; it exits 78 when the configuration is invalid. ' +
      'systemctl reload vrf-resolver@NAME applies a changed file; a broken one is refused and the old configuration ' +
      'keeps serving. The service reads the files as an unprivileged dynamic user: keep them world-readable (0644).'),
    '.SH OPTIONS',
    ...OPTION_KEYS.flatMap(optionEntry),
    '.SH EXAMPLE',
    ...preformatted([`# ${CONFIG_DIR}/mgmt.conf`, `[${SECTION}]`, 'DNS=192.0.2.53 [2001:db8::53]:53', 'CacheMaxEntries=50000', 'LogLevel=info']),
    '.SH SEE ALSO',
    `${bold('vrf-resolver')}(8), ${bold('resolved.conf')}(5), ${bold('resolv.conf')}(5)`,
  ];
  return lines.join('\n') + '\n';
}

function commandSection(spec: CommandSpec): string[] {
  const out = ['.SS', roffText(spec.name), ...preformatted(spec.usage)];
  for (const text of spec.description) out.push(...(text.startsWith('  ') ? preformatted(text.split('\n')) : paragraph(text)));
  if (spec.operands.length > 0) {
    out.push('.PP', 'Arguments:');
    for (const o of spec.operands) out.push(...tagged(italic(o.name), o.help));
  }
  out.push('.PP', 'Flags:');
  if (spec.instance === 'flag') {
    out.push(...tagged(flagTag({ name: '--instance', arg: 'NAME', help: '' }), `The unit's instance: --vrf NAME plus ${CONFIG_DIR}/NAME.conf if it exists.`));
  } else if (spec.instance === 'operand') {
    out.push(...tagged(flagTag({ name: '--instance', arg: 'NAME', help: '' }), 'The instance, as INSTANCE.'));
  }
  for (const f of spec.flags) out.push(...tagged(flagTag(f), f.note ? `${f.help} (${f.note})` : f.help));
  for (const text of spec.seeAlso ?? []) out.push(...paragraph(text));
  return out;
}

/** "-V, --version", "--upstream ADDR[:PORT] ...": bold flag, italic value. */
function flagTag(flag: FlagDef): string {
  const long = flag.arg ? `${bold(flag.name)} ${italic(flag.arg)}` : bold(flag.name);
  const tag = flag.short ? `${bold(`-${flag.short}`)}, ${long}` : long;
  return flag.repeatable ? `${tag} ...` : tag;
}

function optionEntry(key: (typeof OPTION_KEYS)[number]): string[] {
  const spec = optionSpec(key);
  const facts = [`Default: ${formatDefault(spec)}.`];
  if (spec.kind === 'int') facts.push(`Range: ${formatBounds(spec)}.`);
  else if (spec.kind !== 'list' && spec.kind !== 'text') facts.push(`Values: ${formatBounds(spec)}.`);
  if (spec.flag) facts.push(`Flag: ${spec.flag.name}${spec.flag.arg ? ` ${spec.flag.arg}` : ''}.`);
  return [...tagged(bold(`${key}=`), spec.doc), '.IP', roffText(facts.join(' '))];
}
