// load → validate → freeze. Layers, later ones winning: the schema defaults, the config file,
// its drop-ins (<file>.d/*.conf in lexical order, as systemd does), then command-line flags
// (a flag for a list replaces the file's list). Every problem is collected with its path and
// thrown together in one ConfigError, so an operator fixes the file in one pass.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, type ConfigProblem } from '../errors.js';
import type { Config, Endpoint, LogLevel } from './types.js';
import { OPTIONS, parseBool, parseEnum, parseInteger, type OptionKey } from './schema.js';
import { emptyLayered, layer, parseIni, type Assignment, type Layered } from './ini.js';
import { describeReadError, readResolvConf } from './resolv-conf.js';
import { formatEndpoint, isLoopback, isUnspecified, parseEndpoint, sameEndpoint } from './endpoint.js';

/** Command-line flags as typed; values stay strings so loadConfig reports them like file values. */
export interface CliFlags {
  readonly vrf?: string;
  readonly listen?: readonly string[];
  readonly port?: string;
  readonly upstream?: readonly string[];
  readonly upstreamDevice?: string;
  readonly resolvConf?: string;
  readonly noCache?: boolean;
  readonly logLevel?: string;
}

export interface LoadOptions {
  readonly file?: string;
  /** 'auto': <file>.d when it exists; a path: that directory (which must exist). */
  readonly dropInDir?: string | 'auto';
  readonly flags: CliFlags;
  /** The systemd instance name (%i); the VRF when neither VRF= nor --vrf says otherwise. */
  readonly instance?: string;
}

const DNS_PORT = 53;

type KeysOfKind<K extends string> = { [P in OptionKey]: (typeof OPTIONS)[P]['kind'] extends K ? P : never }[OptionKey];
interface Located { readonly endpoint: Endpoint; readonly path: string; readonly origin: string }

export function loadConfig(opts: LoadOptions): Config {
  const problems: ConfigProblem[] = [];
  const layered = emptyLayered();
  for (const file of configFiles(opts, problems)) {
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
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(config);
}

function configFiles(opts: LoadOptions, problems: ConfigProblem[]): string[] {
  const files = opts.file === undefined ? [] : [opts.file];
  const auto = opts.dropInDir === 'auto';
  const dir = auto ? (opts.file === undefined ? undefined : `${opts.file}.d`) : opts.dropInDir;
  if (dir === undefined || (auto && !existsSync(dir))) return files;
  try {
    const names = readdirSync(dir).filter((n) => n.endsWith('.conf')).sort();
    return [...files, ...names.map((n) => join(dir, n))];
  } catch (err) {
    problems.push({ path: dir, message: describeReadError(dir, err).replace('expected a file', 'expected a directory') });
    return files;
  }
}

function flagAssignments(flags: CliFlags): Assignment[] {
  const out: Assignment[] = [];
  const set = (key: OptionKey, value: string | undefined, name = OPTIONS[key].flag?.name ?? key): void => {
    if (value !== undefined) out.push({ key, value, path: name, origin: name });
  };
  const replaceList = (key: 'Listen' | 'DNS', values: readonly string[] | undefined): void => {
    if (values === undefined || values.length === 0) return;
    set(key, ''); // a flag for a list replaces whatever the files said
    for (const v of values) set(key, v);
  };
  set('VRF', flags.vrf);
  replaceList('Listen', flags.listen);
  set('Port', flags.port);
  replaceList('DNS', flags.upstream);
  set('UpstreamDevice', flags.upstreamDevice);
  set('ResolvConf', flags.resolvConf);
  if (flags.noCache === true) set('Cache', 'no');
  set('LogLevel', flags.logLevel);
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
    return p.ok ? p.value : (report(a.path, p.message), spec.default);
  };
  const bool = (key: KeysOfKind<'bool'>): boolean => {
    const a = given(key);
    if (a === undefined) return OPTIONS[key].default;
    const p = parseBool(a.value);
    return p.ok ? p.value : (report(a.path, p.message), OPTIONS[key].default);
  };
  const device = (raw: string, path: string): string | null => {
    if (raw === 'default') return null;
    const why = interfaceNameProblem(raw);
    return why === null ? raw : (report(path, why), null);
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
  if (listen.length === 0 && layered.lists.has('Listen')) {
    report(layered.lists.get('Listen')?.lastPath ?? 'Listen', 'no listen addresses: Listen= cleared the list and none followed');
  }

  const servers = endpoints(layered, 'DNS', DNS_PORT, report);
  const rc = given('ResolvConf');
  if (rc !== undefined) {
    const read = readResolvConf(rc.value, rc.path);
    problems.push(...read.problems);
    for (const s of read.servers) servers.push({ ...s, origin: rc.value });
  } else if (servers.length === 0 && !problems.some((p) => p.path.includes('DNS'))) {
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

  const level = given('LogLevel');
  const parsedLevel = level === undefined ? undefined : parseEnum(OPTIONS.LogLevel, level.value);
  if (level !== undefined && parsedLevel?.ok === false) report(level.path, parsedLevel.message);

  return {
    vrf,
    server: {
      listen: listen.map((l) => l.endpoint), maxUdpSize: int('MaxUDPSize'), tcpIdleTimeoutMs: int('TCPIdleTimeoutMs'),
      tcpMaxConnections: int('TCPMaxConnections'), tcpMaxPipelined: int('TCPMaxPipelined'),
    },
    upstream: {
      device: upstreamDevice, servers: unique.map((s) => s.endpoint), attemptTimeoutMs, queryTimeoutMs,
      ednsUdpSize: int('EDNSBufferSize'), maxInflight: int('MaxInflight'),
    },
    cache,
    logLevel: (parsedLevel?.ok === true ? parsedLevel.value : OPTIONS.LogLevel.default) as LogLevel,
    sources: [...new Set(unique.map((s) => s.origin))],
  };
}

function endpoints(layered: Layered, key: 'Listen' | 'DNS', port: number, report: (path: string, message: string) => void): Located[] {
  const assigned = layered.lists.get(key)?.items;
  const items = assigned ?? OPTIONS[key].default.map((value) => ({ value, path: `${key}= (default)`, origin: 'default' }));
  const out: Located[] = [];
  for (const item of items) {
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
