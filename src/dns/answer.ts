// Turns a checked upstream reply into the answer we cache and serve: only the records that
// answer the question survive (the CNAME/DNAME chain from the query name with its signatures, for
// a negative answer the SOA that covers it, and for DO clients the NSEC/NSEC3 proofs of denials
// and wildcard expansions, dnssec.ts), re-assembled with our own
// compression and with the offset of every TTL kept, so a cache hit is a copy plus patches.

import { F2_QR, F2_RD, F3_AD, F3_RA, F3_RCODE_MASK, HEADER_LEN, MAX_TCP_MESSAGE, RCODE, TYPE } from './constants.js';
import { isSubdomain, readNameKey } from './name.js';
import { NO_RECORDS, proofsIn, signaturesOver, wildcardZone } from './dnssec.js';
import { Section, type Reply, type ResourceRecord } from './message.js';
import { WireWriter } from './writer.js';
import { copyBytes } from './copy.js';
import { read32, write16 } from './bytes.js';

export interface TtlPolicy {
  readonly minTtlSec: number;
  readonly maxTtlSec: number;
  readonly negativeMaxTtlSec: number;
}

export type AnswerKind = 'positive' | 'negative';

export interface Answer {
  /** Header (ID 0, no OPT), question, kept records. */
  readonly wire: Buffer;
  /** Where the question ends in `wire` (HEADER_LEN when there is none): the records follow. */
  readonly questionEnd: number;
  /** Where each record's TTL sits in `wire`; all are rewritten with the remaining lifetime. */
  readonly ttlOffsets: readonly number[];
  /** Lifetime after the clamps. Every record is served with this minus the entry's age. */
  readonly ttlSec: number;
  readonly rcode: number;
  readonly kind: AnswerKind;
  /** False for answers we serve once but must not keep (zero TTL, negative without SOA). */
  readonly cacheable: boolean;
}

/**
 * An answer packed into bytes someone else owns (the cache's slabs): `storedLen` bytes at
 * `start`, then `ttlCount` TTL offsets as 16-bit big-endian numbers. The stored bytes are what
 * differs between answers: the header's flags and record counts (PACKED_HEADER_LEN bytes), then
 * the records. Left out are the ID (each client's own) and QDCOUNT (always 1), and the question:
 * every client given the answer asked the same one (the cache key is its lowercase name, type
 * and class), so serving (serve.ts, servePacked) puts the client's own question between header
 * and records, where the TTL offsets and the records' compression pointers expect a question of
 * that length. Together a third of a one-record entry (issue 13, the memory target).
 */
export interface PackedAnswer {
  readonly bytes: Buffer;
  readonly start: number;
  readonly storedLen: number;
  readonly ttlCount: number;
  readonly rcode: number;
}

/**
 * Bytes the packed form takes, or -1 for an answer too long to pack: more than 65,535 bytes
 * cannot go whole over any transport (RFC 1035 4.2.2), and 16 bits hold every offset below that.
 */
export function packedAnswerLength(a: Answer): number {
  return a.wire.length > MAX_TCP_MESSAGE ? -1 : storedLength(a) + 2 * a.ttlOffsets.length;
}

/** Of the header, the packed form keeps the flags (2 bytes) and ANCOUNT, NSCOUNT, ARCOUNT (6). */
export const PACKED_HEADER_LEN = 8;

/** What the packed form keeps of the wire: flags, three counts, records. */
export function storedLength(a: Answer): number {
  return PACKED_HEADER_LEN + a.wire.length - a.questionEnd;
}

/** Writes the packed form at `at` (packedAnswerLength bytes). */
export function packAnswer(a: Answer, dest: Buffer, at: number): void {
  const { wire, ttlOffsets } = a;
  // copyBytes, not Buffer#copy: each copy of part of a buffer made a view object (dns/copy.ts).
  copyBytes(wire, 2, 4, dest, at);
  copyBytes(wire, 6, HEADER_LEN, dest, at + 2);
  copyBytes(wire, a.questionEnd, wire.length, dest, at + PACKED_HEADER_LEN);
  let p = at + storedLength(a);
  for (let i = 0; i < ttlOffsets.length; i++) p = write16(dest, p, ttlOffsets[i]!);
}

