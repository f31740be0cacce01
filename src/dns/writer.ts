// Builds a message from records picked out of another one. Names are written uncompressed or
// compressed against names already written here, never against offsets of the source message,
// so any subset of records can be kept (RFC 1035 section 4.1.4).

import { Buffer } from 'node:buffer'; // the global is a getter: each use on the hot path is a call
import { TYPE } from './constants.js';
import { NameScratch, WireError, nameEnd } from './name.js';
import type { ResourceRecord } from './message.js';
import { copyBytes } from './copy.js';
import { write16, write32 } from './bytes.js';

/**
 * Types whose RDATA holds domain names, as a layout: a number is that many fixed octets, 'n'
 * a name. Names in the RFC 1035 types may be compressed and we compress them too; for the later
 * types RFC 3597 section 4 lets a receiver decompress but says a sender must not compress.
 */
const RDATA_LAYOUT: ReadonlyMap<number, { readonly parts: readonly (number | 'n')[]; readonly compress: boolean }> = new Map([
  [TYPE.NS, { parts: ['n'], compress: true }],
  [3 /* MD */, { parts: ['n'], compress: true }],
  [4 /* MF */, { parts: ['n'], compress: true }],
  [TYPE.CNAME, { parts: ['n'], compress: true }],
  [TYPE.SOA, { parts: ['n', 'n', 20], compress: true }],
  [7 /* MB */, { parts: ['n'], compress: true }],
  [8 /* MG */, { parts: ['n'], compress: true }],
  [9 /* MR */, { parts: ['n'], compress: true }],
  [TYPE.PTR, { parts: ['n'], compress: true }],
  [14 /* MINFO */, { parts: ['n', 'n'], compress: true }],
  [TYPE.MX, { parts: [2, 'n'], compress: true }],
  [17 /* RP */, { parts: ['n', 'n'], compress: false }],
  [18 /* AFSDB */, { parts: [2, 'n'], compress: false }],
  [21 /* RT */, { parts: [2, 'n'], compress: false }],
  [26 /* PX */, { parts: [2, 'n', 'n'], compress: false }],
  [33 /* SRV */, { parts: [6, 'n'], compress: false }],
  [36 /* KX */, { parts: [2, 'n'], compress: false }],
]);

/**
 * RDATA shapes we check before passing a record on, for the types stubs read themselves (RFC 9267:
 * never trust RDLENGTH alone). Other types pass as opaque data (RFC 3597).
 */
function checkRdata(src: Buffer, type: number, start: number, end: number): void {
  const len = end - start;
  switch (type) {
    case TYPE.A:
      if (len !== 4) throw new WireError('rdata-shape');
      return;
    case TYPE.AAAA:
      if (len !== 16) throw new WireError('rdata-shape');
      return;
    case 16 /* TXT: character-strings tile the RDATA, RFC 1035 3.3.14 */: {
      let pos = start;
      while (pos < end) pos += 1 + src[pos]!;
      if (pos !== end || len === 0) throw new WireError('rdata-shape');
      return;
    }
    case TYPE.RRSIG /* 18 fixed octets, the signer's name, the signature (RFC 4034 3.1) */:
    case TYPE.DNAME /* one uncompressed name (RFC 6672 2.5) */: {
      const fixed = type === TYPE.RRSIG ? 18 : 0;
      if (len < fixed + 1) throw new WireError('rdata-shape');
      const next = nameEnd(src, start + fixed);
      if (next > end || (type === TYPE.DNAME && next !== end)) throw new WireError('rdata-shape');
      return;
    }
  }
}

/** Pointers reach offsets below 0x4000 (RFC 1035 4.1.4: 14 bits). */
const MAX_POINTER = 0x3fff;
/** Names start at least 2 bytes apart (a label of one byte, or the root after a label). */
const MAX_TARGETS = (MAX_POINTER + 1) >> 1;

/**
 * Reusable: reset() starts a new message in the same memory, and finish() hands out a copy, so
 * building an answer allocates little besides that copy (issue 13).
 *
 * Compression targets are the offsets of every name and name suffix written out in full, kept
 * in typed arrays and chained by the suffix's length in wire form: a suffix can only equal a
 * written name of the same length, and only those are compared, byte by byte and without
 * regard to ASCII case (RFC 1035 4.1.4, RFC 4343). A Map of lowercased suffix strings did the
 * same with a string, a hash and a table entry per suffix, and a new table per message.
 */
export class WireWriter {
  private buf: Buffer;
  private len = 0;
  private readonly scratch = new NameScratch();
  /** Per wire length (2 to 255): the last target of that length, -1 for none. */
  private readonly lastOfLen = new Int32Array(256).fill(-1);
  /** Per target: its offset here, its wire length, and the previous target of the same length (-1 for none). */
  private readonly targetAt = new Int32Array(MAX_TARGETS);
  private readonly targetLen = new Uint8Array(MAX_TARGETS);
  private readonly prevOfLen = new Int32Array(MAX_TARGETS);
  private targets = 0;

