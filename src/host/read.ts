// Reading the host into HostFacts (host/facts.ts): devices, addresses and rules from iproute2's
// JSON, sysctls from /proc/sys, the files glibc reads, systemd's unit state, the running
// instances over their control sockets, and who holds port 53. Everything goes through a
// HostIo, so tests replay a recorded host. What cannot be read (no root, no tool, no systemd)
// becomes an "unknown" fact that says why; nothing here throws for it, and nothing here judges.

import { controlRequest, findInstances } from '../control/client.js';
import type { StatusReport } from '../control/types.js';
import { ControlError } from '../errors.js';
import { known, unknown, type HostFacts, type InstanceFact, type Known, type LinkFact, type ProbeFact, type RouteFact, type SocketFact, type UnitFact, type VrfModule } from './facts.js';
import { errnoOf, realHostIo, runProblem, type HostIo } from './io.js';
import { parseAddresses, parseLinks, parseNsswitchHosts, parseResolvConf, parseRouteGet, parseRules, parseSs, parseSystemctlShow } from './parse.js';
import { probeInstance, type Probe } from './probe.js';

export const RESOLV_CONF = '/etc/resolv.conf';
export const NSSWITCH_CONF = '/etc/nsswitch.conf';
export const DROP_IN_DIR = '/etc/systemd/system/vrf-resolver@.service.d';
/** A status request is small; an instance that takes longer than this is reported as not answering. */
const STATUS_TIMEOUT_MS = 3000;

export type InstanceSource = (controlDir: string, io: HostIo) => Promise<Known<readonly InstanceFact[]>>;

export interface ReadOptions {
  readonly controlDir: string;
  /** The VRFs to look at closely (units, routes, probes), chosen once the devices are known; null is the default VRF. */
  readonly select: (links: Known<readonly LinkFact[]>) => readonly (string | null)[];
  readonly io?: HostIo;
  readonly instances?: InstanceSource;
  /** The end-to-end DNS query; null to send none. */
  readonly probe?: Probe | null;
}

export async function readHost(o: ReadOptions): Promise<{ facts: HostFacts; vrfs: readonly (string | null)[] }> {
  const io = o.io ?? realHostIo;
  const links = await ipJson(io, ['-j', '-d', 'link', 'show'], parseLinks);
  const vrfs = o.select(links);
  const [addresses, v4, v6, kernel, tcp, udp, resolvConf, nsswitchHosts, systemd, instances, port53] = await Promise.all([
    ipJson(io, ['-j', 'addr', 'show'], parseAddresses),
    ipJson(io, ['-j', 'rule', 'show'], parseRules),
    ipJson(io, ['-j', '-6', 'rule', 'show'], parseRules),
    readKernel(io),
    readSysctl(io, 'net/ipv4/tcp_l3mdev_accept'),
    readSysctl(io, 'net/ipv4/udp_l3mdev_accept'),
    readResolvConf(io),
    readFileFact(io, NSSWITCH_CONF, parseNsswitchHosts),
    readSystemd(io, vrfs),
    (o.instances ?? readInstances)(o.controlDir, io),
    readPort53(io),
  ]);
  const inScope = (instances.ok ? instances.value : [])
    .flatMap((i) => (i.status?.ok === true ? [i.status.value] : []))
    .filter((s) => vrfs.includes(s.vrf.name));
  const vrfKinds = new Set((links.ok ? links.value : []).filter((l) => l.kind === 'vrf').map((l) => l.name));
  // One lookup per device and server: two instances may ask the same server through the same
  // device (the default VRF's instance with UpstreamDevice=mgmt, and mgmt's own).
  const routes = [...new Map((await Promise.all(inScope.map((s) => readRoutes(io, s, vrfKinds)))).flat().map((r) => [`${r.via ?? ''} ${r.address}`, r])).values()];
  const probe = o.probe === undefined ? probeInstance : o.probe;
  const probes: ProbeFact[] = probe === null ? [] : await Promise.all(inScope.map((s) => probe(s)));
  const facts: HostFacts = {
    kernel, links, addresses, rules: { v4, v6 }, sysctls: { tcpL3mdevAccept: tcp, udpL3mdevAccept: udp },
    resolvConf, nsswitchHosts, systemd, controlDir: o.controlDir, instances, port53, routes, probes,
  };
  return { facts, vrfs };
}

