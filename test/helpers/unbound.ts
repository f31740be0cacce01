// unbound as an upstream serving a static local zone, for what dnsmasq cannot do at once:
// per-record TTLs AND an SOA in negative answers (verified with unbound 1.17.1):
// - local-data without a TTL is served with TTL 3600;
// - NXDOMAIN/NODATA in a `static` zone carry the zone SOA, aa set, and the SOA's TTL in the
//   answer is the SOA MINIMUM field (e.g. SOA "... 3600 IN SOA ... 30" is returned with TTL 30);
// - `local-zone: "." refuse` means it never recurses, so it never sends traffic anywhere
//   (built-in zones such as invalid. still answer NXDOMAIN);
// - query log lines: `[ts] unbound[pid:0] info: <client> <name>. <TYPE> <CLASS>`.

import { rmSync, writeFileSync } from 'node:fs';
import type { Netns } from './netns.js';
import { spawnManaged } from './process.js';
import { upstreamHandle, waitUntilAnswering, type UpstreamServer } from './dnsmasq.js';

export interface UnboundOptions {
  listen: string[];
  port?: number;
  /** Zone served as `static`; default example.test. */
  zone?: string;
  /** Zone-file lines, e.g. 'www.example.test. 300 IN A 192.0.2.1'. */
  localData?: string[];
  /** SOA MINIMUM (negative TTL) of the generated SOA; default 30. Ignored if localData has an SOA. */
  negativeTtl?: number;
  /** Extra lines for the `server:` clause. */
  extraConf?: string[];
}

// Quoted for unbound.conf: local-data takes a string.
const q = (s: string): string => `"${s.replace(/"/g, '\\"')}"`;

const UNBOUND_QUERY_RE = /\binfo: ([0-9a-fA-F.:]+) (\S+) (\S+) (IN|CH|HS|ANY|CLASS\d+)$/;

export async function startUnbound(ns: Netns, o: UnboundOptions): Promise<UpstreamServer> {
  const port = o.port ?? 53;
  const zone = (o.zone ?? 'example.test').replace(/\.$/, '');
  const dir = ns.makeTempDir('unbound');
  const logFile = `${dir}/unbound.log`;
  const data = o.localData ?? [];
  const hasSoa = data.some((l) => /\sSOA\s/i.test(l));
  const soa = `${zone}. 3600 IN SOA ns.${zone}. hostmaster.${zone}. 1 3600 600 86400 ${o.negativeTtl ?? 30}`;
  const conf = [
    'server:',
    ...o.listen.map((a) => `  interface: ${a}`),
    `  port: ${port}`,
    '  do-daemonize: no',
    '  username: ""', // stay root: no chroot/user setup needed on the test machine
    '  chroot: ""',
    `  directory: ${q(dir)}`,
    '  pidfile: ""',
    '  use-syslog: no',
    `  logfile: ${q(logFile)}`,
    '  log-queries: yes',
    '  verbosity: 1',
    '  num-threads: 1',
    '  access-control: 0.0.0.0/0 allow', // only reachable inside our namespace anyway
    '  access-control: ::/0 allow',
    '  module-config: "iterator"', // no validator: no trust anchor files needed
    '  local-zone: "." refuse', // never recurse to the internet
    `  local-zone: ${q(`${zone}.`)} static`,
    ...(hasSoa ? [] : [`  local-data: ${q(soa)}`]),
    ...data.map((l) => `  local-data: ${q(l)}`),
    ...(o.extraConf ?? []).map((l) => `  ${l}`),
    'remote-control:',
    '  control-enable: no',
    '',
  ].join('\n');
  writeFileSync(`${dir}/unbound.conf`, conf);
  const proc = spawnManaged(ns, 'unbound', ['-d', '-c', `${dir}/unbound.conf`], { label: `unbound@${ns.name}` });
  try {
    await waitUntilAnswering(ns, proc, o.listen, port);
  } catch (err) {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return upstreamHandle(proc, logFile, (line) => {
    const m = UNBOUND_QUERY_RE.exec(line);
    return m ? { client: m[1] ?? '', name: m[2] ?? '', type: m[3] ?? '' } : undefined;
  }, dir);
}
