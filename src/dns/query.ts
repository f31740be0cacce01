// Checks a client's query before anything trusts it (ARCHITECTURE.md "A query's way through", step 2).
// dns-packet accepts RDLENGTH mismatches, trailing bytes, QDCOUNT 0 or 2, several OPT records and
// EDNS version 1, so we walk the wire ourselves; the walk is linear in the message length and
// never throws past parseQuery.

import {
  CLASS_IN,
  EDNS_DO,
  F2_OPCODE_MASK,
  F2_QR,
  F2_RD,
  F3_AD,
  F3_CD,
  HEADER_LEN,
  MAX_LABEL_LEN,
  MAX_NAME_LEN,
  OPCODE_QUERY,
  RCODE,
  TYPE,
} from './constants.js';
import { NameScratch, WireError, questionKey, type WireFault } from './name.js';
import { readRecord } from './record.js';
import { read16 } from './bytes.js';

/**
 * Queries larger than this are dropped unread. A query is one question plus an OPT record with
 * a few options (cookies, padding); 4096 leaves room for RFC 7830 padding to 468-octet blocks
 * many times over while keeping a crafted message cheap to reject.
 */
export const MAX_QUERY_LEN = 4096;

export interface Edns {
  /** Requestor's UDP payload size (RFC 6891 section 6.2.3); values below 512 count as 512. */
  readonly udpSize: number;
  readonly version: number;
  /** DNSSEC OK (RFC 3225). */
  readonly do: boolean;
}

export interface Query {
  readonly msg: Buffer;
  readonly rd: boolean;
  readonly cd: boolean;
  readonly ad: boolean;
  /** Offset just after the question name; the name itself is msg[12, qnameEnd). */
  readonly qnameEnd: number;
  /** Offset just after QTYPE and QCLASS. */
  readonly questionEnd: number;
  readonly qtype: number;
  readonly qclass: number;
  /** The question name in lowercase wire form (a latin1 string). */
  readonly nameKey: string;
  /** Cache key: name, type, class, DO and CD (ARCHITECTURE.md, a query's way through, step 3). */
  readonly key: string;
  readonly edns: Edns | null;
}

export type QueryVerdict =
  | { readonly kind: 'ok'; readonly query: Query }
  /** Not answered at all: unreadable header, oversize, or a response (QR=1) sent to us. */
  | { readonly kind: 'drop'; readonly fault: WireFault }
  /** Answered with an error rcode; questionEnd is 0 when the question cannot be echoed. */
  | {
      readonly kind: 'error';
      readonly rcode: number;
      readonly fault: WireFault | 'opcode' | 'refused-type' | 'refused-class' | 'edns-version';
      readonly questionEnd: number;
      readonly edns: Edns | null;
    };

const drop = (fault: WireFault): QueryVerdict => ({ kind: 'drop', fault });
const error = (
  rcode: number,
  fault: Extract<QueryVerdict, { kind: 'error' }>['fault'],
  questionEnd = 0,
  edns: Edns | null = null,
): QueryVerdict => ({ kind: 'error', rcode, fault, questionEnd, edns });

