// Big-endian integers in a message's bytes, read and written by index. Not Buffer's
// readUInt16BE and the like: optimized code does not inline the lookup of those methods on
// Buffer's prototype but calls V8's generic LoadIC for it at every use, about 5 % of a cache
// miss's user time (issue 13, perf record of the miss bench). The contract is theirs for the
// integer offsets we use: a RangeError for an offset outside the bytes or a value that does not
// fit, so the code that counted on their checks still has them (a hostile message must fail,
// not read zeros).

/** The 16-bit integer at `at`. */
export function read16(b: Uint8Array, at: number): number {
  if (!(at >= 0 && at + 2 <= b.length)) throw outside(at, 2, b.length);
  return (b[at]! << 8) | b[at + 1]!;
}

/** The unsigned 32-bit integer at `at`. */
export function read32(b: Uint8Array, at: number): number {
  if (!(at >= 0 && at + 4 <= b.length)) throw outside(at, 4, b.length);
  return b[at]! * 0x1000000 + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
}

/** Writes `v` (0-65535; a fraction is cut, as Buffer's methods cut it) at `at`; returns the offset after it. */
export function write16(b: Uint8Array, at: number, v: number): number {
  if (!(at >= 0 && at + 2 <= b.length)) throw outside(at, 2, b.length);
  if (v > 0xffff || v < 0) throw new RangeError(`${v} does not fit 16 bits`);
  b[at] = v >>> 8;
  b[at + 1] = v & 0xff;
  return at + 2;
}

/** Writes `v` (0 to 2^32 - 1) at `at`; returns the offset after it. */
export function write32(b: Uint8Array, at: number, v: number): number {
  if (!(at >= 0 && at + 4 <= b.length)) throw outside(at, 4, b.length);
  if (v > 0xffffffff || v < 0) throw new RangeError(`${v} does not fit 32 bits`);
  b[at] = v >>> 24;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
  return at + 4;
}

function outside(at: number, size: number, length: number): RangeError {
  return new RangeError(`${size} bytes at offset ${at} are outside a message of ${length}`);
}
