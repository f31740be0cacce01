// Random numbers for what a forger must guess: upstream query IDs (RFC 5452 section 9.2) and
// the letter case of names (RandomizeCase=, RFC 5452 section 9.3). They come from the kernel's
// CSPRNG, /dev/urandom (random(4)), read POOL_BYTES at a time: the source OpenSSL seeds
// node:crypto's randomInt from. Not node:crypto itself: nothing else on the running resolver's
// path needs it, and loading it costs about 0.9 MiB of RSS (issue 13, the memory target).
// Where /dev/urandom cannot be read (a chroot without /dev), node:crypto fills the pool.

import { Buffer } from 'node:buffer'; // the global is a getter: each use on the hot path is a call
import { closeSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';

/** Bytes read per refill: 2,048 query IDs. */
export const POOL_BYTES = 4096;

const pool = Buffer.allocUnsafeSlow(POOL_BYTES);
let used = POOL_BYTES;
let urandom: number | null = null;

/** A uniformly random integer in [0, 65535]: a query ID. */
export function randomU16(): number {
  if (used + 2 > POOL_BYTES) refill();
  const n = (pool[used]! << 8) | pool[used + 1]!;
  used += 2;
  return n;
}

/** `n` random bytes (n at most POOL_BYTES), in a Buffer of their own. */
export function randomBytes(n: number): Buffer {
  if (n > POOL_BYTES) throw new RangeError(`randomBytes: at most ${POOL_BYTES} bytes at a time`);
  if (used + n > POOL_BYTES) refill();
  const out = Buffer.allocUnsafe(n);
  pool.copy(out, 0, used, used + n);
  used += n;
  return out;
}

function refill(): void {
  try {
    urandom ??= openSync('/dev/urandom', 'r');
    // A read of /dev/urandom returns what was asked, up to 32 MiB (random(4)); a short read is checked all the same.
    if (readSync(urandom, pool, 0, POOL_BYTES, null) !== POOL_BYTES) throw new Error('short read from /dev/urandom');
  } catch {
    if (urandom !== null) closeSync(urandom);
    urandom = null;
    const { randomFillSync } = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
    randomFillSync(pool);
  }
  used = 0;
}
