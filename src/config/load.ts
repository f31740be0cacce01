// load → validate → freeze. Layers, later ones winning: the schema defaults, the config file,
// its drop-ins (<file>.d/*.conf in lexical order, as systemd does), then command-line flags
// (a flag for a list replaces the file's list). Every problem is collected with its path and
// thrown together in one ConfigError, so an operator fixes the file in one pass.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, type ConfigProblem } from '../errors.js';
import type { Config, Endpoint, LogFormat, LogLevel, UpstreamEndpoint } from './types.js';
import { OPTIONS, optionSpec, parseBool, parseEnum, parseInteger, type OptionKey } from './schema.js';
import { resolveAccess, resolveControl } from './operator.js';
import { emptyLayered, layer, parseIni, type Assignment, type Layered } from './ini.js';
import { describeReadError, readResolvConf } from './resolv-conf.js';
import { formatEndpoint, isLoopback, isUnspecified, parseEndpoint, parseServer, sameEndpoint } from './endpoint.js';
import { DOT_PORT, resolveTls } from './tls.js';
import { resolveRoutes } from './routes.js';

/** Command-line flags as typed; values stay strings so loadConfig reports them like file values. */
export interface CliFlags {
  readonly vrf?: string;
  readonly listen?: readonly string[];
  readonly port?: string;
  readonly upstream?: readonly string[];
  readonly upstreamDevice?: string;
  readonly dnsOverTls?: string;
  /** Each value one Forward= line: "DOMAIN SERVER...". */
  readonly forward?: readonly string[];
  readonly tlsCaFile?: string;
  readonly resolvConf?: string;
  readonly noCache?: boolean;
  readonly logLevel?: string;
  readonly allowFrom?: readonly string[];
  /** "" turns the control socket off. */
  readonly control?: string;
  readonly metrics?: string;
  readonly waitForDevice?: string;
  readonly workers?: string;
}

export interface LoadOptions {
  readonly file?: string;
  /** 'auto': <file>.d when it exists; a path: that directory (which must exist). */
  readonly dropInDir?: string | 'auto';
  readonly flags: CliFlags;
  /** The systemd instance name (%i); the VRF when neither VRF= nor --vrf says otherwise. */
  readonly instance?: string;
  /**
   * A missing `file` is no problem (its drop-ins are still read): a systemd instance's
   * /etc/vrf-resolver/NAME.conf is optional. Any other read error still is one.
   */
  readonly fileOptional?: boolean;
}

const DNS_PORT = 53;

type KeysOfKind<K extends string> = { [P in OptionKey]: (typeof OPTIONS)[P]['kind'] extends K ? P : never }[OptionKey];
interface Located { readonly endpoint: Endpoint; readonly path: string; readonly origin: string }

export function loadConfig(opts: LoadOptions): Config {
  const problems: ConfigProblem[] = [];
  const layered = emptyLayered();
  const files = configFiles(opts, problems);
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      problems.push({ path: file, message: describeReadError(file, err) });
      continue;
    }
    const ini = parseIni(text, file);
    problems.push(...ini.problems);
    layer(layered, ini.entries);
  }
  layer(layered, flagAssignments(opts.flags));
  const config = resolve(layered, opts, problems);
  if (problems.length > 0) throw new ConfigError(inFileOrder(problems, files));
  return deepFreeze(files.length > 0 ? { ...config, configFiles: files } : config);
}

/** Problems in the order an operator reads the files: by file, then line; flags and the rest last. */
function inFileOrder(problems: readonly ConfigProblem[], files: readonly string[]): ConfigProblem[] {
  const rank = (p: ConfigProblem): [number, number] => {
    const i = files.findIndex((f) => p.path === f || p.path.startsWith(`${f}:`));
    const line = i < 0 ? 0 : Number(/^:(\d+)/.exec(p.path.slice((files[i] ?? '').length))?.[1] ?? 0);
    return [i < 0 ? files.length : i, line];
  };
  return problems
    .map((p) => ({ p, r: rank(p) }))
    .sort((a, b) => a.r[0] - b.r[0] || a.r[1] - b.r[1]) // stable: same place keeps its order
    .map(({ p }) => p);
}

