// One resource record's framing (RFC 1035 section 4.1.3): owner name, TYPE, CLASS, TTL and
// RDLENGTH, with the RDATA checked to lie inside the message. Shared by the query checks and
// the reply walk, which differ only in what they accept where.

import { readName, WireError } from './name.js';

export interface RecordHeader {
  /** Owner name, uncompressed wire form, original case. */
  readonly owner: Buffer;
  readonly type: number;
  readonly klass: number;
  /** The raw 32-bit TTL field (for OPT: extended RCODE, version and flags, RFC 6891 6.1.3). */
  readonly ttl: number;
  readonly rdataOff: number;
  readonly rdlen: number;
  /** Offset of the next record. */
  readonly next: number;
}

export function readRecord(msg: Buffer, pos: number): RecordHeader {
  const owner = readName(msg, pos);
  const at = owner.next;
  if (at + 10 > msg.length) throw new WireError('truncated');
  const rdlen = msg.readUInt16BE(at + 8);
  const rdataOff = at + 10;
  if (rdataOff + rdlen > msg.length) throw new WireError('rdlength');
  return {
    owner: owner.wire,
    type: msg.readUInt16BE(at),
    klass: msg.readUInt16BE(at + 2),
    ttl: msg.readUInt32BE(at + 4),
    rdataOff,
    rdlen,
    next: rdataOff + rdlen,
  };
}
