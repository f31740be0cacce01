// One resource record's framing (RFC 1035 section 4.1.3): owner name, TYPE, CLASS, TTL and
// RDLENGTH, with the RDATA checked to lie inside the message. Shared by the query checks and
// the reply walk, which differ only in what they accept where.

import { WireError, type NameScratch } from './name.js';
import { read16, read32 } from './bytes.js';

export interface RecordHeader {
  /** Where the owner name starts in the message (possibly compressed). */
  readonly ownerOff: number;
  readonly type: number;
  readonly klass: number;
  /** The raw 32-bit TTL field (for OPT: extended RCODE, version and flags, RFC 6891 6.1.3). */
  readonly ttl: number;
  readonly rdataOff: number;
  readonly rdlen: number;
  /** Offset of the next record. */
  readonly next: number;
}

/** Reads the record at `pos`; its owner name is left in `names` (uncompressed, original case). */
export function readRecord(msg: Buffer, pos: number, names: NameScratch): RecordHeader {
  const at = names.read(msg, pos);
  if (at + 10 > msg.length) throw new WireError('truncated');
  const rdlen = read16(msg, at + 8);
  const rdataOff = at + 10;
  if (rdataOff + rdlen > msg.length) throw new WireError('rdlength');
  return {
    ownerOff: pos,
    type: read16(msg, at),
    klass: read16(msg, at + 2),
    ttl: read32(msg, at + 4),
    rdataOff,
    rdlen,
    next: rdataOff + rdlen,
  };
}