function configFiles(opts: LoadOptions, problems: ConfigProblem[]): string[] {
  const absent = opts.file === undefined || (opts.fileOptional === true && !existsSync(opts.file));
  const files = absent || opts.file === undefined ? [] : [opts.file];
  const auto = opts.dropInDir === 'auto';
  const dir = auto ? (opts.file === undefined ? undefined : `${opts.file}.d`) : opts.dropInDir;
  if (dir === undefined || (auto && !existsSync(dir))) return files;
  try {
    const names = readdirSync(dir).filter((n) => n.endsWith('.conf')).sort();
    return [...files, ...names.map((n) => join(dir, n))];
  } catch (err) {
    problems.push({ path: dir, message: describeReadError(dir, err) });
    return files;
  }
}

function flagAssignments(flags: CliFlags): Assignment[] {
  const out: Assignment[] = [];
  const set = (key: OptionKey, value: string | undefined): void => {
    const name = optionSpec(key).flag?.name ?? key;
    if (value !== undefined) out.push({ key, value, path: name, origin: name });
  };
  const replaceList = (key: 'Listen' | 'DNS' | 'AllowFrom', values: readonly string[] | undefined): void => {
    if (values === undefined || values.length === 0) return;
    set(key, ''); // a flag for a list replaces whatever the files said
    for (const v of values) set(key, v);
  };
  set('VRF', flags.vrf);
  replaceList('Listen', flags.listen);
  set('Port', flags.port);
  replaceList('DNS', flags.upstream);
  set('UpstreamDevice', flags.upstreamDevice);
  set('DNSOverTLS', flags.dnsOverTls);
  if (flags.forward !== undefined && flags.forward.length > 0) {
    // Each flag is one route: its own path, so its items are told apart (routes.ts).
    out.push({ key: 'Forward', value: '', path: '--forward', origin: '--forward' });
    flags.forward.forEach((v, i) => out.push({ key: 'Forward', value: v, path: `--forward #${i + 1}`, origin: '--forward' }));
  }
  set('TLSCAFile', flags.tlsCaFile);
  set('ResolvConf', flags.resolvConf);
  if (flags.noCache === true) set('Cache', 'no');
  set('LogLevel', flags.logLevel);
  replaceList('AllowFrom', flags.allowFrom);
  set('ControlSocket', flags.control);
  set('Metrics', flags.metrics);
  set('WaitForDeviceSec', flags.waitForDevice);
  set('Workers', flags.workers);
  return out;
}

