// Which DNSSEC records travel with an answer. A validating resolver behind us checks what we pass
// on, so a security-aware forwarder must keep, for DO clients, every signature over a record it
// keeps and every NSEC/NSEC3 proof of a denial or a wildcard expansion (RFC 4035 sections 3.1.3
// and 3.2.1, RFC 5155 section 7.2), and nothing that signs a record it drops. "The zone" of a
// proof is never guessed from names: it is the SOA's owner for a denial and the RRSIG's signer
// name for a wildcard expansion (RFC 4035 section 5.3.4).

import { TYPE } from './constants.js';
import { WireError, isSubdomain, labelCount, readNameKey } from './name.js';
import type { ResourceRecord } from './message.js';
import { read16 } from './bytes.js';

/** RRSIG RDATA up to the signer's name: type covered, algorithm, labels, TTL, times, key tag (RFC 4034 3.1). */
const RRSIG_FIXED = 18;
/** The Labels field's offset in RRSIG RDATA (RFC 4034 3.1.3). */
const RRSIG_LABELS = 3;

/** Type Covered of an RRSIG (RFC 4034 3.1.1). Throws WireError when the RDATA is too short for one. */
export function coveredType(msg: Buffer, sig: ResourceRecord): number {
  if (sig.rdlen < RRSIG_FIXED + 1) throw new WireError('rdata-shape');
  return read16(msg, sig.rdataOff);
}

/** No records: what signaturesOver finds in a reply without RRSIGs. Never added to. */
export const NO_RECORDS: ReadonlySet<ResourceRecord> = new Set();

function hasType(records: readonly ResourceRecord[], type: number): boolean {
  for (const r of records) if (r.type === type) return true;
  return false;
}

/**
 * The RRSIGs among `records` that sign one of the RRsets in `signed` (same owner, Type Covered
 * equal to the RRset's type). Others are orphans: signatures over records we drop, which a
 * validator would never use. Only RRSIGs at an owner we keep are read, so a malformed one
 * elsewhere costs nothing; a malformed one we would pass on throws WireError.
 */
export function signaturesOver(msg: Buffer, records: readonly ResourceRecord[], signed: readonly ResourceRecord[]): ReadonlySet<ResourceRecord> {
  if (!hasType(records, TYPE.RRSIG)) return NO_RECORDS; // most replies: no sets to build
  const owners = new Set<string>();
  const rrsets = new Set<string>();
  for (const r of signed) {
    owners.add(r.ownerKey);
    rrsets.add(r.ownerKey + String.fromCharCode(r.type));
  }
  const out = new Set<ResourceRecord>();
  for (const sig of records) {
    if (sig.type !== TYPE.RRSIG || !owners.has(sig.ownerKey)) continue;
    if (rrsets.has(sig.ownerKey + String.fromCharCode(coveredType(msg, sig)))) out.add(sig);
  }
  return out;
}

/**
 * The zone whose NSEC/NSEC3 records must prove an RRset's wildcard expansion, or null when the
 * RRSIG does not mark one. An RRSIG's Labels field counts the owner's labels without a leading
 * "*"; fewer labels than the owner has means the answer was synthesized from a wildcard (RFC 4035
 * 5.3.4), and the proof that no closer name exists comes from the signer's zone (RFC 4035
 * 3.1.3.3, RFC 5155 7.2.6). A signer that is not an ancestor of the owner signs nothing here
 * (RFC 4035 5.3.1) and widens nothing.
 */
export function wildcardZone(msg: Buffer, sig: ResourceRecord): string | null {
  if (sig.rdlen < RRSIG_FIXED + 1) throw new WireError('rdata-shape');
  const labels = msg[sig.rdataOff + RRSIG_LABELS]!;
  const owner = sig.ownerKey;
  const ownerLabels = labelCount(owner) - (owner.startsWith('\x01*') ? 1 : 0);
  if (labels >= ownerLabels) return null;
  const signer = readNameKey(msg, sig.rdataOff + RRSIG_FIXED);
  return isSubdomain(owner, signer) ? signer : null;
}

/** NSEC and NSEC3 records owned inside one of `zones` (NSEC3 owners are <hash>.<zone>, RFC 5155 3). */
export function proofsIn(records: readonly ResourceRecord[], zones: ReadonlySet<string>): ResourceRecord[] {
  if (zones.size === 0) return [];
  const inZone = (owner: string) => {
    for (const z of zones) if (isSubdomain(owner, z)) return true;
    return false;
  };
  return records.filter((r) => (r.type === TYPE.NSEC || r.type === TYPE.NSEC3) && inZone(r.ownerKey));
}
