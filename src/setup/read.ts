// What setup reads before it plans: the VRF's device, the units (ours, resolved's), the files
// it may replace (with their mode and symlink target), the configuration already in
// /etc/vrf-resolver, its own state file, and whether each upstream server has a route in the
// default VRF. Through a SetupIo, like doctor's HostIo, so tests run against a temp directory.

import { loadConfig } from '../config/load.js';
import { formatEndpoint } from '../config/endpoint.js';
import { ConfigError } from '../errors.js';
import { freeVrfTable, known, unknown, type Known, type LinkFact, type UnitFact } from '../host/facts.js';
import { errnoOf, runProblem } from '../host/io.js';
import { parseLinks, parseSystemctlShow } from '../host/parse.js';
import { loadOptionsFor } from '../systemd/instance.js';
import type { SetupIo } from './io.js';
import { EMPTY_STATE, parseState, type SetupState } from './state.js';

/** Every path setup reads or writes; tests point them into a temp directory. */
export interface SetupPaths {
  readonly configDir: string;
  readonly controlDir: string;
  readonly resolvConf: string;
  readonly nsswitch: string;
  /** resolved's list of the servers it uses (global and per link), in resolv.conf form. */
  readonly resolvedServers: string;
  /** The resolved.conf drop-in of --keep-resolved. */
  readonly resolvedDropIn: string;
  readonly stateFile: string;
}

export type FileFact =
  | { readonly kind: 'absent' }
  | { readonly kind: 'symlink'; readonly target: string; readonly text: string | null }
  | { readonly kind: 'file'; readonly text: string; readonly mode: number };

/** An instance's configuration as it stands: its servers and upstream device, or why it does not load. */
export interface ExistingConfig {
  readonly file: string;
  readonly servers: readonly string[];
  readonly upstreamDevice: string | null;
}

export const RESOLVED_UNITS = ['systemd-resolved.service', 'systemd-resolved-varlink.socket', 'systemd-resolved-monitor.socket'] as const;

export function unitName(instance: string): string {
  return `vrf-resolver@${instance}.service`;
}

export interface SetupFacts {
  readonly vrf: string;
  readonly root: boolean;
  readonly pid1: boolean;
  /** The VRF's device; null when there is none. */
  readonly link: Known<LinkFact | null>;
  /** A routing table no VRF device here uses (host/facts.ts), for the hint to create the VRF; absent: 1000. */
  readonly freeVrfTable?: number;
  readonly units: Known<Readonly<Record<string, UnitFact>>>;
  /** By path: the files of SetupPaths, and the instances' configuration files. */
  readonly files: Readonly<Record<string, FileFact>>;
  /** null: no file. */
  readonly configs: { readonly vrf: Known<ExistingConfig> | null; readonly default: Known<ExistingConfig> | null };
  readonly state: Known<SetupState>;
}

export function configPath(paths: SetupPaths, instance: string): string {
  return `${paths.configDir}/${instance}.conf`;
}

export async function readSetupFacts(vrf: string, paths: SetupPaths, io: SetupIo): Promise<SetupFacts> {
  const pid1 = await io.exists('/run/systemd/system');
  const linkArgs = ['-j', '-d', 'link', 'show'];
  const lr = await io.run('ip', linkArgs);
  const links = lr.code === 0 ? parseLinks(lr.stdout) : [];
  const link: Known<LinkFact | null> = lr.code === 0 ? known(links.find((l) => l.name === vrf) ?? null) : unknown(runProblem('ip', linkArgs, lr));
  const names = [unitName(vrf), unitName('default'), ...RESOLVED_UNITS];
  let units: Known<Record<string, UnitFact>> = unknown('systemd is not PID 1 here');
  if (pid1) {
    const args = ['show', '-p', 'Id,LoadState,ActiveState,UnitFileState', ...names];
    const r = await io.run('systemctl', args);
    units = r.code === 0 ? known(parseSystemctlShow(r.stdout)) : unknown(runProblem('systemctl', args, r));
  }
  const paths2 = [paths.resolvConf, paths.nsswitch, paths.resolvedServers, paths.resolvedDropIn, configPath(paths, vrf), configPath(paths, 'default')];
  const files: Record<string, FileFact> = {};
  for (const p of paths2) files[p] = await readFileFact(io, p);
  const stateFile = await readFileFact(io, paths.stateFile);
  let state: Known<SetupState> = known(EMPTY_STATE);
  if (stateFile.kind === 'file') {
    try {
      state = known(parseState(stateFile.text, paths.stateFile));
    } catch (e) {
      state = unknown((e as Error).message);
    }
  }
  const existing = (instance: string): Known<ExistingConfig> | null =>
    files[configPath(paths, instance)]?.kind === 'absent' ? null : loadExisting(instance, paths.configDir);
  return { vrf, root: io.uid() === 0, pid1, link, freeVrfTable: freeVrfTable(links), units, files, configs: { vrf: existing(vrf), default: existing('default') }, state };
}

async function readFileFact(io: SetupIo, path: string): Promise<FileFact> {
  let target: string | null;
  try {
    target = await io.readLink(path);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return { kind: 'absent' };
    throw e;
  }
  if (target !== null) {
    let text: string | null = null;
    try {
      text = await io.readFile(path);
    } catch {
      text = null; // dangling: resolved's stub file while resolved is stopped
    }
    return { kind: 'symlink', target, text };
  }
  return { kind: 'file', text: await io.readFile(path), mode: await io.mode(path) };
}

/** The instance's effective servers, as `vrf-resolver check-config --instance NAME` sees them. */
function loadExisting(instance: string, configDir: string): Known<ExistingConfig> {
  const { load, label } = loadOptionsFor({ instance, flags: {} }, configDir);
  try {
    const c = loadConfig(load);
    return known({ file: label, servers: c.upstream.servers.map((e) => (e.port === 53 ? e.address : formatEndpoint(e))), upstreamDevice: c.upstream.device === c.vrf ? null : c.upstream.device });
  } catch (e) {
    const why = e instanceof ConfigError ? e.problems.map((p) => `${p.path}: ${p.message}`).join('; ') : (e as Error).message;
    return unknown(`${label} does not load (${why}): fix it (vrf-resolver check-config --instance ${instance}) or move it away`);
  }
}

/** Whether `ip route get ADDR` finds a route in the default VRF (no device, no VRF table). */
export async function routesInDefaultVrf(io: SetupIo, addresses: readonly string[]): Promise<Record<string, boolean>> {
  const out: Record<string, boolean> = {};
  for (const a of addresses) out[a] = (await io.run('ip', ['-j', 'route', 'get', a])).code === 0;
  return out;
}