function resolve(layered: Layered, opts: LoadOptions, problems: ConfigProblem[]): Config {
  const report = (path: string, message: string): void => void problems.push({ path, message });
  const pathOf = (key: OptionKey): string => layered.scalars.get(key)?.path ?? `${key}= (default)`;
  const given = (key: OptionKey): Assignment | undefined => {
    const a = layered.scalars.get(key);
    return a === undefined || a.value === '' ? undefined : a; // empty: back to the default
  };
  const int = (key: KeysOfKind<'int'>): number => {
    const spec = OPTIONS[key];
    const a = given(key);
    if (a === undefined) return spec.default;
    const p = parseInteger(spec, a.value);
    if (p.ok) return p.value;
    report(a.path, p.message);
    return spec.default;
  };
  const bool = (key: KeysOfKind<'bool'>): boolean => {
    const a = given(key);
    if (a === undefined) return OPTIONS[key].default;
    const p = parseBool(a.value);
    if (p.ok) return p.value;
    report(a.path, p.message);
    return OPTIONS[key].default;
  };
  const device = (raw: string, path: string): string | null => {
    if (raw === 'default') return null;
    const why = interfaceNameProblem(raw);
    if (why === null) return raw;
    report(path, why);
    return null;
  };

  // VRF: --vrf, else VRF=, else the instance name; "" or "default" is the default VRF.
  const vrfSet = layered.scalars.get('VRF');
  const vrf = vrfSet !== undefined ? (vrfSet.value === '' ? null : device(vrfSet.value, vrfSet.path))
    : opts.instance !== undefined && opts.instance !== '' ? device(opts.instance, 'instance name') : null;
  const upDevSet = given('UpstreamDevice');
  const upstreamDevice = upDevSet === undefined ? vrf : device(upDevSet.value, upDevSet.path);

  const port = int('Port');
  const listen = endpoints(layered, 'Listen', port, report);
  listen.forEach((l, i) => {
    if (listen.findIndex((o) => sameEndpoint(o.endpoint, l.endpoint)) < i) report(l.path, `${formatEndpoint(l.endpoint)} is listed twice`);
  });
  const listenSet = layered.lists.get('Listen');
  if (listenSet !== undefined && listenSet.items.length === 0) {
    report(listenSet.lastPath, 'no listen addresses: Listen= cleared the list and none followed');
  }

  const tls = resolveTls(layered, given, report);
  // With TLS, a server given without a port is asked on 853 (RFC 7858 section 3.1), as
  // resolved does; resolv.conf cannot name a port, so its servers move to 853 too.
  const serverPort = tls.mode === 'no' ? DNS_PORT : DOT_PORT;
  const servers: Array<{ endpoint: UpstreamEndpoint; path: string; origin: string }> = [];
  for (const item of listItems(layered, 'DNS')) {
    const p = parseServer(item.value, serverPort);
    if (p.ok) servers.push({ endpoint: p.value, path: item.path, origin: item.origin });
    else report(item.path, p.message);
  }
  const routes = resolveRoutes(layered, serverPort, report);
  const rc = given('ResolvConf');
  if (rc !== undefined) {
    const read = readResolvConf(rc.value, rc.path);
    problems.push(...read.problems);
    for (const s of read.servers) servers.push({ ...s, endpoint: { ...s.endpoint, port: serverPort }, origin: rc.value });
  } else if ((layered.lists.get('DNS')?.items.length ?? 0) === 0) {
    report(opts.file ?? OPTIONS.DNS.flag.name, 'no upstream servers: set DNS= or ResolvConf= (or --upstream / --resolv-conf)');
  }
  const unique = servers.filter((s, i) => servers.findIndex((o) => sameEndpoint(o.endpoint, s.endpoint)) === i);
  if (upstreamDevice === vrf) {
    for (const s of unique) {
      if (listen.some((l) => isOwnListener(l.endpoint, s.endpoint))) {
        report(s.path, `${formatEndpoint(s.endpoint)} is this resolver's own listener on ${vrf === null ? 'the default VRF' : `device ${vrf}`}: ` +
          'a forwarding loop. Name the real upstream servers, or set UpstreamDevice= if they are reached through another VRF');
      }
    }
  }

  const cache = {
    enabled: bool('Cache'), maxEntries: int('CacheMaxEntries'), minTtlSec: int('CacheMinTTLSec'),
    maxTtlSec: int('CacheMaxTTLSec'), negativeMaxTtlSec: int('CacheNegativeMaxTTLSec'), failureTtlSec: int('CacheFailureTTLSec'),
    maxMiB: int('CacheMaxMiB'), staleSec: int('ServeStaleSec'), staleClientTimeoutMs: int('ServeStaleClientTimeoutMs'),
    ...(!bool('Prefetch') && { prefetch: false }),
  };
  if (cache.minTtlSec > cache.maxTtlSec) {
    report(pathOf(given('CacheMinTTLSec') ? 'CacheMinTTLSec' : 'CacheMaxTTLSec'),
      `CacheMinTTLSec (${cache.minTtlSec}) is greater than CacheMaxTTLSec (${cache.maxTtlSec})`);
  }
  const attemptTimeoutMs = int('UpstreamTimeoutMs');
  const queryTimeoutMs = int('QueryTimeoutMs');
  if (attemptTimeoutMs > queryTimeoutMs) {
    report(pathOf(given('UpstreamTimeoutMs') ? 'UpstreamTimeoutMs' : 'QueryTimeoutMs'),
      `UpstreamTimeoutMs (${attemptTimeoutMs}) is greater than QueryTimeoutMs (${queryTimeoutMs}): no server would get its full time`);
  }

  let serverSelection: 'ordered' | 'rtt' | undefined; // absent: ordered
  const selection = given('ServerSelection');
  if (selection !== undefined) {
    const p = parseEnum(OPTIONS.ServerSelection, selection.value);
    if (!p.ok) report(selection.path, p.message);
    else if (p.value !== 'ordered') serverSelection = p.value;
  }

  let logFormat: LogFormat | undefined; // absent: auto, decided when the logger is made
  const format = given('LogFormat');
  if (format !== undefined) {
    const p = parseEnum(OPTIONS.LogFormat, format.value);
    if (!p.ok) report(format.path, p.message);
    else if (p.value !== 'auto') logFormat = p.value;
  }
  const addLoopback = given('AddLoopbackAddresses') === undefined ? undefined : bool('AddLoopbackAddresses');
  const fixRuleOrder = given('FixRuleOrder') === undefined ? undefined : bool('FixRuleOrder');

  const access = resolveAccess(layered, given, report);
  const instance = opts.instance !== undefined && opts.instance !== '' ? opts.instance : vrf ?? 'default';
  const control = resolveControl(layered, given, report, instance, listen.map((l) => l.endpoint));

  let logLevel: LogLevel = OPTIONS.LogLevel.default;
  const level = given('LogLevel');
  if (level !== undefined) {
    const p = parseEnum(OPTIONS.LogLevel, level.value);
    if (p.ok) logLevel = p.value;
    else report(level.path, p.message);
  }

  return {
    vrf,
    server: {
      listen: listen.map((l) => l.endpoint), maxUdpSize: int('MaxUDPSize'), tcpIdleTimeoutMs: int('TCPIdleTimeoutMs'),
      tcpMaxConnections: int('TCPMaxConnections'), tcpMaxConnectionsPerClient: int('TCPMaxConnectionsPerClient'),
      tcpMaxPipelined: int('TCPMaxPipelined'),
      ...(int('Workers') > 1 && { workers: int('Workers') }),
    },
    upstream: {
      device: upstreamDevice, servers: unique.map((s) => s.endpoint), tls, attemptTimeoutMs, queryTimeoutMs,
      ednsUdpSize: int('EDNSBufferSize'), maxInflight: int('MaxInflight'),
      ...(serverSelection !== undefined && { serverSelection }),
      ...(routes.length > 0 && { routes }),
      ...(bool('RandomizeCase') && { randomizeCase: true }),
    },
    cache,
    access,
    control,
    logLevel,
    // Only when set, so a Config literal without them (tests) means the defaults.
    ...(logFormat !== undefined && { logFormat }),
    ...(addLoopback !== undefined && { addLoopbackAddresses: addLoopback }),
    ...(fixRuleOrder !== undefined && { fixRuleOrder }),
    ...(given('WaitForDeviceSec') !== undefined && { waitForDeviceSec: int('WaitForDeviceSec') }),
    sources: [...new Set(unique.map((s) => s.origin))],
  };
}

