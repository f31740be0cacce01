// The answer cache. An entry is a slot (slots.ts: found by key, in recency order) whose fields
// live in typed arrays here, and a block of bytes (slab.ts) holding its key and its answer in
// packed wire form (dns/answer.ts, PackedAnswer). No JS object per entry: 100,000 one-record
// answers take about 13 MB of RSS instead of about 100 MB with an object, an Answer and a Buffer
// each in lru-cache, and an evicted entry leaves a block to reuse instead of garbage in V8's
// old generation (issue 13). Expiry is ours, computed from the passed-in clock, because every
// entry's lifetime comes from the DNS answer itself (RFC 1035 section 3.2.1, RFC 2308 section
// 5) and is served decremented.

import { Buffer } from 'node:buffer'; // the global is a getter: each use on the hot path is a call
import { packAnswer, packedAnswerLength, storedLength, type Answer, type PackedAnswer } from '../dns/answer.js';
import type { Clock } from '../clock.js';
import { keyEquals, keyHash, keyLength, readKey, writeKey } from './key.js';
import { MAX_BLOCK_BYTES, SLAB_BYTES, SlabStore, classBytes, sizeClass } from './slab.js';
import { SlotIndex } from './slots.js';

/**
 * A live entry, read from the cache's bytes: valid until the cache next changes (a store, a
 * removal), so it is served at once. For a remembered failure (RFC 9520) nothing is packed.
 */
export interface CacheHit extends PackedAnswer {
  /** A remembered failure: clients get SERVFAIL without a new upstream attempt (RFC 9520). */
  readonly failure: boolean;
  /** Whole seconds left, at least 1. */
  readonly remainingSec: number;
  /**
   * Worth refreshing now (Unbound's prefetch rule): an answer in the last PREFETCH_SHARE of its
   * lifetime, hit at least twice while cached, this hit included.
   */
  readonly prefetch: boolean;
}

/** Prefetch: the last tenth of an answer's lifetime (Unbound: "the last 10 percent of the TTL"). */
export const PREFETCH_SHARE = 0.1;

/** An expired answer still within ServeStaleSec: used only when a refresh fails (RFC 8767). */
export interface StaleHit extends PackedAnswer {
  /** True while an earlier refresh failure says: do not ask upstream again yet. */
  readonly held: boolean;
}

export interface CacheOptions {
  readonly maxEntries: number;
  /** Bound on the bytes held: blocks (key and packed answer) plus a per-entry overhead estimate. */
  readonly maxBytes?: number;
  /** How long past expiry answers are kept for serve-stale (RFC 8767); 0 or absent: not kept. */
  readonly staleSec?: number;
  readonly clock: Clock;
}

/**
 * What one entry costs beyond its block: 41 bytes of per-slot arrays (slots.ts and the columns
 * below) and 5 to 11 bytes of hash table. Measured on Node 20, 100,000 one-A-record answers
 * (80-byte blocks) in a fresh process, when the columns took 53 bytes: 117 to 151 bytes of RSS
 * per entry, so 64 beyond the block. Kept at 64 (documented for CacheMaxMiB=): now a bound.
 */
export const ENTRY_OVERHEAD_BYTES = 64;

const NONE = -1;
const NO_BYTES = Buffer.alloc(0);

export class DnsCache {
  private readonly index: SlotIndex;
  private readonly slabs = new SlabStore();
  private readonly clock: Clock;
  private readonly staleMs: number;
  private readonly maxBytes: number;
  private used = 0;
  // Per slot, for maxEntries slots (calloc'd: unwritten pages cost no RSS, slots.ts). The block,
  // at offset in slab slabNo, holds the key (keyLen bytes), then the answer's flags, counts and
  // records (storedLen bytes; no ID, QDCOUNT or question: answer.ts, PackedAnswer), then ttlCount
  // 16-bit TTL offsets. storedLen 0 marks a remembered failure: an answer keeps at least 8 bytes.
  private readonly slabNo: Uint32Array;
  private readonly offset: Uint32Array;
  private readonly keyLen: Uint16Array;
  private readonly storedLen: Uint16Array;
  private readonly ttlCount: Uint16Array;
  private readonly rcode: Uint16Array;
  private readonly expiresAtMs: Float64Array;
  /** The lifetime the entry was stored with, in whole seconds (DNS TTLs are), for the prefetch rule. */
  private readonly ttlSec: Uint32Array;
  /** Hits while cached, saturating at 255. */
  private readonly hits: Uint8Array;
  /**
   * Expired, a refresh failed: serve it stale without asking upstream until then (RFC 8767 4).
   * By slot, for the few slots that have one: a column would cost 8 bytes of RSS per entry
   * (every insert writes it) for what only a failing upstream sets.
   */
  private readonly staleHoldUntilMs = new Map<number, number>();
  /** Entries pushed out by a bound (CacheMaxEntries, CacheMaxMiB) before they expired. */
  evictions = 0;

