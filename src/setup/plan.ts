// What `vrf-resolver setup VRF` (and --undo) will do, as data: pure functions of SetupFacts, so a
// dry run prints exactly what a real run does, a second run finds every step already done, and
// unit tests check the plan for a recorded host. Each step is either already so (change: false)
// or a list of actions (apply.ts carries them out) plus how the state file records it.
//
// Order matters for a host that keeps resolving while setup runs: the instances are configured,
// started and answering before /etc/resolv.conf points at them; only then is systemd-resolved
// stopped and nss-resolve taken off the hosts line. --undo goes the other way.

import { parseEndpoint } from '../config/endpoint.js';
import type { UnitFact } from '../host/facts.js';
import { parseResolvConf } from '../host/parse.js';
import { KEEP_RESOLVED_DROP_IN, instanceConfText, isLocalResolver, nsswitchEdit, replaceLine, resolvConfText, RESOLVED_STUBS, sha256 } from './files.js';
import { configPath, RESOLVED_UNITS, unitName, type FileFact, type SetupFacts, type SetupPaths } from './read.js';
import type { SavedResolvConf, SetupState } from './state.js';

export type Action =
  | { readonly kind: 'write'; readonly path: string; readonly text: string; readonly mode: number }
  | { readonly kind: 'symlink'; readonly path: string; readonly target: string }
  | { readonly kind: 'remove'; readonly path: string }
  | { readonly kind: 'systemctl'; readonly args: readonly string[] }
  /** Wait until the instance's control socket answers and a query sent inside its VRF gets a reply. */
  | { readonly kind: 'wait'; readonly instance: string };

export interface Step {
  /** Stable, for --json: config, default-config, unit, default-unit, resolv-conf, resolved, nsswitch. */
  readonly id: string;
  /** What the step does, or (change: false) what already holds. */
  readonly title: string;
  readonly change: boolean;
  readonly actions: readonly Action[];
  /** The state file after the step. */
  readonly record: (s: SetupState) => SetupState;
}

export interface Upstreams {
  readonly servers: readonly string[];
  /** Where they came from, for messages and the file's comment. */
  readonly source: string;
}

export interface SetupOptions {
  readonly upstreams?: readonly string[];
  readonly keepResolved: boolean;
  /** For messages: a dry run needs no root. */
  readonly dryRun: boolean;
}

export type Planned = { readonly ok: true; readonly upstreams: Upstreams | null; readonly steps: readonly Step[] } | { readonly ok: false; readonly problems: readonly string[] };

const same = (s: SetupState): SetupState => s;
const add = (list: readonly string[], x: string): string[] => (list.includes(x) ? [...list] : [...list, x]);
const without = (list: readonly string[], x: string): string[] => list.filter((y) => y !== x);
const textOf = (f: FileFact | undefined): string | null => (f === undefined || f.kind === 'absent' ? null : f.text);
/** The state without what an undo step has put back. */
const forgetting = (key: 'resolvConf' | 'nsswitch' | 'resolved') => (s: SetupState): SetupState => {
  const copy: { -readonly [K in keyof SetupState]: SetupState[K] } = { ...s };
  delete copy[key];
  return copy;
};

/** Servers a resolver may forward to: not ourselves, not resolved's stub (which would forward back). */
function usable(addresses: readonly string[]): string[] {
  return addresses.filter((a) => !isLocalResolver(a) && !RESOLVED_STUBS.has(a));
}

/**
 * The upstream servers, by the first source that has any: --upstream; the VRF's configuration
 * already in place; resolved's own list (/run/systemd/resolve/resolv.conf, global and per-link
 * servers); /etc/resolv.conf. Never 127.0.0.53 or a loopback address: that is a loop.
 */
