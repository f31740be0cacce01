// The host as data: what `vrf-resolver doctor` (and next, setup) knows about the machine,
// read by host/read.ts and judged by doctor/checks.ts. Plain JSON-serialisable values only, so
// a host can be recorded once and replayed in unit tests without a kernel. Nothing here says
// whether a fact is good or bad.
//
// Anything that could not be read is a fact too: Known<T> carries the value, or why it is
// missing ("could not read /proc/sys/...: EACCES"), and never throws.

import type { StatusReport } from '../control/types.js';

export type Known<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly why: string };

export function known<T>(value: T): Known<T> {
  return { ok: true, value };
}
export function unknown<T>(why: string): Known<T> {
  return { ok: false, why };
}

/** One network device, from `ip -j -d link show`. */
export interface LinkFact {
  readonly ifindex: number;
  readonly name: string;
  /** linkinfo.info_kind: "vrf", "veth", "bridge"...; null for a device without one (lo, a plain NIC). */
  readonly kind: string | null;
  /** Administratively up (the UP flag), as `ip link set NAME up` sets it. */
  readonly up: boolean;
  /** The VRF or bridge it is enslaved to, or null. */
  readonly master: string | null;
  /** For a VRF device: its routing table (linkinfo.info_data.table). */
  readonly vrfTable: number | null;
}

/** The first routing table from 1000 up that no VRF device here uses: for a new VRF's hint. */
export function freeVrfTable(links: readonly LinkFact[]): number {
  const used = new Set(links.map((l) => l.vrfTable));
  let table = 1000;
  while (used.has(table)) table++;
  return table;
}

/** One address, from `ip -j addr show`. */
export interface AddressFact {
  readonly device: string;
  readonly family: 4 | 6;
  readonly local: string;
  readonly prefixlen: number;
}

/** One policy routing rule, from `ip -j rule show` (IPv4) or `ip -j -6 rule show`. */
export interface RuleFact {
  readonly priority: number;
  /** "local", "main", "1000"...; null for an l3mdev rule or an action rule (unreachable...). */
  readonly table: string | null;
  /** The l3mdev rule: look up the table of the VRF the flow belongs to (ip-rule(8)). */
  readonly l3mdev: boolean;
  /** True when the rule has no selector (from all, no iif/oif/fwmark/to...): it applies to every packet. */
  readonly matchesAll: boolean;
}

export type VrfModule = 'loaded' | 'loadable' | 'absent';

export interface KernelFacts {
  /** uname -r: "6.1.0-18-amd64". */
  readonly release: Known<string>;
  /** The vrf module: in /sys/module (loaded or built in), found by modinfo or under /lib/modules, or neither. */
  readonly vrfModule: Known<VrfModule>;
}

export interface SysctlFacts {
  /** net.ipv4.tcp_l3mdev_accept (also governs IPv6 TCP sockets; ip-sysctl.rst). */
  readonly tcpL3mdevAccept: Known<number>;
  readonly udpL3mdevAccept: Known<number>;
}

export interface ResolvConfFacts {
  readonly path: string;
  /** Where the symlink points (readlink, as written), or null for a regular file. */
  readonly symlinkTarget: string | null;
  /** The nameserver lines' addresses, in order (resolv.conf(5)). */
  readonly nameservers: readonly string[];
  /** The search domains (the last search or domain line wins, resolv.conf(5)); kept by a rewrite. */
  readonly search: readonly string[];
  /** Every word of the options lines, in order: "rotate", "timeout:0", "use-vc"... */
  readonly options: readonly string[];
}

export interface UnitFact {
  /** ActiveState=: active, inactive, failed, activating... */
  readonly activeState: string;
  /** UnitFileState=: enabled, disabled, static, masked...; "" for a unit with no unit file. */
  readonly unitFileState: string;
  /** LoadState=: loaded, not-found (not installed), masked...; absent where it was not asked. */
  readonly loadState?: string;
}

export interface SystemdFacts {
  /** systemd is PID 1 (/run/systemd/system exists, sd_booted(3)); without it nothing else here is read. */
  readonly pid1: boolean;
  /** By unit name: vrf-resolver@mgmt.service, systemd-resolved.service. */
  readonly units: Known<Readonly<Record<string, UnitFact>>>;
  /** /etc/systemd/system/vrf-resolver@.service.d/*.conf, and whether each grants CAP_NET_RAW. */
  readonly dropIns: Known<readonly { readonly path: string; readonly capNetRaw: boolean }[]>;
}

/** One running (or stale) instance, found by its control socket. */
export interface InstanceFact {
  readonly instance: string;
  readonly socket: string;
  /** Something accepts connections on the socket. */
  readonly running: boolean;
  /** Its `status` reply, or why there is none. */
  readonly status: Known<StatusReport> | null;
}

/** One socket on port 53, from `ss -Hln{u,t}p 'sport = :53'`. */
export interface SocketFact {
  readonly proto: 'udp' | 'tcp';
  /** "127.0.0.1", "::1", "0.0.0.0", "::", "*". */
  readonly address: string;
  /** The device it is bound to (SO_BINDTODEVICE: "127.0.0.1%mgmt:53"), or null. */
  readonly device: string | null;
  readonly port: number;
  /** The process name ss shows, or null when it could not (not root). */
  readonly process: string | null;
  readonly pid: number | null;
}

/** `ip -j route get [vrf X] ADDR` for one upstream server of one instance. */
export interface RouteFact {
  /** The device the lookup was made in (the instance's upstream device), null for the default VRF. */
  readonly via: string | null;
  readonly address: string;
  /** The outgoing device, or why there is no route ("Network is unreachable"). */
  readonly route: Known<{ readonly dev: string; readonly gateway: string | null }>;
}

/** One DNS query sent to an instance from a socket bound to its VRF (doctor's end-to-end test). */
export interface ProbeFact {
  readonly instance: string;
  /** "udp 127.0.0.1:53". */
  readonly to: string;
  /** The reply's rcode name (NOERROR, SERVFAIL...), or why none came. */
  readonly rcode: Known<string>;
}

export interface HostFacts {
  readonly kernel: KernelFacts;
  readonly links: Known<readonly LinkFact[]>;
  readonly addresses: Known<readonly AddressFact[]>;
  readonly rules: { readonly v4: Known<readonly RuleFact[]>; readonly v6: Known<readonly RuleFact[]> };
  readonly sysctls: SysctlFacts;
  readonly resolvConf: Known<ResolvConfFacts>;
  /** The sources of the hosts line of /etc/nsswitch.conf, with their [ACTION] words; null with no hosts line. */
  readonly nsswitchHosts: Known<readonly string[] | null>;
  readonly systemd: SystemdFacts;
  /** Where the instances were looked for (the control directory). */
  readonly controlDir: string;
  readonly instances: Known<readonly InstanceFact[]>;
  readonly port53: Known<readonly SocketFact[]>;
  readonly routes: readonly RouteFact[];
  readonly probes: readonly ProbeFact[];
}
