// Serving an answer to one client: copy the stored wire form and patch what differs per
// client: ID, RD, CD, the question (the client's own), the TTLs, and our OPT record. No decode, no
// encode. servePacked, from the cache's bytes, is the cache-hit path; serveAnswer serves a
// fresh answer to the clients that waited for it.

import { Buffer } from 'node:buffer'; // the global is a getter: each use on the hot path is a call
import { CLASSIC_UDP_SIZE, F2_RD, F2_TC, F3_AD, F3_CD, HEADER_LEN, MAX_TCP_MESSAGE } from './constants.js';
import { PACKED_HEADER_LEN, type Answer, type PackedAnswer } from './answer.js';
import type { Query } from './query.js';
import { EDE_STALE, OPT_LEN, writeOpt } from './synth.js';
import { copyBytes } from './copy.js';
import { read16, write16, write32 } from './bytes.js';

/** TTL of stale answers (RFC 8767 section 4 recommends 30 seconds). */
export const STALE_TTL_SEC = 30;

export type Transport = 'udp' | 'tcp';

/**
 * The largest reply a client can take: over UDP 512 octets without EDNS (RFC 1035 4.2.1), else
 * its advertised size capped by ours (RFC 6891 section 6.2.5); over TCP the 16-bit length.
 */
export function replyLimit(q: Query, transport: Transport, maxUdpSize: number): number {
  if (transport === 'tcp') return MAX_TCP_MESSAGE;
  return q.edns ? Math.max(CLASSIC_UDP_SIZE, Math.min(q.edns.udpSize, maxUdpSize)) : CLASSIC_UDP_SIZE;
}

/**
 * `stale`: an expired answer served because its refresh failed (RFC 8767): TTL 30 and, for
 * EDNS clients, the Extended DNS Error "Stale Answer".
 */
export function serveAnswer(a: Answer, q: Query, remainingSec: number, limit: number, ourUdpSize: number, stale = false): Buffer {
  const recordsLen = a.wire.length - a.questionEnd;
  const out = copyAndPatch(a.wire, 2, 6, a.questionEnd, recordsLen, a.rcode, q, ourUdpSize, stale);
  const ttl = stale ? STALE_TTL_SEC : remainingSec;
  for (const off of a.ttlOffsets) write32(out, off, ttl);
  return out.length > limit ? truncate(out, q, out.length - q.questionEnd - recordsLen) : out;
}

/**
 * The same for an answer packed in the cache's bytes (answer.ts, PackedAnswer: flags, counts
 * and records; no ID, QDCOUNT or question): the hit path.
 */
export function servePacked(p: PackedAnswer, q: Query, remainingSec: number, limit: number, ourUdpSize: number, stale = false): Buffer {
  const recordsLen = p.storedLen - PACKED_HEADER_LEN;
  const out = copyAndPatch(p.bytes, p.start, p.start + 2, p.start + PACKED_HEADER_LEN, recordsLen, p.rcode, q, ourUdpSize, stale);
  const ttl = stale ? STALE_TTL_SEC : remainingSec;
  const b = p.bytes;
  for (let i = 0, at = p.start + p.storedLen; i < p.ttlCount; i++, at += 2) write32(out, (b[at]! << 8) | b[at + 1]!, ttl);
  return out.length > limit ? truncate(out, q, out.length - q.questionEnd - recordsLen) : out;
}

/**
 * The reply: this client's ID, the stored flags with this client's bits, one question, the
 * stored counts, the client's question, the stored records and our OPT; TTLs are the caller's.
 * The question is the client's own: the same name as the stored answer's (the cache key), in
 * the client's spelling (RFC 1035 7.3 matching is case-insensitive; some clients check the case
 * they sent, draft-vixie-dnsext-dns0x20). The records' compressed names point into it, so they
 * follow. `flagsAt`: the 2 flag bytes; `countsAt`: ANCOUNT, NSCOUNT and ARCOUNT.
 */
function copyAndPatch(
  src: Buffer, flagsAt: number, countsAt: number, recordsAt: number, recordsLen: number,
  rcode: number, q: Query, ourUdpSize: number, stale: boolean,
): Buffer {
  const withOpt = q.edns !== null;
  const options = stale && withOpt ? EDE_STALE : undefined;
  const optLen = withOpt ? OPT_LEN + (options ? options.length : 0) : 0;
  const bodyLen = q.questionEnd + recordsLen;
  const out = Buffer.allocUnsafe(bodyLen + optLen);
  out[0] = q.msg[0]!;
  out[1] = q.msg[1]!;
  out[2] = (src[flagsAt]! & ~F2_RD) | (q.msg[2]! & F2_RD);
  out[3] = src[flagsAt + 1]!;
  out[4] = 0;
  out[5] = 1; // QDCOUNT
  copyBytes(src, countsAt, countsAt + 6, out, 6);
  // RFC 6840 section 5.8: AD only for clients that asked for it (AD or DO in the query).
  if (!q.ad && !(q.edns && q.edns.do)) out[3] = out[3]! & ~F3_AD;
  // RFC 4035 section 3.2.2: CD is copied from the query (the stored answer has it clear).
  out[3] = out[3]! | (q.msg[3]! & F3_CD);
  copyBytes(q.msg, HEADER_LEN, q.questionEnd, out, HEADER_LEN);
  copyBytes(src, recordsAt, recordsAt + recordsLen, out, q.questionEnd);
  if (withOpt) {
    writeOpt(out, bodyLen, ourUdpSize, rcode, q.edns.do, options);
    write16(out, 10, read16(out, 10) + 1);
  }
  return out;
}

/**
 * Too big for the client: header, question and OPT only, with TC=1, so the client retries over
 * TCP (RFC 2181 section 9, RFC 7766 section 5). Cutting whole RRsets would save a round trip
 * for some clients, but an empty TC reply is never misread as complete.
 */
function truncate(full: Buffer, q: Query, optLen: number): Buffer {
  const out = Buffer.alloc(q.questionEnd + optLen);
  full.copy(out, 0, 0, q.questionEnd);
  out[2] = out[2]! | F2_TC;
  write16(out, 6, 0);
  write16(out, 8, 0);
  write16(out, 10, optLen > 0 ? 1 : 0);
  if (optLen > 0) full.copy(out, q.questionEnd, full.length - optLen);
  return out;
}