  /** Every byte up to `length` is written before it is read: the buffer need not be zeroed. */
  constructor(sizeHint = 512) {
    this.buf = Buffer.allocUnsafe(sizeHint);
  }

  /** Starts a new message. */
  reset(): void {
    this.len = 0;
    // Only the lengths used: an answer has a few targets, and filling all 256 was a builtin call.
    for (let t = 0; t < this.targets; t++) this.lastOfLen[this.targetLen[t]!] = -1;
    this.targets = 0;
  }

  get length(): number {
    return this.len;
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  bytes(src: Buffer, start = 0, end = src.length): void {
    this.reserve(end - start);
    copyBytes(src, start, end, this.buf, this.len);
    this.len += end - start;
  }

  u8(v: number): void {
    this.reserve(1);
    this.buf[this.len++] = v;
  }

  u16(v: number): void {
    this.reserve(2);
    write16(this.buf, this.len, v);
    this.len += 2;
  }

  u32(v: number): void {
    this.reserve(4);
    write32(this.buf, this.len, v >>> 0);
    this.len += 4;
  }

  patchU16(off: number, v: number): void {
    write16(this.buf, off, v);
  }

  /**
   * Copies the possibly compressed name at `off` in `src`, replacing its longest suffix already
   * written here by a pointer. Returns the offset after the name in `src`. Throws WireError.
   */
  nameAt(src: Buffer, off: number, compress: boolean): number {
    const next = this.scratch.read(src, off);
    const wire = this.scratch.bytes;
    const total = this.scratch.len;
    let i = 0;
    while (wire[i] !== 0) {
      const at = this.target(wire, i, total - i);
      if (compress && at >= 0) {
        this.bytes(wire, 0, i);
        this.u16(0xc000 | at);
        return next;
      }
      // Written in full below, from this.len: the suffix at i becomes a target, unless an equal
      // name is one already (then that earlier one serves).
      if (at < 0 && this.len + i <= MAX_POINTER && this.targets < MAX_TARGETS) this.addTarget(this.len + i, total - i);
      i += 1 + wire[i]!;
    }
    this.bytes(wire, 0, total);
    return next;
  }

  /** The offset of a written name equal to wire[i, i + len) (ASCII case aside), or -1. */
  private target(wire: Buffer, i: number, len: number): number {
    for (let t = this.lastOfLen[len]!; t >= 0; t = this.prevOfLen[t]!) {
      if (this.sameName(wire, i, this.targetAt[t]!)) return this.targetAt[t]!;
    }
    return -1;
  }

  private addTarget(at: number, len: number): void {
    const t = this.targets++;
    this.targetAt[t] = at;
    this.targetLen[t] = len;
    this.prevOfLen[t] = this.lastOfLen[len]!;
    this.lastOfLen[len] = t;
  }

  /** Whether the uncompressed name at wire[i] equals the name written at `at` (pointers followed). */
  private sameName(wire: Buffer, i: number, at: number): boolean {
    const buf = this.buf;
    for (;;) {
      // Our own pointers, each to an earlier offset: the walk ends.
      while ((buf[at]! & 0xc0) === 0xc0) at = ((buf[at]! & 0x3f) << 8) | buf[at + 1]!;
      const n = wire[i]!;
      if (buf[at] !== n) return false;
      if (n === 0) return true;
      for (let k = 1; k <= n; k++) {
        let a = wire[i + k]!;
        let b = buf[at + k]!;
        if (a >= 0x41 && a <= 0x5a) a |= 0x20;
        if (b >= 0x41 && b <= 0x5a) b |= 0x20;
        if (a !== b) return false;
      }
      i += n + 1;
      at += n + 1;
    }
  }

  /** Copies one record from `src`, rewriting names inside RDATA. Returns the TTL's offset. */
  record(src: Buffer, rr: ResourceRecord, ttl: number): number {
    this.nameAt(src, rr.ownerOff, true);
    this.u16(rr.type);
    this.u16(rr.klass);
    const ttlOff = this.len;
    this.u32(ttl);
    const rdlenOff = this.len;
    this.u16(0);
    const layout = RDATA_LAYOUT.get(rr.type);
    const end = rr.rdataOff + rr.rdlen;
    if (!layout) {
      checkRdata(src, rr.type, rr.rdataOff, end);
      this.bytes(src, rr.rdataOff, end); // RFC 3597: unknown types pass through as opaque data
    } else {
      let pos = rr.rdataOff;
      for (const part of layout.parts) {
        if (part === 'n') {
          pos = this.nameAt(src, pos, layout.compress);
          if (pos > end) throw new WireError('rdata-name');
        } else {
          if (pos + part > end) throw new WireError('rdata-name');
          this.bytes(src, pos, pos + part);
          pos += part;
        }
      }
      if (pos !== end) throw new WireError('rdata-name');
    }
    this.patchU16(rdlenOff, this.len - rdlenOff - 2);
    return ttlOff;
  }

  /** A copy of what was written, exactly sized. */
  finish(): Buffer {
    const out = Buffer.allocUnsafe(this.len);
    copyBytes(this.buf, 0, this.len, out, 0);
    return out;
  }
}
