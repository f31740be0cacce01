// Every option of one instance in one table: its key in the config file (CamelCase, as in
// resolved.conf(5)), its command-line flag, type, default, bounds, unit and documentation.
// This is the only place a default or a bound is written down: load.ts, the help texts and
// the README's reference table (renderConfigReference) all read it from here.

import type { LogLevel } from './types.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const satisfies readonly LogLevel[];
export const LOG_FORMATS = ['auto', 'json', 'journal'] as const;
export const DENY_ACTIONS = ['refuse', 'drop'] as const;
export const DNS_OVER_TLS = ['no', 'yes', 'opportunistic'] as const;
export const SERVER_SELECTIONS = ['ordered', 'rtt'] as const;
/** Where the control socket lives unless ControlSocket= says otherwise; INSTANCE.sock inside. */
export const CONTROL_DIR = '/run/vrf-resolver';

/** A command-line flag that sets an option (a later flag for a list replaces the file's list). */
export interface FlagSpec {
  readonly name: `--${string}`;
  /** Placeholder for the flag's value in help texts; absent for a switch such as --no-cache. */
  readonly arg?: string;
  readonly repeatable?: boolean;
  /** One line for `vrf-resolver help run`. */
  readonly help: string;
}

interface OptionBase {
  readonly flag?: FlagSpec;
  /** One paragraph for operators: what it does and when to change it. */
  readonly doc: string;
}
export interface IntOption extends OptionBase {
  readonly kind: 'int';
  readonly default: number;
  readonly min: number;
  readonly max: number;
  readonly unit: string;
}
export interface BoolOption extends OptionBase {
  readonly kind: 'bool';
  readonly default: boolean;
}
export interface EnumOption extends OptionBase {
  readonly kind: 'enum';
  readonly default: string;
  readonly values: readonly string[];
}
/** A space-separated list of addresses; each assignment appends, an empty one resets. */
export interface ListOption extends OptionBase {
  readonly kind: 'list';
  readonly default: readonly string[];
}
/** A name or a path, unset by default; `defaultText` says what "unset" means. */
export interface TextOption extends OptionBase {
  readonly kind: 'text';
  readonly default: null;
  readonly defaultText: string;
}
export type OptionSpec = IntOption | BoolOption | EnumOption | ListOption | TextOption;