/** Every answer is written here, one at a time (buildAnswer runs to its end without yielding). */
const writer = new WireWriter(4096);

/** How many CNAMEs we follow inside one reply before giving up on the chain. */
const MAX_CHAIN = 16;

const NO_AUTHORITY: readonly ResourceRecord[] = [];

/** The first record of `type` owned by `owner` (a lowercase wire key). */
function recordAt(records: readonly ResourceRecord[], type: number, owner: string): ResourceRecord | undefined {
  for (const r of records) if (r.type === type && r.ownerKey === owner) return r;
  return undefined;
}

/** Whether `r` answers for a name of the chain, or is a DNAME above one (RFC 6672). */
function inChain(r: ResourceRecord, chain: readonly string[], qtype: number): boolean {
  if (chain.includes(r.ownerKey) && (r.type === qtype || qtype === TYPE.ANY || r.type === TYPE.CNAME)) return true;
  if (r.type !== TYPE.DNAME) return false;
  for (const n of chain) if (n !== r.ownerKey && isSubdomain(n, r.ownerKey)) return true;
  return false;
}

/** The SOA of a zone that contains `name` (RFC 2308 section 3), if the authority section has one. */
function soaAbove(authority: readonly ResourceRecord[], name: string): ResourceRecord | undefined {
  for (const r of authority) if (r.type === TYPE.SOA && isSubdomain(name, r.ownerKey)) return r;
  return undefined;
}

// Lists of records for one call of buildAnswer, emptied before and after it: it runs to its end
// without yielding, as with the writer. An answer is built per cache miss, and every array made
// here was garbage of about 150 bytes (V8 gives a list 17 slots on its first push; issue 13).
// Emptied by pop(), not `length = 0`: V8 answers that by dropping the list's memory, and the next
// push allocates it again (measured: five million push-push-push-empty rounds cost 742 young
// collections with `length = 0`, one with pop()).
// For the same reason: loops and module functions rather than filter/find with closures.
const answers: ResourceRecord[] = [];
const authority: ResourceRecord[] = [];
const chain: string[] = [];
const data: ResourceRecord[] = [];
const withSigs: ResourceRecord[] = [];

function clearLists(): void {
  empty(answers);
  empty(authority);
  empty(chain);
  empty(data);
  empty(withSigs);
}

function empty(list: unknown[]): void {
  while (list.length > 0) list.pop();
}

export function buildAnswer(reply: Reply, dnssecOk: boolean, policy: TtlPolicy): Answer {
  clearLists();
  try {
    return build(reply, dnssecOk, policy);
  } finally {
    clearLists(); // no reply's records kept alive until the next miss
  }
}