export function discoverUpstreams(f: SetupFacts, paths: SetupPaths, o: SetupOptions): { ok: true; value: Upstreams } | { ok: false; why: string } {
  if (o.upstreams !== undefined && o.upstreams.length > 0) return { ok: true, value: { servers: o.upstreams, source: '--upstream' } };
  const existing = f.configs.vrf;
  if (existing?.ok === true && existing.value.servers.length > 0) return { ok: true, value: { servers: existing.value.servers, source: existing.value.file } };
  for (const path of [paths.resolvedServers, paths.resolvConf]) {
    const text = textOf(f.files[path]);
    if (text === null) continue;
    const servers = usable(parseResolvConf(text, path, null).nameservers);
    if (servers.length > 0) return { ok: true, value: { servers, source: path } };
  }
  // A host set up before: the resolv.conf that setup replaced still names the servers.
  const saved = f.state.ok ? f.state.value.resolvConf?.saved : undefined;
  if (saved?.kind === 'file') {
    const servers = usable(parseResolvConf(saved.text, 'saved', null).nameservers);
    if (servers.length > 0) return { ok: true, value: { servers, source: `the resolv.conf setup saved in ${paths.stateFile}` } };
  }
  return {
    ok: false,
    why: `no upstream DNS server found: none in --upstream, ${configPath(paths, f.vrf)}, ${paths.resolvedServers} (systemd-resolved's list) or ${paths.resolvConf} ` +
      `that is not a loopback address or resolved's stub; give them: vrf-resolver setup ${f.vrf} --upstream ADDR [--upstream ADDR]`,
  };
}

/** Problems that stop setup before it changes anything, all at once. */
function preflight(f: SetupFacts, paths: SetupPaths, o: SetupOptions, undo: boolean): string[] {
  const p: string[] = [];
  const cmd = `vrf-resolver setup ${f.vrf}${undo ? ' --undo' : ''}`;
  if (!f.root && !o.dryRun) p.push(`setup changes /etc and systemd units: run it as root (sudo ${cmd}), or look first with --dry-run`);
  if (!f.pid1) p.push(`systemd is not PID 1 here, and setup works through its units: without systemd, run "vrf-resolver run --vrf ${f.vrf}" under your service manager (README: Running it for a VRF)`);
  if (!f.state.ok) p.push(f.state.why);
  if (undo) return p;
  if (!f.link.ok) p.push(`cannot read the network devices: ${f.link.why}`);
  else if (f.link.value === null) p.push(`there is no device ${f.vrf}: create the VRF first (ip link add ${f.vrf} type vrf table ${f.freeVrfTable ?? 1000} && ip link set ${f.vrf} up, and in your network configuration for every boot), then run setup again`);
  else if (f.link.value.kind !== 'vrf') p.push(`${f.vrf} is a ${f.link.value.kind ?? 'plain'} device, not a VRF: name the VRF device (ip -br link show type vrf lists them)`);
  else if (!f.link.value.up) p.push(`the VRF ${f.vrf} is down: ip link set ${f.vrf} up (and make your network configuration bring it up at boot)`);
  if (f.units.ok) {
    for (const u of [unitName(f.vrf), unitName('default')]) {
      const s = f.units.value[u];
      if (s === undefined || s.loadState === 'not-found' || s.loadState === undefined) p.push(`${u} is not installed: install vrf-resolver first (sudo systemd/install.sh install in the checkout)`);
      else if (s.loadState === 'masked' || s.unitFileState === 'masked') p.push(`${u} is masked: systemctl unmask ${u}`);
    }
  } else if (f.pid1) p.push(`cannot ask systemd about the units: ${f.units.why}`);
  for (const c of [f.configs.vrf, f.configs.default]) if (c?.ok === false) p.push(c.why);
  return p;
}

