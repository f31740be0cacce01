// The validated, frozen configuration of one instance (one VRF). Produced only by
// config/load.ts (file + resolv.conf + command-line flags → validate → freeze); everything
// else receives it read-only. Units are in the names. The defaults and bounds live in
// config/schema.ts beside each option's documentation.

import type { Family } from '../net/socket-factory.js';
import type { Cidr } from './cidr.js';

export interface Endpoint {
  readonly family: Family;
  readonly address: string;
  readonly port: number;
}

/** A server of DNS= or Forward=: with `#NAME`, the name its TLS certificate is checked against (and SNI). */
export interface UpstreamEndpoint extends Endpoint {
  readonly tlsName?: string;
  /** `%DEVICE`: asked through this device rather than UpstreamDevice= (resolved's %IFACE). */
  readonly device?: string;
}

/** Forward=DOMAIN SERVER...: names at or below `domain` go to these servers (split DNS). */
export interface ForwardRoute {
  /** Lowercase, no trailing dot: "corp.example". */
  readonly domain: string;
  readonly servers: readonly UpstreamEndpoint[];
}

/**
 * no: plain DNS. yes: TLS only, authenticated (RFC 8310 strict: the certificate must be valid
 * for the server's name, or its address when no name is given, or match a pin); a server
 * that cannot be reached that way has failed. opportunistic: TLS when it works, else plain
 * DNS with a warning (RFC 8310 opportunistic; the certificate is not checked).
 */
export type DnsOverTls = 'no' | 'yes' | 'opportunistic';