function build(reply: Reply, dnssecOk: boolean, policy: TtlPolicy): Answer {
  const { msg, qtype } = reply;
  for (const r of reply.records) {
    if (r.section === Section.Answer) answers.push(r);
    else if (r.section === Section.Authority) authority.push(r);
  }

  // The chain of names this reply answers for: the query name and CNAME targets (RFC 1034 4.3.2).
  chain.push(reply.qnameKey);
  if (qtype !== TYPE.CNAME && qtype !== TYPE.ANY) {
    for (let i = 0; i < MAX_CHAIN; i++) {
      const cname = recordAt(answers, TYPE.CNAME, chain[chain.length - 1]!);
      if (!cname) break;
      const target = readNameKey(msg, cname.rdataOff);
      if (chain.includes(target)) break; // a loop in the reply
      chain.push(target);
    }
  }
  const finalName = chain[chain.length - 1]!;
  // On the chain's names: the asked type and the CNAMEs that link them; a DNAME above a chain
  // name (RFC 6672). For RRSIG and ANY questions the chain's RRSIGs are the data itself.
  const sigsAreData = qtype === TYPE.RRSIG || qtype === TYPE.ANY;
  for (const r of answers) if (inChain(r, chain, qtype)) data.push(r);
  // Signatures over what we keep, the DNAME's included; orphans go (RFC 4035 3.1.1).
  const dataSigs = sigsAreData ? NO_RECORDS : signaturesOver(msg, answers, data);
  let kept = data; // the same records in the same order when no signature is kept
  if (dataSigs.size > 0) {
    kept = withSigs;
    for (const r of answers) if (dataSigs.has(r) || inChain(r, chain, qtype)) kept.push(r);
  }

  let answered = false;
  for (const r of data) {
    if (r.ownerKey === finalName && (r.type === qtype || qtype === TYPE.ANY || (qtype === TYPE.CNAME && r.type === TYPE.CNAME))) answered = true;
  }
  const kind: AnswerKind = reply.rcode === RCODE.NOERROR && answered ? 'positive' : 'negative';

  // Authority: for a negative answer the SOA of a zone that contains the final name (RFC 2308
  // section 3). With DO, the NSEC/NSEC3 records of the zones that must prove something, and the
  // signatures over the SOA and those proofs (dnssec.ts): the SOA's zone proves the denial, a
  // wildcard-expanded link of the chain is proved in its signer's zone, wherever the chain ends.
  const soa = kind === 'negative' ? soaAbove(authority, finalName) : undefined;
  let authorityKept: readonly ResourceRecord[] = soa ? [soa] : NO_AUTHORITY;
  if (dnssecOk) {
    const zones = new Set<string>(soa ? [soa.ownerKey] : []);
    for (const sig of dataSigs) {
      const zone = wildcardZone(msg, sig);
      if (zone !== null) zones.add(zone);
    }
    const proofs = new Set(proofsIn(authority, zones));
    const sigs = signaturesOver(msg, authority, soa ? [soa, ...proofs] : [...proofs]);
    authorityKept = authority.filter((r) => r === soa || proofs.has(r) || sigs.has(r));
  }

  // Lifetime: the smallest TTL of what we keep; for negative answers the SOA rule of RFC 2308
  // section 5, min(SOA TTL, SOA MINIMUM). Then the operator's clamps.
  let ttl = Infinity;
  for (const r of kept) ttl = Math.min(ttl, r.ttl);
  for (const r of authorityKept) if (r !== soa) ttl = Math.min(ttl, r.ttl);
  if (soa) ttl = Math.min(ttl, soa.ttl, read32(msg, soa.rdataOff + soa.rdlen - 4));
  if (ttl === Infinity) ttl = 0;
  const maxTtl = kind === 'negative' ? Math.min(policy.maxTtlSec, policy.negativeMaxTtlSec) : policy.maxTtlSec;
  const ttlSec = Math.min(Math.max(ttl, policy.minTtlSec), maxTtl);
  const cacheable = ttlSec > 0 && (kind === 'positive' || soa !== undefined);

  const w = writer;
  w.reset();
  w.u16(0); // ID, set per client when served
  // A forwarder's answer is never authoritative (AA clear); TC is never cached (RFC 2181 9). CD
  // is the client's to set (RFC 4035 3.2.2), so serving copies it from each query.
  w.u8(F2_QR | (reply.flags2 & F2_RD));
  w.u8(F3_RA | (reply.flags3 & F3_AD) | (reply.rcode & F3_RCODE_MASK));
  w.u16(1);
  w.u16(kept.length);
  w.u16(authorityKept.length);
  w.u16(0);
  w.nameAt(msg, HEADER_LEN, true);
  w.bytes(msg, reply.questionEnd - 4, reply.questionEnd);
  const questionEnd = w.length;
  const ttlOffsets = new Array<number>(kept.length + authorityKept.length); // its own: the Answer keeps it
  let t = 0;
  for (const r of kept) ttlOffsets[t++] = w.record(msg, r, ttlSec);
  for (const r of authorityKept) ttlOffsets[t++] = w.record(msg, r, ttlSec);
  return { wire: w.finish(), questionEnd, ttlOffsets, ttlSec, rcode: reply.rcode, kind, cacheable };
}
