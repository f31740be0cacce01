// The in-flight table (resolver.ts): the questions waiting on upstream, each with the clients
// waiting for it (Flight, Waiter), found by cache key (FlightTable).
//
// The table is the cache's own index (cache/slots.ts: open addressing over typed arrays,
// backward-shift deletion) with one Flight per slot, for at most MaxInflight questions. A Map
// did the job, but with a hundred entries coming and going at every miss it rebuilt its table
// again and again (smaller when emptied, larger when filled): tables that outlived young
// collections and were promoted into V8's old generation with every burst of misses (issue 13).

import { keyHash } from './cache/key.js';
import { SlotIndex } from './cache/slots.js';
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
  /** Its slot in the FlightTable while it is in there. */
  slot = -1;

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

/** Flights by cache key: at most `capacity` at once (the resolver checks before it adds one). */
export class FlightTable {
  private readonly index: SlotIndex;
  /** By slot; slots are handed out from 0 up, freed ones first, so this grows one at a time. */
  private readonly flights: Array<Flight | null> = [];

  constructor(capacity: number) {
    this.index = new SlotIndex(capacity, (s, key) => this.flights[s]!.q.key === key);
  }

  get size(): number {
    return this.index.size;
  }

  get(key: string): Flight | undefined {
    const s = this.index.find(key, keyHash(key));
    return s < 0 ? undefined : this.flights[s]!;
  }

  /** Adds a flight whose key is not in the table; size must be below capacity. */
  add(flight: Flight): void {
    const s = this.index.insert(keyHash(flight.q.key));
    if (s === this.flights.length) this.flights.push(flight);
    else this.flights[s] = flight;
    flight.slot = s;
  }

  remove(flight: Flight): void {
    this.index.remove(flight.slot);
    this.flights[flight.slot] = null;
    flight.slot = -1;
  }
}