export const OPTIONS = {
  VRF: {
    kind: 'text', default: null, defaultText: 'none (default VRF)', flag: { name: '--vrf', arg: 'NAME', help: 'VRF device every socket is bound to ("default": no device)' },
    doc: 'The VRF device every socket is bound to (SO_BINDTODEVICE), e.g. mgmt. Empty or "default" runs in the default VRF. ' +
      'The systemd unit vrf-resolver@NAME passes NAME.',
  },
  Listen: {
    kind: 'list', default: ['127.0.0.1', '::1'], flag: { name: '--listen', arg: 'ADDR[:PORT]', repeatable: true, help: 'address to answer on inside the VRF; repeat for more' },
    doc: 'Addresses answered on (UDP and TCP) inside the VRF, space-separated: ADDR, ADDR:PORT, [V6ADDR]:PORT. ' +
      'The first Listen= replaces the default; later ones append; an empty Listen= clears the list. ' +
      'The addresses must exist on the VRF device (ip addr add 127.0.0.1/8 dev mgmt).',
  },
  Port: {
    kind: 'int', default: 53, min: 1, max: 65535, unit: 'port', flag: { name: '--port', arg: 'N', help: 'port for --listen addresses given without one' },
    doc: 'Port for the Listen= entries that do not name one.',
  },
  DNS: {
    kind: 'list', default: [], flag: { name: '--upstream', arg: 'ADDR[:PORT][#NAME]', repeatable: true, help: 'upstream server (an address, port 53 unless given, 853 with TLS); repeat for more, tried in order' },
    doc: 'Upstream servers, space-separated addresses (no host names), tried in order; port 53 unless given, 853 when DNSOverTLS= is on. ' +
      'ADDR#NAME (as in resolved.conf): NAME is the server\'s TLS name, sent as SNI and checked against its certificate. ' +
      'Each DNS= appends; an empty DNS= clears the list so far (as in resolved.conf). The servers of ResolvConf= follow these.',
  },
  DNSOverTLS: {
    kind: 'enum', default: 'no', values: DNS_OVER_TLS, flag: { name: '--dns-over-tls', arg: 'MODE', help: `upstream DNS over TLS: ${DNS_OVER_TLS.join(', ')}` },
    doc: 'DNS over TLS to every upstream server (RFC 7858), with resolved\'s meanings. yes: TLS only, and the server must prove ' +
      'who it is (RFC 8310 strict): its certificate valid for its #NAME (or, without one, for its address), or its key matching a ' +
      'TLSPinSHA256=; otherwise the server has failed and the next is asked. opportunistic: TLS when the server offers it, ' +
      'without checking the certificate, within half of UpstreamTimeoutMs, else plain DNS (on port 53 for a server on 853) with a warning, for a minute before TLS is tried again. One connection per server is reused for many queries, ' +
      'with TLS session resumption; queries are padded to 128 bytes (RFC 8467).',
  },
  TLSCAFile: {
    kind: 'text', default: null, defaultText: 'Node\'s CA store', flag: { name: '--tls-ca-file', arg: 'FILE', help: 'PEM file of the CAs that sign upstream certificates' },
    doc: 'A PEM file with the certificates of the CAs that sign the upstream servers\' certificates, in place of the default ' +
      'store (the Mozilla CAs built into Node, plus NODE_EXTRA_CA_CERTS). For an internal CA.',
  },
  TLSPinSHA256: {
    kind: 'list', default: [],
    doc: 'SPKI pins (RFC 7858 section 4.2), space-separated: the base64 SHA-256 of a server key\'s SubjectPublicKeyInfo ' +
      '(openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64). With pins, ' +
      'DNSOverTLS=yes accepts a server whose key matches one, also with a self-signed certificate.',
  },
  Forward: {
    kind: 'list', default: [],
    flag: { name: '--forward', arg: "'DOMAIN SERVER...'", repeatable: true, help: 'send names at or below DOMAIN to these servers (split DNS); repeat for more' },
    doc: 'Split DNS: Forward=DOMAIN SERVER... sends names at or below DOMAIN to these servers instead of DNS=; one domain per ' +
      'line, repeat the key for more, the longest matching domain wins; an empty Forward= clears the routes so far. Servers take ' +
      'DNS=\'s syntax (ADDR[:PORT][#NAME], DNSOverTLS= applies) plus ADDR%DEVICE (resolved\'s %IFACE): that server is asked ' +
      'through DEVICE, e.g. Forward=corp.example 10.1.1.53%mgmt from the default VRF\'s instance. vrf-resolver check-config prints the routes.',
  },
  ResolvConf: {
    kind: 'text', default: null, defaultText: 'none', flag: { name: '--resolv-conf', arg: 'FILE', help: 'also use the nameserver lines of this resolv.conf-style file' },
    doc: 'A resolv.conf-style file whose nameserver lines are appended to the DNS= servers, e.g. one written by a DHCP client for the VRF. ' +
      'Never point it at a file that names this resolver (127.0.0.1): that is a forwarding loop. The file is watched: a ' +
      'changed nameserver list applies without a reload, and a file with no usable server keeps the old list (one warn line).',
  },
  UpstreamDevice: {
    kind: 'text', default: null, defaultText: 'the VRF', flag: { name: '--upstream-device', arg: 'NAME', help: 'device for upstream sockets, when servers sit in another VRF' },
    doc: 'The device upstream sockets are bound to, when the servers are reachable through another VRF than the clients. ' +
      '"default" means no device (the default VRF).',
  },
  Cache: {
    kind: 'bool', default: true, flag: { name: '--no-cache', help: 'do not cache answers' },
    doc: 'Cache answers (yes/no). With no, every query goes upstream; identical questions in flight are still asked once.',
  },
  CacheMaxEntries: {
    kind: 'int', default: 10_000, min: 1, max: 10_000_000, unit: 'entries',
    doc: 'Most answers kept; the least recently used goes first.',
  },
  CacheMinTTLSec: {
    kind: 'int', default: 0, min: 0, max: 86_400, unit: 's',
    doc: 'Shortest time an answer is cached, whatever its TTL. Raising it serves records past their owner\'s TTL; 0 keeps RFC 1035 semantics.',
  },
  CacheMaxTTLSec: {
    kind: 'int', default: 86_400, min: 1, max: 604_800, unit: 's',
    doc: 'Longest time an answer is cached (a cache may shorten TTLs, RFC 2181 section 8).',
  },
  CacheNegativeMaxTTLSec: {
    kind: 'int', default: 3600, min: 0, max: 86_400, unit: 's',
    doc: 'Longest time NXDOMAIN and NODATA answers are cached; RFC 2308 section 5 suggests 1 to 3 hours. 0 disables negative caching.',
  },
  CacheMaxMiB: {
    kind: 'int', default: 64, min: 1, max: 65536, unit: 'MiB',
    doc: 'Most memory the cached answers may take (each entry\'s key and packed answer, its records and header fields without the question, rounded up to a size class: 8-byte steps to 128 bytes, then at most a quarter larger; plus 64 bytes); the least recently used goes first. Bounds the cache when answers are large, whatever CacheMaxEntries allows.',
  },
  Prefetch: {
    kind: 'bool', default: true,
    doc: 'Refresh a popular answer before it expires (Unbound\'s prefetch rule): a cache hit in the last tenth of the answer\'s ' +
      'lifetime, on an answer hit at least twice while cached, asks upstream in the background while the client gets the ' +
      'cached answer at once. One refresh per name at a time, at most a quarter of MaxInflight; a failed refresh leaves the ' +
      'answer to expire as usual. Counted as "prefetches" in vrf-resolver statistics. no: answers are only refreshed when asked after they expire.',
  },
  ServeStaleSec: {
    kind: 'int', default: 0, min: 0, max: 604800, unit: 's',
    doc: 'How long past its expiry an answer may still be served when every upstream fails to refresh it (RFC 8767 serve-stale; it suggests 1 to 3 days). Stale answers go out with TTL 30 and, to EDNS clients, the Extended DNS Error "Stale Answer" (RFC 8914). 0 never serves stale answers.',
  },
  ServeStaleClientTimeoutMs: {
    kind: 'int', default: 1800, min: 0, max: 60_000, unit: 'ms',
    doc: 'With ServeStaleSec set: how long a client waits for the refresh of an expired answer before it gets the stale one, ' +
      'while the refresh goes on and updates the cache (RFC 8767 section 5, "client response timer", 1.8 s). ' +
      'Stub resolvers give up after 5 s, so waiting for QueryTimeoutMs would often answer no one. 0 serves stale only once the refresh has failed.',
  },
  CacheFailureTTLSec: {
    kind: 'int', default: 5, min: 0, max: 300, unit: 's',
    doc: 'How long a failed resolution (SERVFAIL to the client) is remembered, sparing dead servers; RFC 9520 asks for 1 s to 5 min. 0 disables it.',
  },
  ServerSelection: {
    kind: 'enum', default: 'ordered', values: SERVER_SELECTIONS,
    doc: 'The order upstream servers are asked in, after those backing off from failures. ordered: as listed (the default, as ' +
      'resolved and dnsmasq do: list the primary first, and each name keeps going to the server whose cache is warm for it). ' +
      'rtt: the fastest first, by a smoothed round-trip time per server (as Unbound does; a server not yet measured is asked first, ' +
      'and a timeout counts as the time waited); ' +
      'one question in 20 goes first to another server in turn, so a server that got faster is noticed.',
  },
  RandomizeCase: {
    kind: 'bool', default: false,
    doc: 'Send each UDP query\'s name in a random letter case and accept only replies that keep it (the "0x20" technique, ' +
      'draft-vixie-dnsext-dns0x20): a forger must guess about one more bit per letter. Off by default, because some servers and ' +
      'load balancers do not keep the case: such a server is noticed (a reply that differs in case alone, and no other), asked ' +
      'again at once in the client\'s case, and asked that way for an hour, with one warn line (VR_ERR_UPSTREAM_CASE).',
  },
  UpstreamTimeoutMs: {
    kind: 'int', default: 1500, min: 50, max: 60_000, unit: 'ms',
    doc: 'Time to wait for one upstream server before asking the next.',
  },
  QueryTimeoutMs: {
    kind: 'int', default: 5000, min: 100, max: 120_000, unit: 'ms',
    doc: 'Time after which the client gets SERVFAIL, whatever is still being tried. Must be at least UpstreamTimeoutMs; ' +
      'stub resolvers give up after 5 s (resolv.conf(5) timeout).',
  },
  EDNSBufferSize: {
    kind: 'int', default: 1232, min: 512, max: 4096, unit: 'bytes',
    doc: 'EDNS UDP payload size advertised to upstream servers (RFC 6891); 1232 avoids IP fragmentation (DNS Flag Day 2020). Larger answers come over TCP.',
  },
  MaxUDPSize: {
    kind: 'int', default: 1232, min: 512, max: 4096, unit: 'bytes',
    doc: 'Largest UDP reply sent to a client, whatever its EDNS size says (RFC 6891 section 6.2.5; DNS Flag Day 2020); larger ones are truncated (TC=1).',
  },
  MaxInflight: {
    kind: 'int', default: 1024, min: 1, max: 100_000, unit: 'queries',
    doc: 'Distinct questions waiting on upstream servers at once; beyond it clients get SERVFAIL at once.',
  },
  Workers: {
    kind: 'int', default: 1, min: 1, max: 64, unit: 'threads',
    flag: { name: '--workers', arg: 'N', help: 'threads answering queries, each with its own listeners and cache (default 1)' },
    doc: 'Threads that answer queries. Each has its own UDP and TCP listeners on every Listen= address, bound to the VRF with ' +
      'SO_REUSEPORT, and the kernel spreads the clients over them by address and port; each has its own cache (a name is ' +
      'asked upstream once per worker that is asked it) and upstream sockets. One process: systemd, the control socket and ' +
      'the metrics see one instance, statistics are summed and listed per worker. A worker that dies is started again. ' +
      'More than 1 needs the native helper, and helps only with more cores than one worker keeps busy. A change applies at the next restart.',
  },
  TCPIdleTimeoutMs: {
    kind: 'int', default: 10_000, min: 100, max: 600_000, unit: 'ms',
    doc: 'A client TCP connection with nothing in progress is closed after this long (RFC 7766 section 6.2.3).',
  },
  TCPMaxConnections: {
    kind: 'int', default: 256, min: 1, max: 65_535, unit: 'connections',
    doc: 'Client TCP connections open at once. At the cap a new connection closes the one idle the longest (RFC 7766 section 6.2.3); it is refused only when every connection has a query in progress.',
  },
  TCPMaxConnectionsPerClient: {
    kind: 'int', default: 64, min: 1, max: 65_535, unit: 'connections',
    doc: 'Client TCP connections one client address may hold at once. At the cap the client\'s own idlest connection is closed first, so one client cannot take every slot.',
  },
  TCPMaxPipelined: {
    kind: 'int', default: 64, min: 1, max: 1024, unit: 'queries',
    doc: 'Queries one client TCP connection may have in progress at once (RFC 7766 section 6.2.1.1).',
  },
  LogLevel: {
    kind: 'enum', default: 'info', values: LOG_LEVELS, flag: { name: '--log-level', arg: 'LEVEL', help: `one of ${LOG_LEVELS.join(', ')}` },
    doc: `Least severe messages logged: ${LOG_LEVELS.join(', ')}. debug logs one line per query.`,
  },
  LogFormat: {
    kind: 'enum', default: 'auto', values: LOG_FORMATS,
    doc: 'json: one JSON object per line. journal: one line per event with a <N> syslog priority prefix, which journald ' +
      'turns into the priority (journalctl -p warning). auto: journal when standard output is the journal (systemd sets ' +
      'JOURNAL_STREAM), else json.',
  },
  AllowFrom: {
    kind: 'list', default: ['127.0.0.0/8', '::1/128'],
    flag: { name: '--allow-from', arg: 'CIDR', repeatable: true, help: 'client network that may query (default: loopback only); repeat for more' },
    doc: 'Client networks that may query, space-separated (192.0.2.0/24, 2001:db8::/32; an address alone is one host). ' +
      'Others get REFUSED, or nothing with DenyAction=drop, and are counted ("denied" in vrf-resolver statistics). ' +
      'The default, loopback only, keeps a Listen= on a routable address in the VRF from making an open resolver by accident; ' +
      'AllowFrom=0.0.0.0/0 ::/0 lets everyone ask. Each AllowFrom= appends; an empty one clears the list so far.',
  },
  DenyAction: {
    kind: 'enum', default: 'refuse', values: DENY_ACTIONS,
    doc: 'What a client outside AllowFrom= gets: refuse answers REFUSED (RFC 1035 4.1.1; the client stops at once), ' +
      'drop sends nothing (the client times out, and a forged source address gets no reflected answer).',
  },
  ControlSocket: {
    kind: 'text', default: null, defaultText: `${CONTROL_DIR}/INSTANCE.sock`,
    flag: { name: '--control', arg: 'PATH', help: 'control socket for status, statistics, flush-caches, log-level; "" turns it off' },
    doc: 'The Unix socket that vrf-resolver status, statistics, flush-caches and log-level talk to. INSTANCE is the ' +
      'instance name (vrf-resolver@INSTANCE), else the VRF, else "default". An empty value turns the control socket off. ' +
      'Only root may connect, unless ControlGroup= is set. A path taken by another running instance is not touched: ' +
      'this one then runs without a control socket and logs why.',
  },
  ControlGroup: {
    kind: 'text', default: null, defaultText: 'none (root only)',
    doc: 'A group whose members may use the control socket too (the socket gets that group and mode 0660). ' +
      'Under systemd (DynamicUser=yes) add SupplementaryGroups=GROUP in a drop-in, so the service may hand the socket to it.',
  },
  Metrics: {
    kind: 'text', default: null, defaultText: 'off',
    flag: { name: '--metrics', arg: 'ADDR:PORT', help: 'serve Prometheus metrics at http://ADDR:PORT/metrics inside the VRF' },
    doc: 'Serve Prometheus metrics over HTTP at ADDR:PORT/metrics. The socket is bound to the VRF device like the DNS ' +
      'listeners, so a scraper in the VRF reaches it and nothing in another VRF does. 127.0.0.1:9153 (CoreDNS\'s port) is a ' +
      'fine choice; the address must exist on the VRF device.',
  },
  AddLoopbackAddresses: {
    kind: 'bool', default: true,
    doc: 'Before the resolver starts, add 127.0.0.1/8 and ::1/128 to the VRF device when a Listen= address needs them and ' +
      'they are missing, and log what was added; again whenever the device appears (a re-created VRF has none). Done by ' +
      'vrf-resolver ensure-loopback, which the privileged companion unit vrf-resolver-net@NAME runs (CAP_NET_ADMIN) before the ' +
      'instance starts and each time the device appears; the resolver itself never changes the network. Nothing to do in the default VRF.',
  },
  WaitForDeviceSec: {
    kind: 'int', default: 60, min: 0, max: 86_400, unit: 's',
    flag: { name: '--wait-for-device', arg: 'SEC', help: 'wait this long at start for the VRF device to appear (0: fail at once)' },
    doc: 'How long the resolver waits at start for the VRF device (VRF=) or the upstream device (UpstreamDevice=) to appear, ' +
      'logging once that it waits; then it binds. 0 fails at once with ENODEV, as a missing device always did. Once started it ' +
      'follows the device: deleted, it stops answering and says so; created again (a new ifindex), it re-opens its sockets and ' +
      'keeps its cache. The systemd unit also starts whenever the device appears.',
  },
  FixRuleOrder: {
    kind: 'bool', default: true,
    doc: 'Before the resolver starts, put the l3mdev policy rule before "lookup local", IPv4 and IPv6, when the kernel\'s ' +
      'default order (0: from all lookup local) is in the way: with it, 127.0.0.1 asked from inside the VRF reaches lo in the ' +
      'default VRF, not this instance (Documentation/networking/vrf.rst). Done by the same privileged step as ' +
      'AddLoopbackAddresses= (ip rule add pref 32765 table local protocol kernel, then ip rule del pref 0; protocol kernel so that systemd-networkd leaves the rule alone when it starts), so it holds after every reboot ' +
      'and every time the device is re-created, and logged. The rules are the host\'s, shared by every VRF. Nothing to do in the default VRF.',
  },
} as const satisfies Record<string, OptionSpec>;

