// Domain names in wire form (RFC 1035 section 3.1 and 4.1.4). We never turn names into text
// on the hot path: dns-packet decodes labels as UTF-8, so distinct wire names can collapse into
// one string. Names are compared and keyed by their uncompressed wire form, lowercased in ASCII
// only (RFC 4343: case-insensitive for A-Z only), held in a 'latin1' string (one char a byte).

import { Buffer } from 'node:buffer'; // the global is a getter: each use on the hot path is a call
import { MAX_LABEL_LEN, MAX_NAME_LEN } from './constants.js';
import { copyBytes } from './copy.js';

/** Why a message was rejected; stable strings, counted in stats and shown in debug logs. */
export type WireFault =
  | 'short-header'
  | 'oversize'
  | 'truncated'
  | 'bad-label-type'
  | 'label-too-long'
  | 'name-too-long'
  | 'bad-pointer'
  | 'pointer-in-question'
  | 'qdcount'
  | 'records-in-query'
  | 'rdlength'
  | 'rdata-name'
  | 'rdata-shape'
  | 'opt-owner'
  | 'opt-section'
  | 'opt-duplicate'
  | 'trailing-bytes'
  | 'edns-options'
  | 'qr-set'
  | 'meta-qtype';

export class WireError extends Error {
  constructor(readonly fault: WireFault) {
    super(`malformed DNS message: ${fault}`);
  }
}

/**
 * Room for one name in uncompressed wire form, reused from name to name: reading a reply's
 * names into it allocates nothing, where a Buffer per name was a third of a cache miss's
 * garbage (issue 13). `bytes[0, len)` is the last name read, in its original case.
 */
export class NameScratch {
  readonly bytes = Buffer.allocUnsafe(MAX_NAME_LEN);
  len = 0;

  /**
   * Reads a possibly compressed name at `off` in `msg` and returns the offset just after it
   * (after a pointer, if it ended in one). Pointers must point strictly backwards from the
   * label that holds them, which rules out loops and forward references and bounds the work
   * by the message length (RFC 1035 section 4.1.4: a pointer refers to a *prior* occurrence).
   * Throws WireError.
   */
  read(msg: Buffer, off: number): number {
    const out = this.bytes;
    let len = 0;
    let pos = off;
    let next = -1;
    let floor = off; // a pointer must target an offset below the lowest position read so far
    for (;;) {
      if (pos >= msg.length) throw new WireError('truncated');
      const b = msg[pos]!;
      if (b === 0) {
        out[len++] = 0;
        this.len = len;
        return next < 0 ? pos + 1 : next;
      }
      const kind = b & 0xc0;
      if (kind === 0xc0) {
        if (pos + 1 >= msg.length) throw new WireError('truncated');
        const target = ((b & 0x3f) << 8) | msg[pos + 1]!;
        if (target >= floor) throw new WireError('bad-pointer');
        if (next < 0) next = pos + 2;
        pos = target;
        floor = target;
        continue;
      }
      if (kind !== 0) throw new WireError('bad-label-type'); // 0x40 and 0x80 (RFC 6891 section 5)
      if (b > MAX_LABEL_LEN) throw new WireError('label-too-long');
      if (pos + 1 + b > msg.length) throw new WireError('truncated');
      if (len + 1 + b + 1 > MAX_NAME_LEN) throw new WireError('name-too-long');
      copyBytes(msg, pos, pos + 1 + b, out, len);
      len += 1 + b;
      pos += 1 + b;
    }
  }

  /** The last name read as a lowercase wire key (lowerKey). */
  key(): string {
    return lowerKey(this.bytes, 0, this.len);
  }
}

const shared = new NameScratch();

/** The lowercase wire key of the possibly compressed name at `off`. Throws WireError. */
export function readNameKey(msg: Buffer, off: number): string {
  shared.read(msg, off);
  return shared.key();
}

/** The offset just after the possibly compressed name at `off`, checked as NameScratch.read checks it. */
export function nameEnd(msg: Buffer, off: number): number {
  return shared.read(msg, off);
}

/** Lowercases A-Z only (RFC 4343) and returns the wire name (at most MAX_NAME_LEN bytes) as a latin1 key string. */
export function lowerKey(wire: Buffer, start = 0, end = wire.length): string {
  return lowered.toString('latin1', 0, lowerInto(wire, start, end));
}

