// The files setup writes or edits, as pure functions of text: the instance's configuration,
// /etc/resolv.conf pointing at the instances, the hosts line of /etc/nsswitch.conf without
// nss-resolve, and resolved's drop-in for --keep-resolved. doctor's fix lines use the same
// edits, so what it tells an operator to run and what setup does cannot drift apart.

import { createHash } from 'node:crypto';

/** systemd-resolved's stub listeners (127.0.0.53; 127.0.0.54 for its proxy mode): on lo, in the default VRF only. */
export const RESOLVED_STUBS: ReadonlySet<string> = new Set(['127.0.0.53', '127.0.0.54']);

/** A loopback nameserver that is not resolved's stub: one of our instances (or another local resolver). */
export function isLocalResolver(address: string): boolean {
  return address === '::1' || (address.startsWith('127.') && !RESOLVED_STUBS.has(address));
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * /etc/resolv.conf for a host with an instance per VRF: glibc asks 127.0.0.1 and ::1, and the
 * socket of a process in a VRF reaches that VRF's instance (its listeners are bound to the VRF
 * device). The search domains of the file it replaces are kept.
 */
export function resolvConfText(search: readonly string[], stateFile: string): string {
  return [
    '# Written by vrf-resolver setup: every VRF has its own instance on 127.0.0.1 and ::1',
    '# (vrf-resolver@VRF; the default VRF: vrf-resolver@default).',
    `# The file this replaced is kept in ${stateFile}; vrf-resolver setup VRF --undo puts it back.`,
    ...(search.length > 0 ? [`search ${search.join(' ')}`] : []),
    'nameserver 127.0.0.1',
    'nameserver ::1',
    '',
  ].join('\n');
}

/** An instance's configuration file as setup writes it. */
export function instanceConfText(o: { readonly servers: readonly string[]; readonly source: string; readonly upstreamDevice?: string; readonly why?: string }): string {
  return [
    `# Written by vrf-resolver setup; the upstream servers came from ${o.source}.`,
    '# Every key: vrf-resolver help config. After an edit: systemctl reload vrf-resolver@INSTANCE.',
    '[Resolve]',
    `DNS=${o.servers.join(' ')}`,
    ...(o.upstreamDevice !== undefined ? [`# ${o.why ?? 'the servers are reachable through this VRF only'}`, `UpstreamDevice=${o.upstreamDevice}`] : []),
    '',
  ].join('\n');
}

/** resolved.conf.d drop-in for --keep-resolved: resolved keeps running (D-Bus, resolvectl) without its stub. */
export const KEEP_RESOLVED_DROP_IN = [
  '# Written by vrf-resolver setup --keep-resolved: systemd-resolved runs on, without its stub',
  '# listener on 127.0.0.53; /etc/resolv.conf names the vrf-resolver instances instead.',
  '[Resolve]',
  'DNSStubListener=no',
  '',
].join('\n');

/**
 * The sources of a hosts line without nss-resolve and its [ACTION] words (nss-resolve(8):
 * "resolve [!UNAVAIL=return]"), with `dns` where resolve stood when the line had no dns: glibc
 * then reads /etc/resolv.conf. Null when the line has no resolve.
 */
export function hostsWithoutResolve(words: readonly string[]): string[] | null {
  const i = words.indexOf('resolve');
  if (i < 0) return null;
  let end = i + 1;
  while (end < words.length && words[end]!.startsWith('[')) end++;
  const rest = [...words.slice(0, i), ...words.slice(end)];
  return rest.includes('dns') ? rest : [...rest.slice(0, i), 'dns', ...rest.slice(i)];
}

const HOSTS_LINE = /^(\s*hosts\s*:\s*)([^#]*?)(\s*(?:#.*)?)$/;

/** The hosts line of nsswitch.conf as it is written, and the line with `resolve` taken out; null when there is nothing to take out. */
export function nsswitchEdit(text: string): { readonly before: string; readonly after: string } | null {
  for (const line of text.split('\n')) {
    const m = HOSTS_LINE.exec(line);
    if (!m) continue;
    const words = m[2]!.match(/\[[^\]]*\]|[^\s[]+/g) ?? [];
    const kept = hostsWithoutResolve(words);
    return kept === null ? null : { before: line, after: `${m[1]!}${kept.join(' ')}${m[3]!}` };
  }
  return null;
}

/** Replaces the first line equal to `from` with `to`; null when no line is `from` (the file was edited since). */
export function replaceLine(text: string, from: string, to: string): string | null {
  const lines = text.split('\n');
  const i = lines.indexOf(from);
  if (i < 0) return null;
  lines[i] = to;
  return lines.join('\n');
}
