// Byte storage for the cache: blocks carved out of large slabs, one size class per slab, with a
// free list per class. A cached entry is then a few numbers in typed arrays (cache.ts) and a
// block here, instead of a JS object and a Buffer of its own: nothing per entry for V8's
// garbage collector to trace or move, and an evicted entry leaves a block to reuse instead of
// garbage in the old generation (issue 13). The design is memcached's slab allocator; like
// it, memory given to one class stays with that class until clear().
//
// Slabs are zero-filled Buffers, which the allocator takes from calloc: a slab's pages cost RSS
// only once a block in them is written, so a half-used slab costs half.

/** Bytes per slab. A block is at most MAX_BLOCK_BYTES, so every class fits a dozen or more. */
export const SLAB_BYTES = 1 << 20;

/**
 * The largest block: a key (at most 255 name octets and 3 type/flag characters, 3 bytes each
 * at worst) plus a packed answer of at most 65,535 wire bytes and its TTL offsets (2 bytes per
 * record of at least 11 bytes). Larger answers are not cached (dns/answer.ts, packedAnswerLength).
 */
export const MAX_BLOCK_BYTES = 80 * 1024;

/** The 8-byte classes, 8 to 128 bytes. */
const SMALL_CLASSES = 16;

/**
 * Size classes: 8-byte steps up to 128 bytes (most answers: one or two records, 50-120 bytes
 * with the key; a block wastes at most 7 bytes of them, 3.5 on average), then four classes per
 * doubling, so a block wastes at most a fifth of itself. Eight bytes is also the least a block
 * can be: a freed one holds the next free block's handle.
 */
export function sizeClass(n: number): number {
  if (n <= 128) return n <= 8 ? 0 : ((n + 7) >> 3) - 1;
  const p = 31 - Math.clz32(n - 1); // 2^p < n <= 2^(p+1)
  const step = 1 << (p - 2);
  return SMALL_CLASSES + (p - 7) * 4 + Math.ceil((n - (1 << p)) / step) - 1;
}

/** Bytes of a block of class `c`. */
export function classBytes(c: number): number {
  if (c < SMALL_CLASSES) return (c + 1) << 3;
  const p = 7 + ((c - SMALL_CLASSES) >> 2);
  return (1 << p) + (((c - SMALL_CLASSES) & 3) + 1) * (1 << (p - 2));
}

const CLASSES = sizeClass(MAX_BLOCK_BYTES) + 1;
const NONE = -1;

/**
 * Blocks are named by a handle, slab number × SLAB_BYTES + offset (a plain number, exact well
 * beyond any slab count). The cache keeps the two parts apart, so a lookup reads
 * slab(n)[offset] without a division.
 */
export class SlabStore {
  private slabs: Buffer[] = [];
  /** Per class: the slab being carved (index into slabs, or NONE) and the next free offset in it. */
  private readonly carving = new Int32Array(CLASSES).fill(NONE);
  private readonly carvedTo = new Int32Array(CLASSES);
  /** Per class: the first freed block (a handle, or NONE); each freed block holds the next. */
  private readonly freeHead = new Float64Array(CLASSES).fill(NONE);
  /** Bytes in blocks handed out and not freed. */
  usedBytes = 0;

  /** Bytes of all slabs: what the store holds, used or not. */
  get reservedBytes(): number {
    return this.slabs.length * SLAB_BYTES;
  }

  /** A block of at least n bytes (n <= MAX_BLOCK_BYTES). */
  alloc(n: number): number {
    const c = sizeClass(n);
    const size = classBytes(c);
    this.usedBytes += size;
    const free = this.freeHead[c]!;
    if (free !== NONE) {
      const slab = this.slabs[Math.floor(free / SLAB_BYTES)]!;
      this.freeHead[c] = slab.readDoubleLE(free % SLAB_BYTES);
      return free;
    }
    let s = this.carving[c]!;
    if (s === NONE || this.carvedTo[c]! + size > SLAB_BYTES) {
      s = this.slabs.length;
      this.slabs.push(Buffer.alloc(SLAB_BYTES));
      this.carving[c] = s;
      this.carvedTo[c] = 0;
    }
    const off = this.carvedTo[c]!;
    this.carvedTo[c] = off + size;
    return s * SLAB_BYTES + off;
  }

  /** Gives back a block of n bytes (the n it was allocated with). */
  free(handle: number, n: number): void {
    const c = sizeClass(n);
    this.usedBytes -= classBytes(c);
    this.slabs[Math.floor(handle / SLAB_BYTES)]!.writeDoubleLE(this.freeHead[c]!, handle % SLAB_BYTES);
    this.freeHead[c] = handle;
  }

  /** Slab number n. */
  slab(n: number): Buffer {
    return this.slabs[n]!;
  }

  /** The slab number of a block; the block starts at offsetOf(handle) in it. */
  slabOf(handle: number): number {
    return Math.floor(handle / SLAB_BYTES);
  }

  offsetOf(handle: number): number {
    return handle % SLAB_BYTES;
  }

  /** Drops every slab: their memory goes back with the next collection. */
  clear(): void {
    this.slabs = [];
    this.carving.fill(NONE);
    this.carvedTo.fill(0);
    this.freeHead.fill(NONE);
    this.usedBytes = 0;
  }
}