export type OptionKey = keyof typeof OPTIONS;

export const OPTION_KEYS = Object.keys(OPTIONS) as OptionKey[];

export function isOptionKey(key: string): key is OptionKey {
  return Object.hasOwn(OPTIONS, key);
}

export function optionSpec(key: OptionKey): OptionSpec {
  return OPTIONS[key];
}

/** The default as operators read it: "127.0.0.1 ::1", "yes", "1500 ms", "the VRF". */
export function formatDefault(spec: OptionSpec): string {
  switch (spec.kind) {
    case 'int': return spec.unit === 'port' ? String(spec.default) : `${spec.default} ${spec.unit}`;
    case 'bool': return spec.default ? 'yes' : 'no';
    case 'enum': return spec.default;
    case 'list': return spec.default.length > 0 ? spec.default.join(' ') : 'none';
    case 'text': return spec.defaultText;
  }
}

/** Bounds as operators read them: "50..60000 ms"; '' for options without bounds. */
export function formatBounds(spec: OptionSpec): string {
  if (spec.kind === 'int') return `${spec.min}..${spec.max}${spec.unit === 'port' ? '' : ` ${spec.unit}`}`;
  if (spec.kind === 'enum') return spec.values.join(' | ');
  if (spec.kind === 'bool') return 'yes | no';
  return '';
}

