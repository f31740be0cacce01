// The answer cache. lru-cache bounds the number of entries (and evicts the least recently used);
// expiry is ours, computed from the passed-in clock, because every entry's lifetime comes from
// the DNS answer itself (RFC 1035 section 3.2.1, RFC 2308 section 5) and is served decremented.

import { LRUCache } from 'lru-cache';
import type { Answer } from '../dns/answer.js';
import type { Clock } from '../clock.js';

export type CacheEntry =
  | { readonly kind: 'answer'; readonly answer: Answer; readonly expiresAtMs: number }
  /** A remembered failure: clients get SERVFAIL without a new upstream attempt (RFC 9520). */
  | { readonly kind: 'failure'; readonly expiresAtMs: number };

export interface CacheHit {
  readonly entry: CacheEntry;
  /** Whole seconds left, at least 1 while the entry is alive. */
  readonly remainingSec: number;
}

export interface CacheOptions {
  readonly maxEntries: number;
  readonly clock: Clock;
}

export class DnsCache {
  private readonly lru: LRUCache<string, CacheEntry>;
  private readonly clock: Clock;

  constructor(opts: CacheOptions) {
    this.lru = new LRUCache<string, CacheEntry>({ max: opts.maxEntries });
    this.clock = opts.clock;
  }

  get size(): number {
    return this.lru.size;
  }

  get(key: string): CacheHit | undefined {
    const entry = this.lru.get(key);
    if (!entry) return undefined;
    const leftMs = entry.expiresAtMs - this.clock.now();
    if (leftMs <= 0) {
      this.lru.delete(key);
      return undefined;
    }
    return { entry, remainingSec: Math.ceil(leftMs / 1000) };
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

  clear(): void {
    this.lru.clear();
  }
}