/** routes: by server address, whether the default VRF has a route to it (read.ts routesInDefaultVrf). */
export function planSetup(f: SetupFacts, paths: SetupPaths, o: SetupOptions, routes: Readonly<Record<string, boolean>>): Planned {
  const problems = preflight(f, paths, o, false);
  const found = discoverUpstreams(f, paths, o);
  if (!found.ok) problems.push(found.why);
  else {
    for (const s of found.value.servers) {
      const e = parseEndpoint(s, 53);
      if (!e.ok) problems.push(`upstream ${s}: ${e.message}`);
      else if (isLocalResolver(e.value.address) || RESOLVED_STUBS.has(e.value.address)) problems.push(`upstream ${s} is a loopback address: the instance would ask itself (or resolved's stub); give the real servers`);
    }
  }
  if (problems.length > 0 || !found.ok || !f.units.ok) return { ok: false, problems };
  const up = found.value;
  const units = f.units.value;
  const vrf = f.vrf;

  const steps: Step[] = [];
  const vrfConfig = configStep('config', f, paths, vrf, up, undefined);
  steps.push(vrfConfig);
  // The default VRF's instance asks the same servers; through the VRF when the default VRF has
  // no route to any of them (the seed moved the default route into the VRF's table).
  const viaVrf = up.servers.every((s) => routes[serverAddress(s)] !== true);
  const defaultConfig = configStep('default-config', f, paths, 'default', up, viaVrf ? vrf : undefined);
  steps.push(defaultConfig);
  steps.push(unitStep('unit', units, vrf, vrfConfig.change, (s) => ({ ...s, vrfs: add(s.vrfs, vrf) }),
    `with it vrf-resolver-net@${vrf}, which adds 127.0.0.1/8 and ::1/128 to ${vrf} and puts the l3mdev rule before "lookup local" at every start of the device`));
  steps.push(unitStep('default-unit', units, 'default', defaultConfig.change, same, 'processes outside the VRFs resolve through it'));
  steps.push(resolvConfStep(f, paths));
  steps.push(o.keepResolved ? keepResolvedStep(f, paths, units) : resolvedStep(units));
  steps.push(nsswitchStep(f, paths));
  return { ok: true, upstreams: up, steps };
}

/** "192.0.2.53:5353", "[2001:db8::53]:53" → the address. */
export function serverAddress(server: string): string {
  const e = parseEndpoint(server, 53);
  return e.ok ? e.value.address : server;
}

function configStep(id: string, f: SetupFacts, paths: SetupPaths, instance: string, up: Upstreams, upstreamDevice: string | undefined): Step {
  const path = configPath(paths, instance);
  const existing = instance === 'default' ? f.configs.default : f.configs.vrf;
  if (existing !== null) {
    const servers = existing.ok ? existing.value.servers.join(' ') || 'none' : '?';
    const differs = existing.ok && up.source === '--upstream' && servers !== up.servers.join(' ');
    const note = differs ? `; it names ${servers}, not the --upstream servers ${up.servers.join(' ')}: edit it, then systemctl reload ${unitName(instance)}` : ` (DNS: ${servers})`;
    return { id, title: `${path} is there: kept${note}`, change: false, actions: [], record: same };
  }
  const why = upstreamDevice !== undefined ? `${up.servers.join(', ')} ${up.servers.length === 1 ? 'has' : 'have'} no route in the default VRF: asked through ${upstreamDevice}` : undefined;
  const text = instanceConfText({ servers: up.servers, source: up.source, ...(upstreamDevice !== undefined && { upstreamDevice }), ...(why !== undefined && { why }) });
  return {
    id,
    title: `write ${path}: DNS=${up.servers.join(' ')}${upstreamDevice !== undefined ? ` UpstreamDevice=${upstreamDevice} (${why})` : ''}`,
    change: true,
    actions: [{ kind: 'write', path, text, mode: 0o644 }],
    record: (s) => ({ ...s, wrote: [...s.wrote.filter((w) => w.path !== path), { path, sha256: sha256(text) }] }),
  };
}

const isEnabled = (u: UnitFact | undefined): boolean => u?.unitFileState === 'enabled' || u?.unitFileState === 'enabled-runtime';
const isActive = (u: UnitFact | undefined): boolean => u?.activeState === 'active' || u?.activeState === 'reloading' || u?.activeState === 'activating';

