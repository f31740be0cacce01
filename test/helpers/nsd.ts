// NSD as a real authoritative server for the signed zones (helpers/signed-zones.ts), inside a
// namespace. It answers queries with RD=1 for its own zones (authoritatively, no RA), REFUSED for
// others, and never recurses, so nothing leaves the namespace. Runs in the foreground (-d) as
// root with no chroot, its state under the namespace's scratch directory.

import { rmSync, writeFileSync } from 'node:fs';
import type { Netns } from './netns.js';
import { spawnManaged, type ExitInfo, type ManagedProcess } from './process.js';
import { waitUntilAnswering } from './dnsmasq.js';
import type { SignedZone } from './signed-zones.js';

export interface Nsd {
  readonly proc: ManagedProcess;
  stop(): Promise<ExitInfo>;
}

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
  const proc = spawnManaged(ns, 'nsd', ['-d', '-c', `${dir}/nsd.conf`], { label: `nsd@${ns.name}` });
  const stop = async (): Promise<ExitInfo> => {
    const info = await proc.stop();
    rmSync(dir, { recursive: true, force: true });
    return info;
  };
  try {
    await waitUntilAnswering(ns, proc, [o.listen], port);
  } catch (err) {
    await stop();
    throw err;
  }
  return { proc, stop };
}