async function ipJson<T>(io: HostIo, args: readonly string[], parse: (s: string) => T): Promise<Known<T>> {
  const r = await io.run('ip', args);
  if (r.code !== 0) return unknown(runProblem('ip', args, r));
  try {
    return known(parse(r.stdout));
  } catch (e) {
    return unknown(`ip ${args.join(' ')} printed something that is not iproute2's JSON (${(e as Error).message}); iproute2 ≥ 4.14 is needed for -j`);
  }
}

async function readFileFact<T>(io: HostIo, path: string, parse: (s: string) => T): Promise<Known<T>> {
  try {
    return known(parse(await io.readFile(path)));
  } catch (e) {
    return unknown(`could not read ${path}: ${errnoOf(e)}`);
  }
}

async function readKernel(io: HostIo): Promise<HostFacts['kernel']> {
  const release = await readFileFact(io, '/proc/sys/kernel/osrelease', (s) => s.trim());
  let vrfModule: Known<VrfModule>;
  if (await io.exists('/sys/module/vrf')) vrfModule = known('loaded'); // loaded, or built in (it has a version)
  else {
    const r = await io.run('modinfo', ['vrf']);
    if (r.code === 0) vrfModule = known('loadable');
    else if (r.error === undefined) vrfModule = known('absent'); // modinfo ran and found no vrf module
    else if (!release.ok) vrfModule = unknown(`modinfo is not installed and ${release.why}`);
    else {
      // No modinfo (kmod): look where depmod would, /lib/modules/RELEASE/kernel/drivers/net/.
      const dir = `/lib/modules/${release.value}`;
      const files = ['', '.xz', '.zst', '.gz'].map((ext) => `${dir}/kernel/drivers/net/vrf.ko${ext}`);
      const found = (await Promise.all(files.map((f) => io.exists(f)))).some(Boolean);
      vrfModule = found ? known('loadable') : (await io.exists(dir)) ? known('absent') : unknown(`modinfo is not installed and ${dir} does not exist`);
    }
  }
  return { release, vrfModule };
}

async function readSysctl(io: HostIo, key: string): Promise<Known<number>> {
  const path = `/proc/sys/${key}`;
  try {
    const n = Number((await io.readFile(path)).trim());
    return Number.isInteger(n) ? known(n) : unknown(`${path} does not hold a number`);
  } catch (e) {
    const code = errnoOf(e);
    return unknown(code === 'ENOENT' ? `${path} does not exist: this kernel has no l3mdev (VRF) support` : `could not read ${path}: ${code}`);
  }
}

async function readResolvConf(io: HostIo): Promise<HostFacts['resolvConf']> {
  let target: string | null;
  try {
    target = await io.readLink(RESOLV_CONF);
  } catch (e) {
    return unknown(`could not read ${RESOLV_CONF}: ${errnoOf(e)}`);
  }
  // A dangling symlink (resolved's stub while resolved is stopped) has no nameserver lines.
  return readFileFact(io, RESOLV_CONF, (s) => parseResolvConf(s, RESOLV_CONF, target)).then((f) =>
    f.ok || target === null ? f : known(parseResolvConf('', RESOLV_CONF, target)),
  );
}

/** systemd's view, only when systemd is PID 1: otherwise there is nothing to ask. */
async function readSystemd(io: HostIo, vrfs: readonly (string | null)[]): Promise<HostFacts['systemd']> {
  const pid1 = await io.exists('/run/systemd/system'); // sd_booted(3)
  const dropIns = await readDropIns(io);
  if (!pid1) return { pid1, units: unknown('systemd is not PID 1 here'), dropIns };
  const names = [...vrfs.map((v) => `vrf-resolver@${v ?? 'default'}.service`), 'systemd-resolved.service'];
  const args = ['show', '-p', 'Id,ActiveState,UnitFileState', ...names];
  const r = await io.run('systemctl', args);
  const units: Known<Record<string, UnitFact>> = r.code === 0 ? known(parseSystemctlShow(r.stdout)) : unknown(runProblem('systemctl', args, r));
  return { pid1, units, dropIns };
}