function unitStep(id: string, units: Readonly<Record<string, UnitFact>>, instance: string, configChanged: boolean, record: (s: SetupState) => SetupState, why: string): Step {
  const unit = unitName(instance);
  const u = units[unit];
  const enabled = isEnabled(u);
  const active = isActive(u);
  const actions: Action[] = [];
  if (!enabled) actions.push({ kind: 'systemctl', args: ['enable', unit] });
  if (!active) actions.push({ kind: 'systemctl', args: ['start', unit] });
  else if (configChanged) actions.push({ kind: 'systemctl', args: ['restart', unit] });
  if (actions.length === 0) return { id, title: `${unit} is enabled and running`, change: false, actions, record };
  actions.push({ kind: 'wait', instance });
  const verb = [!enabled ? 'enable' : '', !active ? 'start' : configChanged ? 'restart' : ''].filter((v) => v !== '').join(' and ');
  return {
    id,
    title: `${verb} ${unit} and wait until it answers (${why})`,
    change: true,
    actions,
    record: (s) => record(enabled ? s : { ...s, enabled: add(s.enabled, unit) }),
  };
}

function resolvConfStep(f: SetupFacts, paths: SetupPaths): Step {
  const path = paths.resolvConf;
  const cur = f.files[path] ?? { kind: 'absent' };
  const parsed = parseResolvConf(textOf(cur) ?? '', path, null);
  if (cur.kind === 'file' && parsed.nameservers.length > 0 && parsed.nameservers.every(isLocalResolver)) {
    return { id: 'resolv-conf', title: `${path} names ${parsed.nameservers.join(', ')}: each VRF's instance answers`, change: false, actions: [], record: same };
  }
  // The search domains survive; a dangling stub symlink has none, resolved's own list does.
  const search = parsed.search.length > 0 ? parsed.search : parseResolvConf(textOf(f.files[paths.resolvedServers]) ?? '', '', null).search;
  const text = resolvConfText(search, paths.stateFile);
  const saved: SavedResolvConf = cur.kind === 'symlink' ? { kind: 'symlink', target: cur.target } : cur.kind === 'file' ? { kind: 'file', text: cur.text, mode: cur.mode } : { kind: 'absent' };
  const was = cur.kind === 'symlink' ? `a symlink to ${cur.target}` : cur.kind === 'file' ? `naming ${parsed.nameservers.join(', ') || 'no server'}` : 'missing';
  return {
    id: 'resolv-conf',
    title: `point ${path} at 127.0.0.1 and ::1 (it was ${was}; kept in ${paths.stateFile})`,
    change: true,
    actions: [{ kind: 'write', path, text, mode: 0o644 }],
    // A second setup after a partial one keeps the first original.
    record: (s) => ({ ...s, resolvConf: { saved: s.resolvConf?.saved ?? saved, wroteSha256: sha256(text) } }),
  };
}

function resolvedStep(units: Readonly<Record<string, UnitFact>>): Step {
  const present = RESOLVED_UNITS.filter((u) => units[u] !== undefined && units[u]!.loadState !== 'not-found');
  if (!present.includes('systemd-resolved.service')) return { id: 'resolved', title: 'systemd-resolved is not installed', change: false, actions: [], record: same };
  const wasEnabled = present.filter((u) => isEnabled(units[u]));
  const wasActive = present.filter((u) => isActive(units[u]));
  const touch = present.filter((u) => wasEnabled.includes(u) || wasActive.includes(u));
  if (touch.length === 0) return { id: 'resolved', title: 'systemd-resolved is stopped and disabled', change: false, actions: [], record: same };
  return {
    id: 'resolved',
    title: `stop and disable systemd-resolved (it asks its servers through the default VRF; ${touch.join(', ')})`,
    change: true,
    actions: [{ kind: 'systemctl', args: ['disable', '--now', ...touch] }],
    record: (s) => ({
      ...s,
      resolved: { mode: 'disabled', wasEnabled: [...new Set([...(s.resolved?.wasEnabled ?? []), ...wasEnabled])], wasActive: [...new Set([...(s.resolved?.wasActive ?? []), ...wasActive])] },
    }),
  };
}

