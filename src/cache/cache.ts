// The answer cache. lru-cache bounds the number of entries (and evicts the least recently used);
// expiry is ours, computed from the passed-in clock, because every entry's lifetime comes from
// the DNS answer itself (RFC 1035 section 3.2.1, RFC 2308 section 5) and is served decremented.

import { LRUCache } from 'lru-cache';
import type { Answer } from '../dns/answer.js';
import type { Clock } from '../clock.js';

export type CacheEntry =
  | {
      readonly kind: 'answer';
      readonly answer: Answer;
      readonly expiresAtMs: number;
      /** Expired, a refresh failed: serve it stale without asking upstream until then (RFC 8767 4). */
      staleHoldUntilMs?: number;
    }
  /** A remembered failure: clients get SERVFAIL without a new upstream attempt (RFC 9520). */
  | { readonly kind: 'failure'; readonly expiresAtMs: number };

export interface CacheHit {
  readonly entry: CacheEntry;
  /** Whole seconds left, at least 1 while the entry is alive; 0 when stale. */
  readonly remainingSec: number;
}

/** An expired answer still within ServeStaleSec: used only when a refresh fails (RFC 8767). */
export interface StaleHit {
  readonly answer: Answer;
  /** True while an earlier refresh failure says: do not ask upstream again yet. */
  readonly held: boolean;
}

export interface CacheOptions {
  readonly maxEntries: number;
  /** Bound on the bytes held: stored wire answers plus a per-entry overhead estimate. */
  readonly maxBytes?: number;
  /** How long past expiry answers are kept for serve-stale (RFC 8767); 0 or absent: not kept. */
  readonly staleSec?: number;
  readonly clock: Clock;
}

/**
 * What one entry costs beyond its wire bytes: the entry and answer objects, the TTL offsets,
 * lru-cache's slots and the Buffer's backing store. Measured on Node 20 with 100,000 one-A-record
 * answers (55 wire bytes, 20-character keys): 541 bytes of heap plus 168 bytes of Buffer storage
 * per entry, i.e. about 600 bytes beyond the key and the wire bytes counted below.
 */
const ENTRY_OVERHEAD_BYTES = 600;

function entrySize(entry: CacheEntry, key: string): number {
  const wire = entry.kind === 'answer' ? entry.answer.wire.length + 4 * entry.answer.ttlOffsets.length : 0;
  return ENTRY_OVERHEAD_BYTES + 2 * key.length + wire;
}

export class DnsCache {
  private readonly lru: LRUCache<string, CacheEntry>;
  private readonly clock: Clock;
  private readonly staleMs: number;
  /** Entries pushed out by a bound (CacheMaxEntries, CacheMaxMiB) before they expired. */
  evictions = 0;

  constructor(opts: CacheOptions) {
    this.lru = new LRUCache<string, CacheEntry>({
      max: opts.maxEntries,
      ...(opts.maxBytes ? { maxSize: opts.maxBytes, sizeCalculation: entrySize } : {}),
      // Called only when an entry leaves; 'evict' is the bound at work (not expiry or flush).
      dispose: (_v, _k, reason) => {
        if (reason === 'evict') this.evictions++;
      },
    });
    this.clock = opts.clock;
    this.staleMs = (opts.staleSec ?? 0) * 1000;
  }

  get size(): number {
    return this.lru.size;
  }

  /** Bytes accounted for (0 when no byte bound is set). */
  get bytes(): number {
    return this.lru.calculatedSize ?? 0;
  }

  /** A live entry. Expired ones are not returned; within ServeStaleSec they stay for stale(). */
  get(key: string): CacheHit | undefined {
    const entry = this.lru.get(key);
    if (!entry) return undefined;
    const leftMs = entry.expiresAtMs - this.clock.now();
    if (leftMs > 0) return { entry, remainingSec: Math.ceil(leftMs / 1000) };
    if (entry.kind === 'failure' || -leftMs >= this.staleMs) this.lru.delete(key);
    return undefined;
  }

  /** Whole seconds an answer for `key` has left, without touching its recency; null when none is live. */
  remainingSec(key: string): number | null {
    const entry = this.lru.peek(key);
    if (!entry || entry.kind !== 'answer') return null;
    const leftMs = entry.expiresAtMs - this.clock.now();
    return leftMs > 0 ? Math.ceil(leftMs / 1000) : null;
  }

  /** An expired answer still within the serve-stale window (RFC 8767 section 4), if any. */
  stale(key: string): StaleHit | undefined {
    const entry = this.lru.peek(key);
    if (!entry || entry.kind !== 'answer') return undefined;
    const now = this.clock.now();
    if (now < entry.expiresAtMs || now - entry.expiresAtMs >= this.staleMs) return undefined;
    return { answer: entry.answer, held: (entry.staleHoldUntilMs ?? 0) > now };
  }

  /**
   * A refresh of a stale answer failed: keep serving it stale, without asking upstream, for
   * holdSec (RFC 8767 section 4, the "failure recheck timer"). False when there is none.
   */
  holdStale(key: string, holdSec: number): boolean {
    const entry = this.lru.peek(key);
    if (!entry || entry.kind !== 'answer' || this.stale(key) === undefined) return false;
    entry.staleHoldUntilMs = this.clock.now() + Math.max(1, holdSec) * 1000;
    return true;
  }

  /** Stores an answer for its own lifetime; answers marked uncacheable are ignored. */
  storeAnswer(key: string, answer: Answer): void {
    if (!answer.cacheable) return;
    this.lru.set(key, { kind: 'answer', answer, expiresAtMs: this.clock.now() + answer.ttlSec * 1000 });
  }

  storeFailure(key: string, ttlSec: number): void {
    if (ttlSec <= 0) return;
    this.lru.set(key, { kind: 'failure', expiresAtMs: this.clock.now() + ttlSec * 1000 });
  }

  /** Empties the cache; returns how many entries went. */
  clear(): number {
    const n = this.lru.size;
    this.lru.clear();
    return n;
  }

  /**
   * Removes every entry for one name, all types, DO and CD variants (keys are the lowercase wire
   * name plus three characters: parseQuery). An operator's command: a scan, off the hot path.
   */
  deleteName(nameKey: string): number {
    const doomed: string[] = [];
    for (const key of this.lru.keys()) if (key.length === nameKey.length + 3 && key.startsWith(nameKey)) doomed.push(key);
    for (const key of doomed) this.lru.delete(key);
    return doomed.length;
  }
}
