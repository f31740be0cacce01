// The VRF's own loopback addresses. A listener on 127.0.0.1 or ::1 bound to the VRF device
// needs the address on that device (ip addr add 127.0.0.1/8 dev mgmt, as Cumulus and SONiC
// configure it); without it bind() fails with EADDRNOTAVAIL. Adding them needs
// CAP_NET_ADMIN, so a privileged companion unit does it (vrf-resolver-net@NAME runs
// `vrf-resolver ensure-loopback --instance %i`, before the start and whenever the device
// appears) and the resolver keeps only
// CAP_NET_BIND_SERVICE. iproute2 does the work: it is on every host with VRFs, and its errors
// are the ones operators know.

import { spawn } from 'node:child_process';
import type { Config } from '../config/types.js';

export interface LoopbackAddress {
  readonly family: 4 | 6;
  /** What `ip addr add` gets. */
  readonly cidr: '127.0.0.1/8' | '::1/128';
  readonly address: '127.0.0.1' | '::1';
}

const V4: LoopbackAddress = { family: 4, cidr: '127.0.0.1/8', address: '127.0.0.1' };
const V6: LoopbackAddress = { family: 6, cidr: '::1/128', address: '::1' };

/**
 * The loopback addresses the VRF device needs for this config's listeners: 127.0.0.1/8 for a
 * listener in 127.0.0.0/8, ::1/128 for one on ::1. None in the default VRF (lo has them) or
 * with AddLoopbackAddresses=no.
 */
export function neededLoopback(config: Config): { device: string; addresses: LoopbackAddress[] } | null {
  if (config.vrf === null || config.addLoopbackAddresses === false) return null;
  const listen = config.server.listen;
  const addresses = [
    ...(listen.some((ep) => ep.family === 4 && ep.address.startsWith('127.')) ? [V4] : []),
    ...(listen.some((ep) => ep.family === 6 && ep.address === '::1') ? [V6] : []),
  ];
  return addresses.length === 0 ? null : { device: config.vrf, addresses };
}

export interface IpResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}
export type IpRunner = (args: readonly string[]) => Promise<IpResult>;

export interface EnsureResult {
  readonly added: readonly string[];
  readonly present: readonly string[];
}

/** Adds the missing addresses; throws with iproute2's own message when it cannot. */
export async function ensureLoopback(device: string, wanted: readonly LoopbackAddress[], ip: IpRunner = runIp): Promise<EnsureResult> {
  const shown = await ip(['-j', 'addr', 'show', 'dev', device]);
  if (shown.code !== 0) throw new Error(`ip addr show dev ${device}: ${firstLine(shown.stderr) || `exit ${String(shown.code)}`}`);
  const have = new Set(addressesOf(shown.stdout));
  const added: string[] = [];
  const present: string[] = [];
  for (const a of wanted) {
    if (have.has(a.address)) {
      present.push(a.cidr);
      continue;
    }
    // nodad: a tentative ::1 would refuse bind() until duplicate address detection ends.
    const args = a.family === 4 ? ['addr', 'add', a.cidr, 'dev', device] : ['-6', 'addr', 'add', a.cidr, 'dev', device, 'nodad'];
    const r = await ip(args);
    if (r.code !== 0) {
      // The kernel takes ::1 only on lo and on l3mdev masters (VRF devices).
      const hint = /Cannot assign loopback address/.test(r.stderr) ? ` (is ${device} a VRF device? ip -d link show ${device})` : '';
      throw new Error(`ip ${args.join(' ')}: ${firstLine(r.stderr) || `exit ${String(r.code)}`}${hint}`);
    }
    added.push(a.cidr);
  }
  return { added, present };
}

/** The local addresses in `ip -j addr show` output, any prefix length. */
export function addressesOf(json: string): string[] {
  const links = JSON.parse(json || '[]') as { addr_info?: { local?: string }[] }[];
  return links.flatMap((l) => (l.addr_info ?? []).map((a) => a.local ?? '')).filter((a) => a !== '');
}

function firstLine(s: string): string {
  return s.trim().split('\n')[0] ?? '';
}

/** Runs `ip` (found on PATH: /usr/sbin or /sbin) with a 10 s bound. */
export function runIp(args: readonly string[]): Promise<IpResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', [...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000, killSignal: 'SIGKILL' });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'ENOENT' ? new Error('the ip command (iproute2) is not installed: apt-get install iproute2') : e));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