function keepResolvedStep(f: SetupFacts, paths: SetupPaths, units: Readonly<Record<string, UnitFact>>): Step {
  const path = paths.resolvedDropIn;
  if (textOf(f.files[path]) === KEEP_RESOLVED_DROP_IN) return { id: 'resolved', title: `systemd-resolved runs without its stub listener (${path})`, change: false, actions: [], record: same };
  const restart = isActive(units['systemd-resolved.service']) ? [{ kind: 'systemctl' as const, args: ['try-restart', 'systemd-resolved.service'] }] : [];
  return {
    id: 'resolved',
    title: `keep systemd-resolved running without its stub listener on 127.0.0.53 (${path})`,
    change: true,
    actions: [{ kind: 'write', path, text: KEEP_RESOLVED_DROP_IN, mode: 0o644 }, ...restart],
    record: (s) => ({
      ...s,
      wrote: [...s.wrote.filter((w) => w.path !== path), { path, sha256: sha256(KEEP_RESOLVED_DROP_IN) }],
      resolved: { mode: 'stub-off', wasEnabled: s.resolved?.wasEnabled ?? [], wasActive: s.resolved?.wasActive ?? [] },
    }),
  };
}

function nsswitchStep(f: SetupFacts, paths: SetupPaths): Step {
  const path = paths.nsswitch;
  const cur = f.files[path];
  const text = textOf(cur);
  const edit = text === null ? null : nsswitchEdit(text);
  if (text === null || edit === null) return { id: 'nsswitch', title: `${path}: no nss-resolve on the hosts line`, change: false, actions: [], record: same };
  const mode = cur?.kind === 'file' ? cur.mode : 0o644;
  return {
    id: 'nsswitch',
    title: `take resolve off the hosts line of ${path} ("${edit.after.trim()}"; glibc then reads /etc/resolv.conf)`,
    change: true,
    actions: [{ kind: 'write', path, text: replaceLine(text, edit.before, edit.after)!, mode }],
    record: (s) => ({ ...s, nsswitch: s.nsswitch ?? edit }),
  };
}

/**
 * --undo VRF: stop and disable what setup enabled for it and remove the configuration it wrote
 * (unless edited since); with the last VRF set up, also restore systemd-resolved, resolv.conf and
 * the hosts line, and the default VRF's instance.
 */
export function planUndo(f: SetupFacts, paths: SetupPaths, o: SetupOptions): Planned {
  const problems = preflight(f, paths, o, true);
  if (problems.length > 0 || !f.state.ok) return { ok: false, problems };
  const st = f.state.value;
  const vrf = f.vrf;
  if (!st.vrfs.includes(vrf)) {
    const others = st.vrfs.length > 0 ? `; it set up ${st.vrfs.join(', ')}` : '';
    return { ok: true, upstreams: null, steps: [{ id: 'state', title: `setup has not set up ${vrf} on this host (${paths.stateFile})${others}: nothing to undo`, change: false, actions: [], record: same }] };
  }
  const steps: Step[] = [unitOffStep('unit', st, vrf, (s) => ({ ...s, vrfs: without(s.vrfs, vrf) })), removeConfigStep('config', f, configPath(paths, vrf))];
  if (st.vrfs.length === 1) {
    steps.push(restoreResolvedStep(f, paths, st));
    steps.push(restoreResolvConfStep(f, paths, st));
    steps.push(restoreNsswitchStep(f, paths, st));
    steps.push(unitOffStep('default-unit', st, 'default', same));
    steps.push(removeConfigStep('default-config', f, configPath(paths, 'default')));
  }
  return { ok: true, upstreams: null, steps };
}

function unitOffStep(id: string, st: SetupState, instance: string, record: (s: SetupState) => SetupState): Step {
  const unit = unitName(instance);
  if (!st.enabled.includes(unit)) return { id, title: `${unit} was enabled before setup: left as it is`, change: false, actions: [], record };
  return {
    id,
    title: `stop and disable ${unit}`,
    change: true,
    actions: [{ kind: 'systemctl', args: ['disable', '--now', unit] }],
    record: (s) => record({ ...s, enabled: without(s.enabled, unit) }),
  };
}