  constructor(opts: CacheOptions) {
    this.clock = opts.clock;
    this.staleMs = (opts.staleSec ?? 0) * 1000;
    this.maxBytes = opts.maxBytes ? opts.maxBytes : Infinity;
    this.index = new SlotIndex(opts.maxEntries, (s, key) => keyEquals(key, this.slabs.slab(this.slabNo[s]!), this.offset[s]!, this.keyLen[s]!));
    const n = opts.maxEntries;
    this.slabNo = new Uint32Array(n);
    this.offset = new Uint32Array(n);
    this.keyLen = new Uint16Array(n);
    this.storedLen = new Uint16Array(n);
    this.ttlCount = new Uint16Array(n);
    this.rcode = new Uint16Array(n);
    this.expiresAtMs = new Float64Array(n);
    this.ttlSec = new Uint32Array(n);
    this.hits = new Uint8Array(n);
  }

  get size(): number {
    return this.index.size;
  }

  /** Bytes accounted for: the entries' blocks plus ENTRY_OVERHEAD_BYTES each. */
  get bytes(): number {
    return this.used;
  }

  /** Bytes of slabs the cache holds, used or free (a size class keeps what it was given). */
  get reservedBytes(): number {
    return this.slabs.reservedBytes;
  }

  /** A live entry. Expired ones are not returned; within ServeStaleSec they stay for stale(). */
  get(key: string): CacheHit | undefined {
    const s = this.index.find(key, keyHash(key));
    if (s === NONE) return undefined;
    const leftMs = this.expiresAtMs[s]! - this.clock.now();
    if (leftMs <= 0) {
      if (this.storedLen[s] === 0 || -leftMs >= this.staleMs) this.remove(s);
      return undefined;
    }
    this.index.touch(s);
    const failure = this.storedLen[s] === 0;
    const hits = this.hits[s]! < 255 ? ++this.hits[s]! : 255;
    return {
      failure,
      remainingSec: Math.ceil(leftMs / 1000),
      prefetch: !failure && hits >= 2 && leftMs <= PREFETCH_SHARE * 1000 * this.ttlSec[s]!,
      bytes: failure ? NO_BYTES : this.slabs.slab(this.slabNo[s]!),
      start: this.offset[s]! + this.keyLen[s]!,
      storedLen: this.storedLen[s]!,
      ttlCount: this.ttlCount[s]!,
      rcode: this.rcode[s]!,
    };
  }

  /** Whole seconds an answer for `key` has left, without touching its recency; null when none is live. */
  remainingSec(key: string): number | null {
    const s = this.index.find(key, keyHash(key));
    if (s === NONE || this.storedLen[s] === 0) return null;
    const leftMs = this.expiresAtMs[s]! - this.clock.now();
    return leftMs > 0 ? Math.ceil(leftMs / 1000) : null;
  }

  /** An expired answer still within the serve-stale window (RFC 8767 section 4), if any. */
  stale(key: string): StaleHit | undefined {
    const s = this.staleSlot(key);
    if (s === NONE) return undefined;
    return {
      held: (this.staleHoldUntilMs.get(s) ?? 0) > this.clock.now(),
      bytes: this.slabs.slab(this.slabNo[s]!),
      start: this.offset[s]! + this.keyLen[s]!,
      storedLen: this.storedLen[s]!,
      ttlCount: this.ttlCount[s]!,
      rcode: this.rcode[s]!,
    };
  }

  /**
   * A refresh of a stale answer failed: keep serving it stale, without asking upstream, for
   * holdSec (RFC 8767 section 4, the "failure recheck timer"). False when there is none.
   */
  holdStale(key: string, holdSec: number): boolean {
    const s = this.staleSlot(key);
    if (s === NONE) return false;
    this.staleHoldUntilMs.set(s, this.clock.now() + Math.max(1, holdSec) * 1000);
    return true;
  }