/** The reference table for README.md ("Configuration"): key | flag | default | meaning. */
export function renderConfigReference(): string {
  const cell = (s: string): string => s.replace(/\|/g, '\\|');
  const rows = OPTION_KEYS.map((key) => {
    const spec = optionSpec(key);
    const flag = spec.flag ? `\`${spec.flag.name}${spec.flag.arg ? ` ${spec.flag.arg}` : ''}\`` : '';
    const bounds = spec.kind === 'int' ? ` Range ${formatBounds(spec)}.` : '';
    return `| \`${key}=\` | ${cell(flag)} | ${cell(formatDefault(spec))} | ${cell(spec.doc + bounds)} |`;
  });
  return ['| Key | Flag | Default | Meaning |', '| --- | --- | --- | --- |', ...rows].join('\n') + '\n';
}

// How a raw string from the file or a flag becomes a value. Every failure says what is
// accepted, with the bounds, so the operator can fix it without looking anything up.

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

// The spellings systemd's parse_boolean() accepts (resolved.conf(5) uses yes/no), any case.
const TRUE_WORDS = new Set(['yes', 'y', 'true', 't', 'on', '1']);
const FALSE_WORDS = new Set(['no', 'n', 'false', 'f', 'off', '0']);

export function parseBool(raw: string): Parsed<boolean> {
  const word = raw.toLowerCase();
  if (TRUE_WORDS.has(word)) return { ok: true, value: true };
  if (FALSE_WORDS.has(word)) return { ok: true, value: false };
  return { ok: false, message: `expected a boolean (yes/no, true/false, on/off, 1/0), got "${raw}"` };
}

export function parseInteger(spec: IntOption, raw: string): Parsed<number> {
  const range = `from ${spec.min} to ${spec.max}${spec.unit === 'port' ? '' : ` (${spec.unit})`}`;
  // Plain decimal digits only: no units ("5s"), signs, fractions or hex, so a typo never
  // silently becomes another number.
  if (!/^[0-9]+$/.test(raw)) return { ok: false, message: `expected an integer ${range}, got "${raw}"` };
  const value = Number(raw);
  if (value < spec.min || value > spec.max) return { ok: false, message: `${raw} is out of bounds: must be ${range}` };
  return { ok: true, value };
}

export function parseEnum<T extends string>(spec: { readonly values: readonly T[] }, raw: string): Parsed<T> {
  const word = raw.toLowerCase();
  const value = spec.values.find((v) => v === word);
  if (value !== undefined) return { ok: true, value };
  return { ok: false, message: `expected one of ${spec.values.join(', ')}, got "${raw}"` };
}
