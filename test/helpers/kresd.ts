// Knot Resolver (kresd) as a real validating resolver downstream of us: it forwards every query
// to one server (policy.FORWARD, which validates, unlike policy.STUB) and trusts only the trust
// anchors it is given, the root's removed, so it validates exactly the test zones and treats
// everything else as insecure. Each start gets an empty cache directory, so a restart asks
// everything again.

import { writeFileSync } from 'node:fs';
import type { Netns } from './netns.js';
import { startAnswering, type RunningServer } from './dnsmasq.js';

export type Kresd = RunningServer;

export interface KresdOptions {
  listen: string;
  port?: number;
  /** Where every query goes: address and port. */
  forwardTo: { address: string; port: number };
  /** DS records in presentation form. */
  trustAnchors: readonly string[];
}

const lua = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export async function startKresd(ns: Netns, o: KresdOptions): Promise<Kresd> {
  const port = o.port ?? 53;
  const dir = ns.makeTempDir('kresd');
  const conf = [
    `net.listen(${lua(o.listen)}, ${port}, { kind = 'dns' })`,
    "trust_anchors.remove('.')",
    ...o.trustAnchors.map((ta) => `trust_anchors.add(${lua(ta)})`),
    "modules = { 'hints > iterate' }",
    'cache.size = 10 * MB',
    `policy.add(policy.all(policy.FORWARD({${lua(`${o.forwardTo.address}@${o.forwardTo.port}`)}})))`,
    '',
  ].join('\n');
  writeFileSync(`${dir}/kresd.conf`, conf);
  // -n: no interactive console on stdin; the last argument is its working and cache directory.
  return startAnswering(ns, 'kresd', ['-n', '-c', `${dir}/kresd.conf`, dir], { label: `kresd@${ns.name}`, dir, listen: o.listen, port });
}
