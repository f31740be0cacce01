// A full, checked walk of an upstream reply: header, the one question, every RR with its
// framing checked against RDLENGTH, OPT only once and only in the additional section, no
// trailing bytes. Records keep their offsets into the original buffer; nothing is decoded
// beyond what classification and the cache need.

import { EDNS_DO, F2_QR, F3_RCODE_MASK, HEADER_LEN, TYPE } from './constants.js';
import { NameScratch, WireError } from './name.js';
import { readRecord } from './record.js';
import { read16 } from './bytes.js';

export const Section = { Answer: 0, Authority: 1, Additional: 2 } as const;
export type Section = (typeof Section)[keyof typeof Section];

export interface ResourceRecord {
  readonly section: Section;
  /** Where the owner name starts in the reply (possibly compressed; writer.ts reads it there). */
  readonly ownerOff: number;
  /** Owner name, lowercase wire key. */
  readonly ownerKey: string;
  readonly type: number;
  readonly klass: number;
  readonly ttl: number;
  readonly rdataOff: number;
  readonly rdlen: number;
}

export interface ReplyOpt {
  readonly udpSize: number;
  readonly extRcode: number;
  readonly version: number;
  readonly do: boolean;
}

export interface Reply {
  readonly msg: Buffer;
  readonly id: number;
  readonly flags2: number;
  readonly flags3: number;
  /** Full RCODE: header bits plus the OPT record's extended bits (RFC 6891 section 6.1.3). */
  readonly rcode: number;
  /** The question as sent back: lowercase name key, type, class; question bytes end here. */
  readonly qnameKey: string;
  readonly qtype: number;
  readonly qclass: number;
  readonly questionEnd: number;
  readonly records: readonly ResourceRecord[];
  readonly opt: ReplyOpt | null;
}

/** Upper bound of records we walk in one reply (64 KiB / 11-byte minimum RR ≈ 5957). */
const MAX_RECORDS = 6000;

const SECTIONS = [Section.Answer, Section.Authority, Section.Additional] as const;

/** Names are read here, one after another (parseReply runs to its end without yielding). */
const names = new NameScratch();

/** Parses a reply that should answer a single question. Throws WireError when malformed. */
export function parseReply(msg: Buffer): Reply {
  if (msg.length < HEADER_LEN) throw new WireError('short-header');
  if (read16(msg, 4) !== 1) throw new WireError('qdcount');
  const counts = [read16(msg, 6), read16(msg, 8), read16(msg, 10)] as const;
  if (counts[0] + counts[1] + counts[2] > MAX_RECORDS) throw new WireError('truncated');

  const qnameNext = names.read(msg, HEADER_LEN);
  const qnameKey = names.key();
  if (qnameNext + 4 > msg.length) throw new WireError('truncated');
  const qtype = read16(msg, qnameNext);
  const qclass = read16(msg, qnameNext + 2);
  let pos = qnameNext + 4;
  const questionEnd = pos;

  const records: ResourceRecord[] = [];
  let opt: ReplyOpt | null = null;
  for (const section of SECTIONS) {
    for (let i = 0; i < counts[section]; i++) {
      const rr = readRecord(msg, pos, names);
      pos = rr.next;
      if (rr.type === TYPE.OPT) {
        if (section !== Section.Additional) throw new WireError('opt-section');
        if (names.len !== 1) throw new WireError('opt-owner');
        if (opt) throw new WireError('opt-duplicate');
        opt = { udpSize: rr.klass, extRcode: rr.ttl >>> 24, version: (rr.ttl >>> 16) & 0xff, do: (rr.ttl & EDNS_DO) !== 0 };
      } else {
        records.push({
          section,
          ownerOff: rr.ownerOff,
          ownerKey: names.key(),
          type: rr.type,
          klass: rr.klass,
          ttl: rr.ttl > 0x7fffffff ? 0 : rr.ttl, // RFC 2181 section 8: a TTL with the top bit set means zero
          rdataOff: rr.rdataOff,
          rdlen: rr.rdlen,
        });
      }
    }
  }
  if (pos !== msg.length) throw new WireError('trailing-bytes');
  const flags3 = msg[3]!;
  return {
    msg,
    id: read16(msg, 0),
    flags2: msg[2]!,
    flags3,
    rcode: ((opt?.extRcode ?? 0) << 4) | (flags3 & F3_RCODE_MASK),
    qnameKey,
    qtype,
    qclass,
    questionEnd,
    records,
    opt,
  };
}

/**
 * RFC 5452 section 3: a reply is ours only with our ID, QR set, one question, and the question
 * we asked (name compared without regard to ASCII case, type and class exactly). The question
 * we sent (name, type, class) is `sent[start, end)`: a query of ours is passed whole rather
 * than sliced, so an exchange keeps no view of its own. `exactCase`: the name's letters must
 * also keep the case we sent (draft-vixie-dnsext-dns0x20, RandomizeCase=).
 */
export function replyMatches(reply: Buffer, id: number, sent: Buffer, start: number, end: number, exactCase = false): boolean {
  const questionLen = end - start;
  if (reply.length < HEADER_LEN + questionLen) return false;
  if (read16(reply, 0) !== id || (reply[2]! & F2_QR) === 0) return false;
  if (read16(reply, 4) !== 1) return false;
  const nameLen = questionLen - 4;
  for (let i = 0; i < nameLen; i++) {
    let a = reply[HEADER_LEN + i]!;
    let b = sent[start + i]!;
    if (exactCase) {
      if (a !== b) return false;
      continue;
    }
    if (a >= 0x41 && a <= 0x5a) a |= 0x20;
    if (b >= 0x41 && b <= 0x5a) b |= 0x20;
    if (a !== b) return false;
  }
  // Type and class, exactly: four bytes compared here, not by Buffer#compare, a native call.
  for (let i = nameLen; i < questionLen; i++) if (reply[HEADER_LEN + i] !== sent[start + i]) return false;
  return true;
}
