// Replies we make ourselves: error rcodes for a client's query, the OPT record we attach, and
// the query we send upstream. All built by byte copying from the client's message, so the
// question goes back exactly as the client wrote it (case included).

import { Buffer } from 'node:buffer'; // the global is a getter: each use on the hot path is a call
import { EDNS_DO, EDNS_OPTION_PADDING, F2_OPCODE_MASK, F2_QR, F2_RD, F3_AD, F3_CD, F3_RA, F3_RCODE_MASK, HEADER_LEN, TYPE } from './constants.js';
import { randomBytes } from '../random.js';
import type { Edns, Query } from './query.js';
import { copyBytes } from './copy.js';
import { write16, write32 } from './bytes.js';

export const OPT_LEN = 11;

/** The EDNS option "Extended DNS Error" with INFO-CODE 3, Stale Answer (RFC 8914 4.4). */
export const EDE_STALE = Buffer.from([0x00, 0x0f, 0x00, 0x02, 0x00, 0x03]);

/**
 * Writes an OPT pseudo-RR (RFC 6891 section 6.1.2) at `off`, with `options` as its RDATA (our
 * own options only: unknown client options are never echoed).
 */
export function writeOpt(out: Buffer, off: number, udpSize: number, rcode: number, dnssecOk: boolean, options?: Buffer): number {
  out[off] = 0; // root owner
  write16(out, off + 1, TYPE.OPT);
  write16(out, off + 3, udpSize);
  out[off + 5] = (rcode >> 4) & 0xff; // extended RCODE, upper 8 bits
  out[off + 6] = 0; // version 0
  write16(out, off + 7, dnssecOk ? EDNS_DO : 0);
  write16(out, off + 9, options ? options.length : 0);
  if (options) options.copy(out, off + OPT_LEN);
  return off + OPT_LEN + (options ? options.length : 0);
}

/**
 * An error reply to the client's message: its ID, opcode, RD and CD (RFC 4035 3.2.2), RA set,
 * the rcode, and the question when it could be read (questionEnd > 0). With EDNS in the query
 * the reply carries an OPT record too; BADVERS lives in its extended-RCODE bits.
 */
export function errorReply(msg: Buffer, rcode: number, questionEnd: number, edns: Edns | null, ourUdpSize: number): Buffer {
  const qLen = questionEnd > 0 ? questionEnd - HEADER_LEN : 0;
  const out = Buffer.alloc(HEADER_LEN + qLen + (edns ? OPT_LEN : 0));
  out[0] = msg[0]!;
  out[1] = msg[1]!;
  out[2] = F2_QR | (msg[2]! & (F2_OPCODE_MASK | F2_RD));
  out[3] = F3_RA | (msg[3]! & F3_CD) | (rcode & F3_RCODE_MASK);
  write16(out, 4, qLen > 0 ? 1 : 0);
  write16(out, 10, edns ? 1 : 0);
  if (qLen > 0) copyBytes(msg, HEADER_LEN, questionEnd, out, HEADER_LEN);
  if (edns) writeOpt(out, HEADER_LEN + qLen, ourUdpSize, rcode, edns.do);
  return out;
}

/** SERVFAIL (or another rcode) for a query that passed the wire checks. */
export function errorForQuery(q: Query, rcode: number, ourUdpSize: number): Buffer {
  return errorReply(q.msg, rcode, q.questionEnd, q.edns, ourUdpSize);
}

/**
 * Gives each letter of the name in msg[from, to) a random case (draft-vixie-dnsext-dns0x20):
 * a forger must then guess the case too, about one bit per letter on top of the ID and port
 * (RFC 5452 section 9.3). Length octets are at most 63, below 'A', so they are never touched.
 */
export function randomizeCase(msg: Buffer, from: number, to: number): void {
  const bits = randomBytes(Math.ceil((to - from) / 8));
  for (let i = from; i < to; i++) {
    const c = msg[i]! | 0x20;
    if (c < 0x61 || c > 0x7a) continue; // not a letter
    const up = (bits[(i - from) >> 3]! >> ((i - from) & 7)) & 1;
    msg[i] = up ? c & ~0x20 : c;
  }
}

/**
 * The query we send upstream: a fresh ID (RFC 5452 section 9.2), RD=1 (we are a forwarder),
 * CD copied from the client (it is part of the cache key), AD=1 so a validating upstream tells
 * us what it validated (RFC 6840 section 5.7), the client's question bytes unchanged, and our
 * own OPT record advertising `udpSize` (DO copied from the client; part of the key too).
 */
export function upstreamQuery(q: Query, id: number, udpSize: number, padBlock = 0): Buffer {
  const qLen = q.questionEnd - HEADER_LEN;
  const base = HEADER_LEN + qLen + OPT_LEN;
  // RFC 7830: the Padding option (code 12) fills the message up to a multiple of padBlock
  // (RFC 8467 section 4.1: 128 for queries), so its length says little about the name.
  const pad = padBlock > 0 ? (padBlock - ((base + 4) % padBlock)) % padBlock : -4;
  // Every byte is written below (header, question, OPT, padding): from Node's pool, unzeroed,
  // rather than a zeroed ArrayBuffer of its own for each query.
  const out = Buffer.allocUnsafe(base + 4 + pad);
  write16(out, 0, id);
  out[2] = F2_RD;
  out[3] = F3_AD | (q.cd ? F3_CD : 0);
  write16(out, 4, 1);
  write32(out, 6, 0); // ANCOUNT, NSCOUNT
  write16(out, 10, 1);
  copyBytes(q.msg, HEADER_LEN, q.questionEnd, out, HEADER_LEN);
  const padding = pad >= 0 ? Buffer.alloc(4 + pad) : undefined;
  if (padding) {
    write16(padding, 0, EDNS_OPTION_PADDING);
    write16(padding, 2, pad);
  }
  writeOpt(out, HEADER_LEN + qLen, udpSize, 0, q.edns !== null && q.edns.do, padding);
  return out;
}
