// The in-flight table (resolver.ts): the questions waiting on upstream, each with the clients
// waiting for it (Flight, Waiter), found by cache key (KeyTable).
//
// KeyTable: open addressing with linear probing and backward-shift deletion, as the
// cache's index (cache/slots.ts), over arrays that grow with the most entries held at once and
// never shrink. A Map did the job, but with a hundred entries coming and going at every miss it
// rebuilt its table again and again (smaller when emptied, larger when filled): tables that
// outlived young collections and were promoted into V8's old generation with every burst of
// misses (issue 13).

import { keyHash } from './cache/key.js';
import type { Answer } from './dns/answer.js';
import type { Query } from './dns/query.js';
import type { QueryContext, ResolveSink } from './resolver.js';

/** How a waiting client's question went upstream: it asked, or it joined one in flight. */
export type WaitOutcome = 'miss' | 'coalesced';

/** One client waiting for an upstream question: what its reply is made from. */
export class Waiter {
  /** The next client waiting for the same question. */
  next: Waiter | null = null;
  /** Answered already: by the client response timer (RFC 8767 section 5), before the question settled. */
  answered = false;
  /** Cancels the client response timer, if one runs. */
  cancelTimer: (() => void) | null = null;

  constructor(
    readonly q: Query,
    readonly ctx: QueryContext,
    readonly limit: number,
    readonly started: number,
    readonly outcome: WaitOutcome,
  ) {}
}

/** Where a question's outcome goes: the resolver, which stores it and serves the waiting clients. */
export interface FlightOwner {
  fetched(flight: Flight, answer: Answer, server: string): void;
  fetchFailed(flight: Flight, e: unknown): void;
}

/**
 * One upstream question in flight (an entry of the in-flight table) and the clients waiting
 * for it, in arrival order: the first is the one that asked, the rest joined it (coalesced).
 * A prefetch has no client of its own; clients may join it all the same.
 */
export class Flight implements ResolveSink {
  first: Waiter | null = null;
  private last: Waiter | null = null;

  constructor(
    private readonly owner: FlightOwner,
    readonly q: Query,
    readonly prefetch: boolean,
  ) {}

  wait(w: Waiter): void {
    if (this.last === null) this.first = w;
    else this.last.next = w;
    this.last = w;
  }

  resolved(answer: Answer, server: string): void {
    this.owner.fetched(this, answer, server);
  }

  failed(e: unknown): void {
    this.owner.fetchFailed(this, e);
  }
}

/** At most half full: an unsuccessful lookup then reads about 2.5 buckets (Knuth 6.4). */
const MAX_LOAD = 0.5;
const MIN_BUCKETS = 64;

export class KeyTable<T> {
  private keys: Array<string | null> = [];
  private values: Array<T | null> = [];
  private hashes = new Uint32Array(0);
  private mask = 0;
  private count = 0;

  constructor() {
    this.allocate(MIN_BUCKETS);
  }

  get size(): number {
    return this.count;
  }

  get(key: string): T | undefined {
    const i = this.find(key, keyHash(key));
    return i < 0 ? undefined : this.values[i]!;
  }

  has(key: string): boolean {
    return this.find(key, keyHash(key)) >= 0;
  }

  /** Adds or replaces the value for `key`. */
  set(key: string, value: T): void {
    const hash = keyHash(key);
    const at = this.find(key, hash);
    if (at >= 0) {
      this.values[at] = value;
      return;
    }
    if ((this.count + 1) > this.keys.length * MAX_LOAD) this.grow();
    this.place(key, value, hash);
    this.count++;
  }

  delete(key: string): boolean {
    let i = this.find(key, keyHash(key));
    if (i < 0) return false;
    // Shift later entries of the run back over the gap (Knuth 6.4, algorithm R): no tombstones.
    const { keys, values, hashes, mask } = this;
    for (let j = (i + 1) & mask; keys[j] !== null; j = (j + 1) & mask) {
      const home = hashes[j]! & mask;
      // Move j back to i unless its home lies cyclically in (i, j].
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        keys[i] = keys[j]!;
        values[i] = values[j]!;
        hashes[i] = hashes[j]!;
        i = j;
      }
    }
    keys[i] = null;
    values[i] = null;
    this.count--;
    return true;
  }

  private find(key: string, hash: number): number {
    const { keys, hashes, mask } = this;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const k = keys[i];
      if (k === null) return -1;
      if (hashes[i] === hash && k === key) return i;
    }
  }

  private place(key: string, value: T, hash: number): void {
    let i = hash & this.mask;
    while (this.keys[i] !== null) i = (i + 1) & this.mask;
    this.keys[i] = key;
    this.values[i] = value;
    this.hashes[i] = hash;
  }

  private grow(): void {
    const { keys, values, hashes } = this;
    this.allocate(keys.length * 2);
    for (let i = 0; i < keys.length; i++) if (keys[i] !== null) this.place(keys[i]!, values[i]!, hashes[i]!);
  }

  private allocate(buckets: number): void {
    this.keys = new Array<string | null>(buckets).fill(null);
    this.values = new Array<T | null>(buckets).fill(null);
    this.hashes = new Uint32Array(buckets);
    this.mask = buckets - 1;
  }
}
