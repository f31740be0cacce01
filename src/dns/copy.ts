// Copying a few bytes between buffers without Buffer#copy. For any copy of part of its source,
// Node's Buffer#copy first makes a Uint8Array view of that part (node:buffer, _copyActual), an
// object on V8's heap: for the labels of a name, a question or a header, making it costs more
// than the copy. On a cache miss that was a fifth of the garbage (issue 13).

import { Buffer } from 'node:buffer'; // the global is a getter: each use on the hot path is a call

/**
 * Up to this many bytes are copied one by one; longer runs go through one view and set(). A
 * one-record answer (60-150 bytes) is below it: the loop costs less than the view and its
 * collection.
 */
const BYTE_LOOP_MAX = 256;

/** Copies src[start, end) into dst at `at` (the caller has checked that it fits). */
export function copyBytes(src: Uint8Array, start: number, end: number, dst: Uint8Array, at: number): void {
  if (end - start <= BYTE_LOOP_MAX) {
    for (let i = start; i < end; i++) dst[at++] = src[i]!;
    return;
  }
  dst.set(src.subarray(start, end), at);
}

/**
 * A copy of `src` in memory of its own (from Node's pool, as Buffer.from takes it). Not
 * Buffer.from itself: all of Node calls it with every kind of argument, so its property reads
 * are megamorphic, the largest single builtin in a miss's profile (issue 13).
 */
export function copyOf(src: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(src.length);
  out.set(src);
  return out;
}
