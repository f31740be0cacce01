// The cache's index: slot numbers found by key, in least-recently-used order. A slot is a small
// integer; the cache keeps what an entry is in typed arrays indexed by it (cache.ts). Here:
// - a hash table with open addressing and linear probing, backward-shift deletion (no
//   tombstones), at most 3/4 full: 5 to 11 bytes per entry. A bucket holds the slot and the top
//   8 bits of its hash (TAG_SHIFT): a probe past another key's bucket is decided in the table
//   itself, without reading that slot's hash from memory far away. A lookup that finds nothing
//   walks about 8 buckets at 3/4 full (Knuth 6.4); in a cache of 100,000 entries each was a
//   likely cache miss (issue 13);
// - the recency list, doubly linked through two Int32Arrays;
// - freed slots, linked through the same arrays, reused before new ones.
// All of it is typed arrays: no JS object per entry. The per-slot arrays are allocated for the
// capacity at once: zero-filled memory from calloc costs RSS only where it is written, and
// slots are handed out from the bottom, so the cost follows the most entries held. Growing
// them by doubling instead cost 5 MB more RSS at 100,000 entries (glibc keeps the freed copies).
// The hash table must double: its buckets are written all over. lru-cache (which this replaces)
// keeps a JS string key, a Map entry and two array slots per entry, about 150 bytes of heap,
// and fills its arrays for CacheMaxEntries up front (README, "Memory").

const NONE = -1;
const MIN_TABLE = 1024;
/** A bucket: (slot + 1) in the low 24 bits, the hash's top 8 bits above them; 0 when empty. */
const TAG_SHIFT = 24;
const SLOT_MASK = (1 << TAG_SHIFT) - 1;
/** Slots fit below the tag (CacheMaxEntries is at most 10,000,000: config/schema.ts). */
export const MAX_SLOTS = SLOT_MASK - 1;

function bucket(slot: number, hash: number): number {
  return ((hash >>> TAG_SHIFT) << TAG_SHIFT | (slot + 1)) >>> 0;
}

export class SlotIndex {
  /** Per slot: the key's hash, and its neighbours in recency order (NONE at the ends). */
  private readonly hashOf: Uint32Array;
  private readonly newer: Int32Array;
  private readonly older: Int32Array;
  /** The hash table: bucket(slot, hash), 0 for an empty bucket. */
  private table = new Uint32Array(MIN_TABLE);
  private mask = MIN_TABLE - 1;
  private count = 0;
  /** Slots ever used; below it, freed slots are chained through `older`. */
  private highWater = 0;
  private freed = NONE;
  private newest = NONE;
  private oldestSlot = NONE;

  /**
   * Slots are 0 to capacity - 1; `matches(slot, key)` says whether a slot holds this key (the
   * keys live in the cache's blocks).
   */
  constructor(
    readonly capacity: number,
    private readonly matches: (slot: number, key: string) => boolean,
  ) {
    if (capacity > MAX_SLOTS) throw new RangeError(`cache index: at most ${MAX_SLOTS} slots`);
    this.hashOf = new Uint32Array(capacity);
    this.newer = new Int32Array(capacity);
    this.older = new Int32Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** The least recently used slot, NONE when empty. */
  get oldest(): number {
    return this.oldestSlot;
  }

  find(key: string, hash: number): number {
    const tag = hash >>> TAG_SHIFT;
    for (let i = hash & this.mask; ; i = (i + 1) & this.mask) {
      const b = this.table[i]!;
      if (b === 0) return NONE;
      if (b >>> TAG_SHIFT !== tag) continue;
      const s = (b & SLOT_MASK) - 1;
      if (this.hashOf[s] === hash && this.matches(s, key)) return s;
    }
  }

  /** A new slot for a key not in the index, as the most recently used; size must be below capacity. */
  insert(hash: number): number {
    if ((this.count + 1) * 4 > this.table.length * 3) this.rehash(this.table.length * 2);
    let s = this.freed;
    if (s !== NONE) {
      this.freed = this.older[s]!;
    } else {
      s = this.highWater++;
    }
    this.hashOf[s] = hash;
    this.place(s, hash);
    this.count++;
    this.linkNewest(s);
    return s;
  }

  remove(s: number): void {
    // Find the bucket, then shift later entries of the run back over it (Knuth 6.4, algorithm R).
    const hash = this.hashOf[s]!;
    const mine = bucket(s, hash);
    let i = hash & this.mask;
    while (this.table[i] !== mine) i = (i + 1) & this.mask;
    for (let j = (i + 1) & this.mask; this.table[j] !== 0; j = (j + 1) & this.mask) {
      const home = this.hashOf[(this.table[j]! & SLOT_MASK) - 1]! & this.mask;
      // Move j back to i unless its home lies cyclically in (i, j].
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        this.table[i] = this.table[j]!;
        i = j;
      }
    }
    this.table[i] = 0;
    this.count--;
    this.unlink(s);
    this.older[s] = this.freed;
    this.freed = s;
  }

  /** Marks a slot the most recently used. */
  touch(s: number): void {
    if (s === this.newest) return;
    this.unlink(s);
    this.linkNewest(s);
  }

  /** Every slot in use, newest first. */
  forEach(f: (slot: number) => void): void {
    for (let s = this.newest; s !== NONE; s = this.older[s]!) f(s);
  }

  /**
   * Forgets every slot. The per-slot arrays are kept: slots are handed out from 0 again and
   * written before they are read, and fresh arrays could come from glibc's heap, zeroed by hand,
   * every page of them resident at once.
   */
  clear(): void {
    this.table = new Uint32Array(MIN_TABLE);
    this.mask = MIN_TABLE - 1;
    this.count = 0;
    this.highWater = 0;
    this.freed = NONE;
    this.newest = NONE;
    this.oldestSlot = NONE;
  }

  private rehash(size: number): void {
    this.table = new Uint32Array(size);
    this.mask = size - 1;
    this.forEach((s) => this.place(s, this.hashOf[s]!));
  }

  /** Puts slot s in the first empty bucket from its hash's home. */
  private place(s: number, hash: number): void {
    let i = hash & this.mask;
    while (this.table[i] !== 0) i = (i + 1) & this.mask;
    this.table[i] = bucket(s, hash);
  }

  private linkNewest(s: number): void {
    this.newer[s] = NONE;
    this.older[s] = this.newest;
    if (this.newest !== NONE) this.newer[this.newest] = s;
    this.newest = s;
    if (this.oldestSlot === NONE) this.oldestSlot = s;
  }

  private unlink(s: number): void {
    const n = this.newer[s]!;
    const o = this.older[s]!;
    if (n !== NONE) this.older[n] = o;
    else this.newest = o;
    if (o !== NONE) this.newer[o] = n;
    else this.oldestSlot = n;
  }
}
