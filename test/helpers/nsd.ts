// NSD as a real authoritative server for the signed zones (helpers/signed-zones.ts), inside a
// namespace. It answers queries with RD=1 for its own zones (authoritatively, no RA), REFUSED for
// others, and never recurses, so nothing leaves the namespace. Runs in the foreground (-d) as
// root with no chroot, its state under the namespace's scratch directory.

import { writeFileSync } from 'node:fs';
import type { Netns } from './netns.js';
import { startAnswering, type RunningServer } from './dnsmasq.js';
import type { SignedZone } from './signed-zones.js';

export type Nsd = RunningServer;

export async function startNsd(ns: Netns, o: { listen: string; port?: number; zones: readonly SignedZone[] }): Promise<Nsd> {
  const port = o.port ?? 53;
  const dir = ns.makeTempDir('nsd');
  const conf = [
    'server:',
    `  ip-address: ${o.listen}`,
    `  port: ${port}`,
    '  username: ""',
    '  chroot: ""',
    `  zonesdir: "${dir}"`,
    `  pidfile: "${dir}/nsd.pid"`,
    '  database: ""',
    `  zonelistfile: "${dir}/zone.list"`,
    `  xfrdfile: "${dir}/xfrd.state"`,
    '  server-count: 1',
    '  verbosity: 1',
    'remote-control:',
    '  control-enable: no',
    ...o.zones.flatMap((z) => ['zone:', `  name: ${z.name}`, `  zonefile: "${z.file}"`]),
    '',
  ].join('\n');
  writeFileSync(`${dir}/nsd.conf`, conf);
  return startAnswering(ns, 'nsd', ['-d', '-c', `${dir}/nsd.conf`], { label: `nsd@${ns.name}`, dir, listen: o.listen, port });
}