/**
 * The cache key of a question (query.ts): its lowercase wire name, then QTYPE, QCLASS and
 * `flags`, one character each. Made in one piece: a key joined with `+` is a rope, which V8
 * copies into a flat string the first time the cache hashes it. A type above 0xff (CAA is
 * 257) is no latin1 character, so such a key is joined.
 */
export function questionKey(wire: Buffer, start: number, end: number, qtype: number, qclass: number, flags: number): string {
  if (qtype > 0xff || qclass > 0xff) return lowerKey(wire, start, end) + String.fromCharCode(qtype, qclass, flags);
  let n = lowerInto(wire, start, end);
  lowered[n++] = qtype;
  lowered[n++] = qclass;
  lowered[n++] = flags;
  return lowered.toString('latin1', 0, n);
}

/** A name's bytes and a key's three characters. */
const lowered = Buffer.allocUnsafe(MAX_NAME_LEN + 3);

// Byte by byte into scratch bytes, then one string: no RegExp test per name, and only ASCII
// A-Z change (toLowerCase() on the latin1 string would change bytes such as 0xC0 too).
function lowerInto(wire: Buffer, start: number, end: number): number {
  const out = lowered;
  let n = 0;
  for (let i = start; i < end; i++) {
    const b = wire[i]!;
    out[n++] = b >= 0x41 && b <= 0x5a ? b | 0x20 : b;
  }
  return n;
}

/** True when `child` equals `parent` or lies below it; both are lowercase wire keys. */
export function isSubdomain(child: string, parent: string): boolean {
  if (parent.length > child.length) return false;
  let i = 0;
  for (;;) {
    if (child.length - i === parent.length) return child.endsWith(parent);
    if (child.length - i < parent.length || i >= child.length) return false;
    const labelLen = child.charCodeAt(i);
    if (labelLen === 0) return false;
    i += 1 + labelLen;
  }
}

/** Number of labels in a wire key, root excluded. */
export function labelCount(key: string): number {
  let n = 0;
  for (let i = 0; i < key.length && key.charCodeAt(i) !== 0; i += 1 + key.charCodeAt(i)) n++;
  return n;
}

/** The parent of a wire key ("\x03www\x07example\x00" → "\x07example\x00"); root stays root. */
export function parentKey(key: string): string {
  const l = key.charCodeAt(0);
  return l === 0 ? key : key.slice(1 + l);
}

/** Presentation form for logs only (RFC 1035 section 5.1 escapes for odd bytes). */
export function nameToText(wire: Buffer | string, start = 0): string {
  const at = (i: number) => (typeof wire === 'string' ? wire.charCodeAt(i) : wire[i]!);
  const end = wire.length;
  const labels: string[] = [];
  let i = start;
  while (i < end) {
    const l = at(i);
    if (l === 0 || l > MAX_LABEL_LEN) break;
    let s = '';
    for (let j = i + 1; j <= i + l && j < end; j++) {
      const c = at(j);
      if (c === 0x2e || c === 0x5c) s += '\\' + String.fromCharCode(c);
      else if (c > 0x20 && c < 0x7f) s += String.fromCharCode(c);
      else s += '\\' + String(c).padStart(3, '0');
    }
    labels.push(s);
    i += 1 + l;
  }
  return labels.length === 0 ? '.' : labels.join('.') + '.';
}

/**
 * A name in presentation form ("www.example.com", "www.example.com.", "." for the root, with
 * RFC 1035 section 5.1 escapes \X and \DDD) as a lowercase wire key; null when it is not a
 * valid name. For operator input (flush-caches NAME), never for the wire.
 */
export function textToKey(text: string): string | null {
  if (text === '.') return '\x00';
  const labels: number[][] = [[]];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      if (labels[labels.length - 1]!.length === 0) return null; // empty label ("a..b", ".a")
      labels.push([]);
      continue;
    }
    let byte = c;
    if (c === 0x5c) {
      const digits = /^[0-9]{3}/.exec(text.slice(i + 1));
      if (digits) {
        byte = Number(digits[0]);
        i += 3;
      } else if (i + 1 < text.length) {
        byte = text.charCodeAt(++i);
      } else return null;
    }
    if (byte > 0xff) return null;
    labels[labels.length - 1]!.push(byte);
  }
  if (labels[labels.length - 1]!.length === 0) labels.pop(); // the trailing dot
  const bytes: number[] = [];
  for (const l of labels) {
    if (l.length > MAX_LABEL_LEN) return null;
    bytes.push(l.length, ...l);
  }
  bytes.push(0);
  if (bytes.length > MAX_NAME_LEN) return null;
  return lowerKey(Buffer.from(bytes));
}
