// Turning what the host's tools print for scripts into facts: iproute2's JSON (`ip -j`), ss's
// fixed columns (-H, no header), `systemctl show`'s Key=Value lines, and the two files glibc
// reads (resolv.conf(5), nsswitch.conf(5)). Pure functions of text, so unit tests feed recorded
// outputs. Text meant for humans (`ip rule` without -j, `systemctl status`) is never parsed.

import type { AddressFact, LinkFact, ResolvConfFacts, RuleFact, SocketFact, UnitFact } from './facts.js';

interface IpLink {
  ifindex?: number;
  ifname?: string;
  flags?: string[];
  master?: string;
  linkinfo?: { info_kind?: string; info_data?: { table?: number } };
}

/** `ip -j -d link show`. -d is what adds linkinfo (the kind, and a VRF's table). */
export function parseLinks(json: string): LinkFact[] {
  return (JSON.parse(json || '[]') as IpLink[]).map((l) => ({
    ifindex: l.ifindex ?? 0,
    name: l.ifname ?? '',
    kind: l.linkinfo?.info_kind ?? null,
    up: (l.flags ?? []).includes('UP'),
    master: l.master ?? null,
    vrfTable: l.linkinfo?.info_kind === 'vrf' ? (l.linkinfo.info_data?.table ?? null) : null,
  }));
}

/** `ip -j addr show`: every address of every device. */
export function parseAddresses(json: string): AddressFact[] {
  const links = JSON.parse(json || '[]') as { ifname?: string; addr_info?: { family?: string; local?: string; prefixlen?: number }[] }[];
  return links.flatMap((l) =>
    (l.addr_info ?? [])
      .filter((a) => (a.family === 'inet' || a.family === 'inet6') && a.local !== undefined)
      .map((a) => ({ device: l.ifname ?? '', family: a.family === 'inet' ? (4 as const) : (6 as const), local: a.local!, prefixlen: a.prefixlen ?? 0 })),
  );
}

/**
 * The keys of an `ip -j rule show` entry that narrow which packets it applies to (iproute2's
 * ip/iprule.c prints each selector under its own key). A rule with none of them, from all,
 * applies to every lookup, which is what matters for the order of `local` and `l3mdev`.
 */
const SELECTORS = ['dst', 'iif', 'oif', 'fwmark', 'tos', 'dsfield', 'uid_start', 'ipproto', 'sport', 'dport', 'not', 'tun_id', 'suppress_prefixlen', 'suppress_ifgroup'];

/** `ip -j rule show` or `ip -j -6 rule show`, sorted by priority as the kernel walks them. */
export function parseRules(json: string): RuleFact[] {
  const rules = JSON.parse(json || '[]') as Record<string, unknown>[];
  return rules
    .map((r) => ({
      priority: typeof r['priority'] === 'number' ? r['priority'] : 0,
      table: typeof r['table'] === 'string' ? r['table'] : null,
      l3mdev: 'l3mdev' in r,
      matchesAll: (r['src'] === undefined || r['src'] === 'all') && SELECTORS.every((k) => !(k in r)),
    }))
    .sort((a, b) => a.priority - b.priority);
}

/** `ip -j route get ...`: the outgoing device and gateway of the first route. */
export function parseRouteGet(json: string): { dev: string; gateway: string | null } | null {
  const routes = JSON.parse(json || '[]') as { dev?: string; gateway?: string }[];
  const r = routes[0];
  return r?.dev === undefined ? null : { dev: r.dev, gateway: r.gateway ?? null };
}

/**
 * `ss -Hln{u,t}p 'sport = :53'`: columns state, recv-q, send-q, local, peer, process (ss(8)).
 * The local column is ADDR[%DEVICE]:PORT, IPv6 in brackets; the process column
 * users:(("name",pid=N,fd=M),...) is empty when ss may not see the owner (not root).
 */
export function parseSs(text: string, proto: 'udp' | 'tcp'): SocketFact[] {
  const out: SocketFact[] = [];
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    const local = cols[3];
    if (cols.length < 5 || local === undefined) continue;
    const m = /^(?:\[([^\]]+)\]|([^%\s]+?))(?:%([^:\s]+))?:(\d+|\*)$/.exec(local);
    if (!m) continue;
    const users = /\(\("((?:[^"\\]|\\.)*)",pid=(\d+)/.exec(cols.slice(5).join(' '));
    out.push({
      proto,
      address: m[1] ?? m[2]!,
      device: m[3] ?? null,
      port: m[4] === '*' ? 0 : Number(m[4]),
      process: users?.[1] ?? null,
      pid: users?.[2] !== undefined ? Number(users[2]) : null,
    });
  }
  return out;
}

/**
 * `systemctl show -p Id,ActiveState,UnitFileState UNIT...`: one block of Key=Value lines per
 * unit, blocks separated by an empty line (systemctl(1): "for a machine-readable output").
 */
export function parseSystemctlShow(text: string): Record<string, UnitFact> {
  const units: Record<string, UnitFact> = {};
  for (const block of text.split(/\n\s*\n/)) {
    const kv = new Map<string, string>();
    for (const line of block.split('\n')) {
      const eq = line.indexOf('=');
      if (eq > 0) kv.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
    }
    const id = kv.get('Id');
    if (id === undefined || id === '') continue;
    const load = kv.get('LoadState');
    units[id] = { activeState: kv.get('ActiveState') ?? '', unitFileState: kv.get('UnitFileState') ?? '', ...(load !== undefined && { loadState: load }) };
  }
  return units;
}

/** The nameserver and options lines of resolv.conf (resolv.conf(5): "#" or ";" start a comment). */
export function parseResolvConf(text: string, path: string, symlinkTarget: string | null): ResolvConfFacts {
  const nameservers: string[] = [];
  const options: string[] = [];
  let search: string[] = [];
  for (const raw of text.split('\n')) {
    const words = raw.replace(/[#;].*$/, '').trim().split(/\s+/);
    if (words[0] === 'nameserver' && words[1] !== undefined) nameservers.push(words[1]);
    else if (words[0] === 'options') options.push(...words.slice(1).filter((w) => w !== ''));
    else if (words[0] === 'search' || words[0] === 'domain') search = words.slice(1).filter((w) => w !== '');
  }
  return { path, symlinkTarget, nameservers, search, options };
}

/** The words after "hosts:" in nsswitch.conf ("files", "resolve", "[!UNAVAIL=return]", "dns"), or null. */
export function parseNsswitchHosts(text: string): string[] | null {
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const m = /^hosts\s*:(.*)$/.exec(line);
    if (m) return (m[1]!.match(/\[[^\]]*\]|[^\s[]+/g) ?? []).filter((w) => w !== '');
  }
  return null;
}
