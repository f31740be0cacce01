// Builds a message from records picked out of another one. Names are written uncompressed or
// compressed against names already written here, never against offsets of the source message,
// so any subset of records can be kept (RFC 1035 section 4.1.4).

import { TYPE } from './constants.js';
import { NameScratch, WireError, nameEnd } from './name.js';
import type { ResourceRecord } from './message.js';
import { copyBytes } from './copy.js';

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

/**
 * Reusable: reset() starts a new message in the same memory, and finish() hands out a copy, so
 * building an answer allocates little besides that copy (issue 13).
 */
export class WireWriter {
  private buf: Buffer;
  private len = 0;
  /** Lowercase wire suffix → offset where it was written (pointers reach 0x3fff at most). */
  private readonly names = new Map<string, number>();
  private readonly scratch = new NameScratch();

  /** Every byte up to `length` is written before it is read: the buffer need not be zeroed. */
  constructor(sizeHint = 512) {
    this.buf = Buffer.allocUnsafe(sizeHint);
  }

  /** Starts a new message. */
  reset(): void {
    this.len = 0;
    this.names.clear();
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
    this.buf.writeUInt16BE(v, this.len);
    this.len += 2;
  }

  u32(v: number): void {
    this.reserve(4);
    this.buf.writeUInt32BE(v >>> 0, this.len);
    this.len += 4;
  }

  patchU16(off: number, v: number): void {
    this.buf.writeUInt16BE(v, off);
  }

  /**
   * Copies the possibly compressed name at `off` in `src`, replacing its longest suffix already
   * written here by a pointer. Returns the offset after the name in `src`. Throws WireError.
   */
  nameAt(src: Buffer, off: number, compress: boolean): number {
    const next = this.scratch.read(src, off);
    const wire = this.scratch.bytes;
    const key = this.scratch.key(); // suffixes of the lowercase name are its tails
    let i = 0;
    while (wire[i] !== 0) {
      const suffix = i === 0 ? key : key.slice(i);
      const at = compress ? this.names.get(suffix) : undefined;
      if (at !== undefined) {
        this.bytes(wire, 0, i);
        this.u16(0xc000 | at);
        return next;
      }
      if (this.len + i <= 0x3fff && !this.names.has(suffix)) this.names.set(suffix, this.len + i);
      i += 1 + wire[i]!;
    }
    this.bytes(wire, 0, this.scratch.len);
    return next;
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