async function readDropIns(io: HostIo): Promise<HostFacts['systemd']['dropIns']> {
  let names: string[];
  try {
    names = (await io.readDir(DROP_IN_DIR)).filter((n) => n.endsWith('.conf')).sort();
  } catch (e) {
    return errnoOf(e) === 'ENOENT' ? known([]) : unknown(`could not read ${DROP_IN_DIR}: ${errnoOf(e)}`);
  }
  const out: { path: string; capNetRaw: boolean }[] = [];
  for (const n of names) {
    const path = `${DROP_IN_DIR}/${n}`;
    try {
      const text = (await io.readFile(path)).split('\n').filter((l) => !/^\s*[#;]/.test(l)).join('\n');
      // Both are needed: the unit's bounding set lacks CAP_NET_RAW, and a dynamic user only holds
      // what AmbientCapabilities= grants (systemd.exec(5)).
      const grants = (key: string): boolean => new RegExp(`^\\s*${key}\\s*=.*\\bCAP_NET_RAW\\b`, 'm').test(text);
      out.push({ path, capNetRaw: grants('CapabilityBoundingSet') && grants('AmbientCapabilities') });
    } catch (e) {
      return unknown(`could not read ${path}: ${errnoOf(e)}`);
    }
  }
  return known(out);
}

/** Every control socket in the directory, each asked for its status. */
export const readInstances: InstanceSource = async (controlDir, io) => {
  try {
    await io.readDir(controlDir);
  } catch (e) {
    return errnoOf(e) === 'ENOENT' ? known([]) : unknown(`could not read ${controlDir}: ${errnoOf(e)}`);
  }
  const found = await findInstances(controlDir);
  return known(await Promise.all(found.map(async (f): Promise<InstanceFact> => {
    try {
      const status = (await controlRequest(f.path, { command: 'status' }, STATUS_TIMEOUT_MS)) as StatusReport;
      return { instance: f.instance, socket: f.path, running: true, status: known(status) };
    } catch (e) {
      const cause = errnoOf(e instanceof ControlError ? e.cause : undefined);
      // A socket file nobody listens on is left by a stopped instance; EACCES means it runs.
      if (cause === 'ENOENT' || cause === 'ECONNREFUSED') return { instance: f.instance, socket: f.path, running: false, status: null };
      return { instance: f.instance, socket: f.path, running: true, status: unknown((e as Error).message) };
    }
  })));
};

async function readPort53(io: HostIo): Promise<Known<readonly SocketFact[]>> {
  const out: SocketFact[] = [];
  for (const [flags, proto] of [['-Hlnpu', 'udp'], ['-Hlntp', 'tcp']] as const) {
    const args = [flags, 'sport = :53'];
    const r = await io.run('ss', args);
    if (r.code !== 0) return unknown(runProblem('ss', args, r));
    out.push(...parseSs(r.stdout, proto));
  }
  return known(out);
}

/** "192.0.2.53:53" or "[2001:db8::53]:53" → the address. */
export function serverAddress(server: string): string {
  const v6 = /^\[([^\]]+)\]:\d+$/.exec(server);
  return v6 ? v6[1]! : server.replace(/:\d+$/, '');
}

/** `ip route get` for each upstream server through the device its upstream sockets are bound to. */
async function readRoutes(io: HostIo, s: StatusReport, vrfDevices: ReadonlySet<string>): Promise<RouteFact[]> {
  const via = s.upstreamDevice;
  return Promise.all(s.upstreams.map(async (u): Promise<RouteFact> => {
    const address = serverAddress(u.server);
    // `vrf X` looks up in the VRF's table (ip-route(8)); a plain device is asked with `oif`.
    const args = via === null ? ['-j', 'route', 'get', address] : vrfDevices.has(via) ? ['-j', 'route', 'get', 'vrf', via, address] : ['-j', 'route', 'get', address, 'oif', via];
    const r = await io.run('ip', args);
    if (r.code !== 0) return { via, address, route: unknown(r.error !== undefined ? runProblem('ip', args, r) : (r.stderr.trim().split('\n')[0] ?? `exit ${String(r.code)}`).replace(/^RTNETLINK answers: /, '')) };
    const route = parseRouteGet(r.stdout);
    return { via, address, route: route === null ? unknown('no route in the reply') : known(route) };
  }));
}