function removeConfigStep(id: string, f: SetupFacts, path: string): Step {
  const st = f.state.ok ? f.state.value : null;
  const wrote = st?.wrote.find((w) => w.path === path);
  const forget = (s: SetupState): SetupState => ({ ...s, wrote: s.wrote.filter((w) => w.path !== path) });
  if (wrote === undefined) return { id, title: `${path} was not written by setup: left as it is`, change: false, actions: [], record: same };
  const text = textOf(f.files[path]);
  if (text === null) return { id, title: `${path} is gone already`, change: false, actions: [], record: forget };
  if (sha256(text) !== wrote.sha256) return { id, title: `${path} was edited since setup wrote it: kept`, change: false, actions: [], record: forget };
  return { id, title: `remove ${path} (setup wrote it)`, change: true, actions: [{ kind: 'remove', path }], record: forget };
}

function restoreResolvedStep(f: SetupFacts, paths: SetupPaths, st: SetupState): Step {
  const r = st.resolved;
  const forget = (s: SetupState): SetupState => ({ ...forgetting('resolved')(s), wrote: s.wrote.filter((w) => w.path !== paths.resolvedDropIn) });
  if (r === undefined) return { id: 'resolved', title: 'systemd-resolved was left as it was', change: false, actions: [], record: same };
  if (r.mode === 'stub-off') {
    const drop = removeConfigStep('resolved', f, paths.resolvedDropIn);
    return {
      id: 'resolved',
      title: `give systemd-resolved its stub listener back (${drop.title})`,
      change: true,
      actions: [...drop.actions, { kind: 'systemctl', args: ['try-restart', 'systemd-resolved.service'] }],
      record: forget,
    };
  }
  const actions: Action[] = [];
  if (r.wasEnabled.length > 0) actions.push({ kind: 'systemctl', args: ['enable', ...r.wasEnabled] });
  if (r.wasActive.length > 0) actions.push({ kind: 'systemctl', args: ['start', ...r.wasActive] });
  return { id: 'resolved', title: `enable and start systemd-resolved again (${[...new Set([...r.wasEnabled, ...r.wasActive])].join(', ')})`, change: actions.length > 0, actions, record: forget };
}

function restoreResolvConfStep(f: SetupFacts, paths: SetupPaths, st: SetupState): Step {
  const path = paths.resolvConf;
  const rc = st.resolvConf;
  const forget = forgetting('resolvConf');
  if (rc === undefined) return { id: 'resolv-conf', title: `${path} was left as it was`, change: false, actions: [], record: same };
  const cur = textOf(f.files[path]);
  const edited = f.files[path]?.kind !== 'file' || cur === null || sha256(cur) !== rc.wroteSha256 ? ' (it was changed since setup wrote it)' : '';
  const s = rc.saved;
  const action: Action = s.kind === 'symlink' ? { kind: 'symlink', path, target: s.target } : s.kind === 'file' ? { kind: 'write', path, text: s.text, mode: s.mode } : { kind: 'remove', path };
  const what = s.kind === 'symlink' ? `the symlink to ${s.target}` : s.kind === 'file' ? 'the file it was' : 'nothing: there was none';
  return { id: 'resolv-conf', title: `restore ${path}: ${what}${edited}`, change: true, actions: [action], record: forget };
}

function restoreNsswitchStep(f: SetupFacts, paths: SetupPaths, st: SetupState): Step {
  const path = paths.nsswitch;
  const ns = st.nsswitch;
  const forget = forgetting('nsswitch');
  if (ns === undefined) return { id: 'nsswitch', title: `${path} was left as it was`, change: false, actions: [], record: same };
  const text = textOf(f.files[path]);
  const restored = text === null ? null : replaceLine(text, ns.after, ns.before);
  if (restored === null) return { id: 'nsswitch', title: `the hosts line of ${path} changed since setup: left as it is (it was "${ns.before.trim()}")`, change: false, actions: [], record: forget };
  const cur = f.files[path];
  return {
    id: 'nsswitch',
    title: `restore the hosts line of ${path}: "${ns.before.trim()}"`,
    change: true,
    actions: [{ kind: 'write', path, text: restored, mode: cur?.kind === 'file' ? cur.mode : 0o644 }],
    record: forget,
  };
}

