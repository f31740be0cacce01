// The commented example configuration the Debian package installs as a conffile
// (/etc/vrf-resolver/vrf-resolver.conf.example), generated from the config schema as the man
// page and `help config` are: every key of the [Resolve] section, commented out, with its
// default and its documentation. Every line is a comment, so the file is a valid empty
// configuration as it stands, and a key shown with a value keeps its default when uncommented
// as written. Keys that are unset by default (VRF=, ControlSocket=, ...) are shown empty: an
// empty value means something of its own there (ControlSocket= turns the socket off).

import { CONTROL_DIR, OPTION_KEYS, formatBounds, formatDefault, optionSpec, type OptionSpec } from '../../config/schema.js';
import { SECTION } from '../../config/ini.js';
import { CONFIG_DIR } from '../../systemd/instance.js';

const WIDTH = 78;

export function renderExampleConfig(path: string): string {
  const lines = [
    `# ${path}: every key of vrf-resolver's configuration, with its default.`,
    ...comment(`Copy it to ${CONFIG_DIR}/NAME.conf for the instance vrf-resolver@NAME (NAME: the VRF device, or "default"), ` +
      'or put a few keys in a drop-in NAME.conf.d/*.conf, and uncomment what you change. The syntax is that of ' +
      'resolved.conf(5); vrf-resolver.conf(5) and "vrf-resolver help config" describe each key. ' +
      'Check a file with: vrf-resolver check-config --instance NAME. Keep it world-readable (0644): the service reads ' +
      `it as a dynamic user. Control sockets are in ${CONTROL_DIR}. A key shown with a value keeps its default ` +
      'when uncommented as written; one shown empty is unset by default, and an empty value has a meaning of its own.'),
    '',
    `[${SECTION}]`,
  ];
  for (const key of OPTION_KEYS) {
    const spec = optionSpec(key);
    const bounds = spec.kind === 'int' || spec.kind === 'enum' ? ` (${formatBounds(spec)})` : '';
    const unset = spec.kind === 'text' ? ` Default: unset, ${formatDefault(spec)}.` : '';
    lines.push('', ...comment(spec.doc + bounds + unset), `#${key}=${exampleValue(spec)}`);
  }
  return lines.join('\n') + '\n';
}

/** The default as the file writes it: "10000", "yes", "127.0.0.1 ::1"; empty when unset. */
export function exampleValue(spec: OptionSpec): string {
  switch (spec.kind) {
    case 'int': return String(spec.default);
    case 'bool': return spec.default ? 'yes' : 'no';
    case 'enum': return spec.default;
    case 'list': return spec.default.join(' ');
    case 'text': return '';
  }
}

/** Text as "# " comment lines wrapped at WIDTH. */
function comment(text: string): string[] {
  const out: string[] = [];
  let line = '#';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== '#' && line.length + 1 + word.length > WIDTH) {
      out.push(line);
      line = '#';
    }
    line += ` ${word}`;
  }
  out.push(line);
  return out;
}
