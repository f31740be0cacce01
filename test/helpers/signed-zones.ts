// DNSSEC-signed zones made at test time with BIND's tools (bind9-utils: dnssec-keygen,
// dnssec-signzone, dnssec-dsfromkey), algorithm 13 (ECDSA P-256 SHA-256), fresh keys every run:
// nothing signed is checked in, so signatures never expire under CI.
//
// Two families, each a signed parent with a signed child (secure delegation, DS in the parent)
// and an unsigned child (insecure delegation, DS denied by NSEC/NSEC3):
//   n3.vrlab.  NSEC3 (no salt, 0 iterations, RFC 9276)   sub.n3.vrlab. signed, insecure.n3.vrlab. not
//   n1.vrlab.  NSEC                                      sub.n1.vrlab. signed, insecure.n1.vrlab. not
// A wildcard CNAME into an NXDOMAIN of another zone needs proofs from two zones in one answer:
// n3.vrlab. has one (*.wcx, NSEC3 wildcard proof, NSEC denial in n1.vrlab.). Knot Resolver 5.6
// itself answers SERVFAIL, talking to NSD directly, for the other combinations (an NSEC
// wildcard proof with any denial from another zone, or NSEC3 with NSEC3), so n1.vrlab. has none.
// The TLD is made up on purpose: Knot Resolver refuses special-use names such as test. and
// invalid. (RFC 6761) before any policy runs.

import { readFileSync, writeFileSync } from 'node:fs';
import { runOk } from './exec.js';

export type DenialKind = 'nsec3' | 'nsec';

export interface SignedZone {
  readonly name: string;
  /** File to serve: the signed zone, or the plain one for an unsigned zone. */
  readonly file: string;
  readonly signed: boolean;
}

export interface SignedZoneSet {
  readonly zones: readonly SignedZone[];
  /** DS records of the two parents, e.g. 'n3.vrlab. IN DS 1234 13 2 ABCD...': the trust anchors. */
  readonly trustAnchors: readonly string[];
}

/** The parent of family `kind`; the other family's parent is the target of cross-zone CNAMEs. */
export const familyZone = (kind: DenialKind): string => (kind === 'nsec3' ? 'n3.vrlab' : 'n1.vrlab');
const otherZone = (kind: DenialKind): string => familyZone(kind === 'nsec3' ? 'nsec' : 'nsec3');

/** Seven 200-octet strings: ~1.4 KB of TXT, over the 1232 octets advertised on UDP, so TC and TCP. */
const BIG_TXT = Array.from({ length: 7 }, (_, i) => `"${String.fromCharCode(0x61 + i).repeat(200)}"`).join(' ');

function header(zone: string): string[] {
  return ['$TTL 3600', `@ IN SOA ns.${zone}. hostmaster.${zone}. 1 3600 600 86400 300`, '@ NS ns', 'ns A 192.0.2.53'];
}

/** A delegated child: apex, one name, so its own NXDOMAIN and NODATA can be asked. */
function childBody(zone: string): string {
  return [...header(zone), 'www A 192.0.2.21', ''].join('\n');
}

/** The parent zone: every shape of answer the validator test asks about (test/integration/dnssec-validator.test.ts). */
function parentBody(kind: DenialKind, zone: string, childDs: string): string {
  return [
    ...header(zone),
    'www A 192.0.2.1',
    'www AAAA 2001:db8::1',
    'alias CNAME www',
    'chain CNAME alias',
    `cross CNAME www.${otherZone(kind)}.`,
    '*.wild A 192.0.2.10',
    '*.wild TXT "wild"',
    '*.wc CNAME www',
    ...(kind === 'nsec3' ? [`*.wcx CNAME nope.${otherZone(kind)}.`] : []),
    'a.b.ent A 192.0.2.11',
    'dname DNAME dtarget',
    'a.dtarget A 192.0.2.12',
    `big TXT ${BIG_TXT}`,
    'sub NS ns.sub',
    'ns.sub A 192.0.2.54',
    childDs.trim(),
    'insecure NS ns.insecure',
    'ns.insecure A 192.0.2.55',
    '',
  ].join('\n');
}

/** Makes a KSK and a ZSK for `zone` in `dir`, appends their DNSKEYs to the zone file, signs it; returns the DS. */
async function sign(dir: string, zone: string, kind: DenialKind, body: string): Promise<{ file: string; ds: string }> {
  const keygen = async (ksk: boolean): Promise<string> =>
    (await runOk('dnssec-keygen', ['-q', '-K', dir, '-a', 'ECDSAP256SHA256', ...(ksk ? ['-f', 'KSK'] : []), '-n', 'ZONE', zone])).stdout.trim();
  const ksk = await keygen(true);
  const zsk = await keygen(false);
  const plain = `${dir}/${zone}.zone`;
  const keys = [ksk, zsk].map((k) => readFileSync(`${dir}/${k}.key`, 'utf8')).join('');
  writeFileSync(plain, body + keys);
  const file = `${dir}/${zone}.signed`;
  const denial = kind === 'nsec3' ? ['-3', '-'] : [];
  await runOk('dnssec-signzone', ['-q', '-K', dir, ...denial, '-d', dir, '-o', zone, '-f', file, plain, `${dir}/${ksk}`, `${dir}/${zsk}`], {
    timeoutMs: 30_000,
  });
  const ds = (await runOk('dnssec-dsfromkey', ['-2', `${dir}/${ksk}.key`])).stdout.trim();
  return { file, ds };
}

/** Generates and signs both families in `dir` (an empty scratch directory). */
export async function makeSignedZones(dir: string): Promise<SignedZoneSet> {
  const zones: SignedZone[] = [];
  const trustAnchors: string[] = [];
  for (const kind of ['nsec3', 'nsec'] as const) {
    const parent = familyZone(kind);
    const child = await sign(dir, `sub.${parent}`, kind, childBody(`sub.${parent}`));
    zones.push({ name: `sub.${parent}`, file: child.file, signed: true });
    const insecure = `insecure.${parent}`;
    writeFileSync(`${dir}/${insecure}.zone`, childBody(insecure));
    zones.push({ name: insecure, file: `${dir}/${insecure}.zone`, signed: false });
    const top = await sign(dir, parent, kind, parentBody(kind, parent, child.ds));
    zones.push({ name: parent, file: top.file, signed: true });
    trustAnchors.push(top.ds);
  }
  return { zones, trustAnchors };
}