  /** Stores an answer for its own lifetime; answers marked uncacheable are ignored. */
  storeAnswer(key: string, answer: Answer): void {
    if (!answer.cacheable) return;
    const packed = packedAnswerLength(answer);
    if (packed >= 0) this.insert(key, answer, packed, answer.ttlSec);
  }

  storeFailure(key: string, ttlSec: number): void {
    if (ttlSec > 0) this.insert(key, null, 0, ttlSec);
  }

  /** Empties the cache and gives its slabs back; returns how many entries went. */
  clear(): number {
    const n = this.index.size;
    this.index.clear();
    this.slabs.clear();
    this.staleHoldUntilMs.clear();
    this.used = 0;
    return n; // the columns stay, like the index's (slots.ts, clear)
  }

  /**
   * Removes every entry for one name, all types, DO and CD variants (keys are the lowercase wire
   * name plus three characters: parseQuery). An operator's command: a scan, off the hot path.
   */
  deleteName(nameKey: string): number {
    const doomed: number[] = [];
    this.index.forEach((s) => {
      const key = readKey(this.slabs.slab(this.slabNo[s]!), this.offset[s]!, this.keyLen[s]!);
      if (key.length === nameKey.length + 3 && key.startsWith(nameKey)) doomed.push(s);
    });
    for (const s of doomed) this.remove(s);
    return doomed.length;
  }

  /** An expired answer's slot while within ServeStaleSec, else NONE. */
  private staleSlot(key: string): number {
    if (this.staleMs === 0) return NONE; // ServeStaleSec=0: nothing is kept past expiry, no lookup
    const s = this.index.find(key, keyHash(key));
    if (s === NONE || this.storedLen[s] === 0) return NONE;
    const now = this.clock.now();
    const expires = this.expiresAtMs[s]!;
    return now < expires || now - expires >= this.staleMs ? NONE : s;
  }

  /**
   * Stores `answer` (`packed` bytes packed), or a failure (null), for `key`: the old entry for
   * the key replaced, least recently used ones evicted to stay within the bounds. Nothing is
   * stored when one entry alone would break the byte bound.
   */
  private insert(key: string, answer: Answer | null, packed: number, ttlSec: number): void {
    const hash = keyHash(key);
    const old = this.index.find(key, hash);
    if (old !== NONE) this.remove(old);
    const keyBytes = keyLength(key);
    const blockLen = keyBytes + packed;
    const cost = entryCost(blockLen);
    if (blockLen > MAX_BLOCK_BYTES || cost > this.maxBytes) return;
    while (this.index.size >= this.index.capacity || this.used + cost > this.maxBytes) {
      this.remove(this.index.oldest);
      this.evictions++;
    }
    const s = this.index.insert(hash);
    const h = this.slabs.alloc(blockLen);
    this.slabNo[s] = this.slabs.slabOf(h);
    this.offset[s] = this.slabs.offsetOf(h);
    const bytes = this.slabs.slab(this.slabNo[s]!);
    writeKey(key, bytes, this.offset[s]!);
    if (answer) packAnswer(answer, bytes, this.offset[s]! + keyBytes);
    this.keyLen[s] = keyBytes;
    this.storedLen[s] = answer ? storedLength(answer) : 0;
    this.ttlCount[s] = answer ? answer.ttlOffsets.length : 0;
    this.rcode[s] = answer ? answer.rcode : 0;
    this.expiresAtMs[s] = this.clock.now() + ttlSec * 1000;
    this.ttlSec[s] = ttlSec;
    this.hits[s] = 0;
    this.used += cost;
  }

  private remove(s: number): void {
    const blockLen = this.keyLen[s]! + this.storedLen[s]! + 2 * this.ttlCount[s]!;
    this.slabs.free(this.slabNo[s]! * SLAB_BYTES + this.offset[s]!, blockLen);
    this.used -= entryCost(blockLen);
    if (this.staleHoldUntilMs.size !== 0) this.staleHoldUntilMs.delete(s);
    this.index.remove(s);
  }
}

/** What an entry counts against maxBytes: its block as allocated, and its share of the index. */
function entryCost(blockLen: number): number {
  return classBytes(sizeClass(blockLen)) + ENTRY_OVERHEAD_BYTES;
}