export interface TlsConfig {
  readonly mode: DnsOverTls;
  /** PEM file of the CAs that sign server certificates; null: Node's bundled Mozilla store plus NODE_EXTRA_CA_CERTS. */
  readonly caFile: string | null;
  /** SHA-256 of a server key's SubjectPublicKeyInfo, base64 (RFC 7858 section 4.2); any one must match. */
  readonly pinsSha256: readonly string[];
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** How log lines are written: JSON objects, or journald lines with a <N> priority prefix. */
export type LogFormat = 'json' | 'journal';

export interface CacheConfig {
  readonly enabled: boolean;
  /** Bound on the number of cached answers (the cache's slots, cache/slots.ts). */
  readonly maxEntries: number;
  /** Bound on the memory the cached answers take, in MiB (wire bytes plus per-entry overhead). */
  readonly maxMiB: number;
  /** TTL clamps applied to every cached answer (RFC 2181 section 8 allows a cache to shorten). */
  readonly minTtlSec: number;
  readonly maxTtlSec: number;
  /** Upper bound for negative answers (RFC 2308 section 5 suggests 1 to 3 hours). */
  readonly negativeMaxTtlSec: number;
  /** How long a failure (SERVFAIL to the client) is remembered (RFC 9520: at least 1 s, at most 5 min). */
  readonly failureTtlSec: number;
  /** How long past expiry an answer may be served when its refresh fails (RFC 8767); 0: never. */
  readonly staleSec: number;
  /** With staleSec: how long a client waits for a refresh before it gets the stale answer (RFC 8767 5); 0: until it fails. */
  readonly staleClientTimeoutMs: number;
  /** Prefetch=no turns prefetching off; absent: on. */
  readonly prefetch?: boolean;
}

export interface UpstreamConfig {
  /**
   * The device upstream sockets are bound to. Defaults to `vrf`; set apart only for an instance
   * whose clients live in one VRF and whose servers are reachable through another (e.g. a
   * default-VRF instance whose DNS servers sit in mgmt). null: no device (default VRF).
   */
  readonly device: string | null;
  /** Upstream servers in order of preference. */
  readonly servers: readonly UpstreamEndpoint[];
  /** Split DNS (Forward=): the longest matching domain wins; absent or empty: none. */
  readonly routes?: readonly ForwardRoute[];
  /** DNS-over-TLS (RFC 7858) to every server: resolved's DNSOverTLS= meanings. */
  readonly tls: TlsConfig;
  /** ordered: as listed; rtt: fastest first (upstream/health.ts). Absent: ordered. */
  readonly serverSelection?: 'ordered' | 'rtt';
  /** RandomizeCase=yes (0x20 in upstream UDP queries); absent: no. */
  readonly randomizeCase?: boolean;
  /** Time to wait for one server before moving to the next. */
  readonly attemptTimeoutMs: number;
  /** Time after which the client gets SERVFAIL, whatever is still being tried. */
  readonly queryTimeoutMs: number;
  /** EDNS UDP payload size advertised upstream (RFC 6891; 1232 per DNS Flag Day 2020). */
  readonly ednsUdpSize: number;
  /** Distinct questions waiting on upstream servers at once; beyond it clients get SERVFAIL. */
  readonly maxInflight: number;
}

export interface ServerConfig {
  readonly listen: readonly Endpoint[];
  /** Largest UDP reply sent to a client, whatever its EDNS size says (RFC 6891 section 6.2.5). */
  readonly maxUdpSize: number;
  /** TCP connections (RFC 7766 section 6.2.3: idle connections are closed). */
  readonly tcpIdleTimeoutMs: number;
  readonly tcpMaxConnections: number;
  /** Connections one client address may hold; at the cap its own idlest one is closed first. */
  readonly tcpMaxConnectionsPerClient: number;
  /** Queries one TCP connection may have in progress at once (RFC 7766 section 6.2.1.1). */
  readonly tcpMaxPipelined: number;
  /** Workers=: threads answering queries (app/workers.ts); absent means 1. */
  readonly workers?: number;
}

/** Who may query (AllowFrom=, DenyAction=). */
export interface AccessConfig {
  readonly allowFrom: readonly Cidr[];
  /** refuse: REFUSED to others; drop: no reply. */
  readonly denyAction: 'refuse' | 'drop';
}

/** The operator's side: control socket and metrics listener. */
export interface ControlConfig {
  /** The instance's name in `vrf-resolver status` and the default socket path. */
  readonly instance: string;
  /** Path of the control socket; null: none. */
  readonly socket: string | null;
  /** Group allowed to connect besides root; null: root only. */
  readonly group: string | null;
  /** Prometheus /metrics listener inside the VRF; null: none. */
  readonly metrics: Endpoint | null;
}

export interface Config {
  /** The VRF (or any) device every socket is bound to; null runs in the default VRF. */
  readonly vrf: string | null;
  readonly server: ServerConfig;
  readonly upstream: UpstreamConfig;
  readonly cache: CacheConfig;
  readonly access: AccessConfig;
  readonly control: ControlConfig;
  readonly logLevel: LogLevel;
  /**
   * LogFormat=; absent means "auto" (the default): journal when stdout is the journal
   * (JOURNAL_STREAM), else json. Decided at start by log.ts, not here.
   */
  readonly logFormat?: LogFormat;
  /**
   * AddLoopbackAddresses=; absent means yes (the default): 127.0.0.1/8 and ::1/128 are added to
   * the VRF device when a listener needs them (systemd/loopback.ts).
   */
  readonly addLoopbackAddresses?: boolean;
  /**
   * FixRuleOrder=; absent means yes (the default): the privileged start step puts the l3mdev rule
   * before `lookup local` (systemd/rule-order.ts).
   */
  readonly fixRuleOrder?: boolean;
  /**
   * WaitForDeviceSec=; absent means the default (60 s): how long `run` waits at start for the
   * VRF device and the upstream device to appear (app/follow.ts). 0: fail at once with ENODEV.
   */
  readonly waitForDeviceSec?: number;
  /** Where the upstream list came from, for logs and `check-config` ("DNS=", a resolv.conf path...). */
  readonly sources: readonly string[];
  /** The config file and drop-ins that were read, in order (for `vrf-resolver status`); absent: none. */
  readonly configFiles?: readonly string[];
}