export function parseQuery(msg: Buffer): QueryVerdict {
  if (msg.length < HEADER_LEN) return drop('short-header');
  if (msg.length > MAX_QUERY_LEN) return drop('oversize');
  const f2 = msg[2]!;
  // Never answer a response: two resolvers answering each other's answers loop forever.
  if (f2 & F2_QR) return drop('qr-set');
  const qdcount = read16(msg, 4);
  const questionEnd = qdcount === 1 ? scanQuestion(msg) : -1;

  // RFC 1035 section 4.1.1: NOTIMP for kinds of query we do not support (NOTIFY, UPDATE...).
  // Their sections mean other things, so nothing past the header is checked.
  if ((f2 & F2_OPCODE_MASK) >> 3 !== OPCODE_QUERY) return error(RCODE.NOTIMP, 'opcode', Math.max(questionEnd, 0));
  // RFC 9619: a query holds exactly one question.
  if (qdcount !== 1) return error(RCODE.FORMERR, 'qdcount');
  if (questionEnd < 0) return error(RCODE.FORMERR, questionEnd === -2 ? 'pointer-in-question' : 'truncated');
  if (read16(msg, 6) !== 0 || read16(msg, 8) !== 0) return error(RCODE.FORMERR, 'records-in-query', questionEnd);

  let edns: Edns | null;
  try {
    edns = readAdditional(msg, questionEnd, read16(msg, 10));
  } catch (e) {
    if (e instanceof WireError) return error(RCODE.FORMERR, e.fault, questionEnd);
    throw e;
  }
  // RFC 6891 section 6.1.3: a version we do not implement gets BADVERS, before any lookup.
  if (edns && edns.version > 0) return error(RCODE.BADVERS, 'edns-version', questionEnd, edns);

  const qnameEnd = questionEnd - 4;
  const qtype = read16(msg, qnameEnd);
  const qclass = read16(msg, qnameEnd + 2);
  if (qtype === 0 || qtype === TYPE.OPT || qtype === TYPE.TSIG) return error(RCODE.FORMERR, 'meta-qtype', questionEnd, edns);
  // Zone transfers and TKEY are not for a stub forwarder to relay (RFC 5936 section 4.2 allows REFUSED).
  if (qtype === TYPE.AXFR || qtype === TYPE.IXFR || qtype === TYPE.TKEY) return error(RCODE.REFUSED, 'refused-type', questionEnd, edns);
  // MAILA/MAILB are obsolete (RFC 883 era); nothing upstream answers them meaningfully.
  if (qtype === 253 || qtype === 254) return error(RCODE.NOTIMP, 'refused-type', questionEnd, edns);
  if (qclass !== CLASS_IN) return error(RCODE.REFUSED, 'refused-class', questionEnd, edns);

  const f3 = msg[3]!;
  const cd = (f3 & F3_CD) !== 0;
  const dnssecOk = edns !== null && edns.do;
  const key = questionKey(msg, HEADER_LEN, qnameEnd, qtype, qclass, (dnssecOk ? 1 : 0) | (cd ? 2 : 0));
  const nameKey = key.slice(0, key.length - 3);
  return { kind: 'ok', query: makeQuery(msg, (f2 & F2_RD) !== 0, cd, (f3 & F3_AD) !== 0, qnameEnd, questionEnd, qtype, qclass, nameKey, key, edns) };
}

/**
 * The same query over `msg`, a copy of its bytes (a miss keeps one: the listener's are reused).
 * Made where parseQuery makes its queries, not by a spread: every Query then has one shape, and
 * the reads of its fields stay monomorphic (a spread's copy was a second shape: issue 13).
 */
export function withBytes(q: Query, msg: Buffer): Query {
  return makeQuery(msg, q.rd, q.cd, q.ad, q.qnameEnd, q.questionEnd, q.qtype, q.qclass, q.nameKey, q.key, q.edns);
}

function makeQuery(
  msg: Buffer, rd: boolean, cd: boolean, ad: boolean, qnameEnd: number, questionEnd: number,
  qtype: number, qclass: number, nameKey: string, key: string, edns: Edns | null,
): Query {
  return { msg, rd, cd, ad, qnameEnd, questionEnd, qtype, qclass, nameKey, key, edns };
}

/**
 * The question name of a query must be plain labels: a pointer could only point back into the
 * header. Returns the offset after QTYPE/QCLASS, -1 when truncated or malformed, -2 on a pointer.
 */
function scanQuestion(msg: Buffer): number {
  let pos = HEADER_LEN;
  for (;;) {
    if (pos >= msg.length) return -1;
    const l = msg[pos]!;
    if (l === 0) break;
    if ((l & 0xc0) === 0xc0) return -2;
    if (l > MAX_LABEL_LEN) return -1; // 0x40/0x80 label types are covered here too
    pos += 1 + l;
    if (pos - HEADER_LEN + 1 > MAX_NAME_LEN) return -1;
  }
  pos += 1;
  return pos + 4 <= msg.length ? pos + 4 : -1;
}

const names = new NameScratch();

/** Walks the additional section: RR framing, at most one OPT with a root owner (RFC 6891 6.1.1). */
function readAdditional(msg: Buffer, start: number, count: number): Edns | null {
  let pos = start;
  let edns: Edns | null = null;
  for (let i = 0; i < count; i++) {
    const rr = readRecord(msg, pos, names);
    pos = rr.next;
    if (rr.type === TYPE.OPT) {
      if (names.len !== 1) throw new WireError('opt-owner');
      if (edns) throw new WireError('opt-duplicate');
      checkOptions(msg, rr.rdataOff, rr.next);
      edns = { udpSize: Math.max(512, rr.klass), version: (rr.ttl >>> 16) & 0xff, do: (rr.ttl & EDNS_DO) !== 0 };
    }
  }
  // RFC 9267 section 5 warns against reading past the counted records; we refuse them instead.
  if (pos !== msg.length) throw new WireError('trailing-bytes');
  return edns;
}

/** EDNS options are {code, length, data}; they must tile the RDATA exactly (RFC 6891 6.1.2). */
function checkOptions(msg: Buffer, start: number, end: number): void {
  let pos = start;
  while (pos < end) {
    if (pos + 4 > end) throw new WireError('edns-options');
    pos += 4 + read16(msg, pos + 2);
  }
  if (pos !== end) throw new WireError('edns-options');
}
