// `--vrf eth0` binds every socket to eth0, and that works: queries arriving on eth0 are
// answered and upstream queries leave through it. It is rarely what was meant (the VRF is the
// device eth0 is enslaved to), and nothing fails to say so. run and ensure-loopback warn when
// the device is not of kind vrf (ip -j -d link show: linkinfo.info_kind). Where ip cannot ask
// (the resolver's sandbox has no AF_NETLINK) there is no warning; the unit's privileged
// ensure-loopback step gives it instead.

import { parseLinks } from '../host/parse.js';
import { runIp, type IpRunner } from './loopback.js';

/** The warning for a device that exists and is not a VRF; null for a VRF, a missing device, or when ip cannot tell. */
export async function notAVrfWarning(device: string, ip: IpRunner = runIp): Promise<string | null> {
  try {
    const r = await ip(['-j', '-d', 'link', 'show', 'dev', device]);
    if (r.code !== 0) return null; // no such device: the bind says so with ENODEV
    const link = parseLinks(r.stdout)[0];
    if (link === undefined || link.kind === 'vrf') return null;
    const vrf = link.master !== null ? `; it is enslaved to ${link.master}, which may be the VRF meant (VRF=${link.master})` : '';
    return `${device} is a ${link.kind ?? 'plain'} device, not a VRF: every socket is bound to ${device} itself, so only clients ` +
      `whose traffic comes in on ${device} reach this instance, and upstream queries leave through it, not through a VRF's table${vrf}. ` +
      'ip -br link show type vrf lists the VRF devices';
  } catch {
    return null;
  }
}