function listItems(layered: Layered, key: 'Listen' | 'DNS'): Array<{ value: string; path: string; origin: string }> {
  return layered.lists.get(key)?.items ?? OPTIONS[key].default.map((value) => ({ value, path: `${key}= (default)`, origin: 'default' }));
}

function endpoints(layered: Layered, key: 'Listen', port: number, report: (path: string, message: string) => void): Located[] {
  const out: Located[] = [];
  for (const item of listItems(layered, key)) {
    const p = parseEndpoint(item.value, port);
    if (p.ok) out.push({ endpoint: p.value, path: item.path, origin: item.origin });
    else report(item.path, p.message);
  }
  return out;
}

/** Would a query sent to `server` arrive at listener `l`? Same endpoint, or a wildcard catching loopback. */
function isOwnListener(l: Endpoint, server: Endpoint): boolean {
  if (sameEndpoint(l, server)) return true;
  return isUnspecified(l) && l.family === server.family && l.port === server.port && isLoopback(server);
}

/** null if valid. The kernel's dev_valid_name(): 1 to IFNAMSIZ-1 (15) bytes, no '/', ':' or whitespace. */
export function interfaceNameProblem(name: string): string | null {
  const ok = name !== '.' && name !== '..' && Buffer.byteLength(name) >= 1 && Buffer.byteLength(name) <= 15 && !/[/:\s]/.test(name);
  return ok ? null : `"${name}" is not a valid interface name: 1 to 15 characters, no "/", ":" or whitespace (ip -br link show type vrf lists the VRFs)`;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
