// The transport-free pipeline: query bytes in, reply bytes out (or null: send nothing).
// Read top to bottom, it is the path of ARCHITECTURE.md "A query's way through":
//   wire checks → cache → in-flight table → upstream pool → cache store → serve to this client.
// A cache hit returns its reply synchronously; a miss returns LATER and its reply goes out
// through the client's ctx.respond once upstream has answered (or, with MaxInflight reached,
// SERVFAIL at once). No promise on either path: a miss is an entry of the in-flight table with
// its waiting clients (Flight, Waiter) and the pool's callbacks (issue 13).
// Nothing here throws: every failure becomes an rcode or a drop.

import type { Logger } from 'pino';
import { ResolverError } from './errors.js';
import { RCODE } from './dns/constants.js';
import { nameToText } from './dns/name.js';
import { copyOf } from './dns/copy.js';
import { rcodeName, typeName } from './dns/mnemonics.js';
import { parseQuery, withBytes, type Query } from './dns/query.js';
import { errorForQuery, errorReply } from './dns/synth.js';
import { replyLimit, serveAnswer, servePacked, type Transport } from './dns/serve.js';
import type { DnsCache } from './cache/cache.js';
import type { Answer, PackedAnswer } from './dns/answer.js';
import type { Clock } from './clock.js';
import { countQtype, countRcode, type Stats } from './stats.js';
import { Flight, FlightTable, Waiter, type FlightOwner, type WaitOutcome } from './inflight.js';
import { levelGate, type LevelGate } from './log.js';

export interface QueryContext {
  readonly transport: Transport;
  /** "address:port" of the client, for logs. */
  readonly client: string;
  /** The client's address alone, for AllowFrom=. */
  readonly address: string;
  /**
   * The reply to a query that handle() answered LATER: called exactly once, never before
   * handle() has returned; null sends nothing.
   */
  respond(reply: Buffer | null): void;
}

/** handle()'s word that the reply will come through ctx.respond (a miss waiting for upstream). */
export const LATER: unique symbol = Symbol('reply later');

export type HandleResult = Buffer | null | typeof LATER;

/**
 * Where one upstream question's outcome goes: exactly one call, never during resolve() itself
 * (upstream/pool.ts). Callbacks, not a promise: a waiting miss holds what its wait is made of,
 * and an object with two methods is a tenth of a promise chain's closures, contexts and
 * reactions (issue 13).
 */
export interface ResolveSink {
  /** The answer, and the label of the server that gave it (for the query log). */
  resolved(answer: Answer, server: string): void;
  failed(e: unknown): void;
}

/** What the pipeline needs from upstream: one answer per question (upstream/pool.ts). */
export interface Upstream {
  resolve(q: Query, sink: ResolveSink): void;
}

export interface ResolverOptions {
  /** Our EDNS size in replies and the cap on clients' UDP sizes (MaxUDPSize). */
  readonly maxUdpSize: number;
  readonly maxInflight: number;
  readonly failureTtlSec: number;
  /**
   * With an expired answer at hand (ServeStaleSec): how long a client waits for its refresh
   * before it gets the stale answer (RFC 8767 section 5, the client response timer). 0 or
   * absent: only once the refresh has failed.
   */
  readonly staleClientTimeoutMs?: number;
  /** Prefetch=: refresh popular answers in their last tenth (cache.ts, CacheHit.prefetch). */
  readonly prefetch?: boolean;
}

/** At most this share of MaxInflight goes to prefetches, so clients' misses always find room. */
export const PREFETCH_INFLIGHT_SHARE = 0.25;

export interface ResolverDeps {
  readonly cache: DnsCache | null;
  readonly upstream: Upstream;
  readonly clock: Clock;
  readonly log: Logger;
  readonly stats: Stats;
}

type CacheOutcome = WaitOutcome | 'hit' | 'failure-cached' | 'overloaded' | 'stale';

export class Resolver implements FlightOwner {
  /** The in-flight table, by cache key, for at most maxInflight questions (inflight.ts). */
  private readonly inflight: FlightTable;
  /** Prefetches in flight (they are in `inflight` too). */
  private prefetching = 0;
  /** Whether the query log line is written (debug). */
  private readonly debugGate: LevelGate;

  constructor(
    private readonly opts: ResolverOptions,
    private readonly deps: ResolverDeps,
  ) {
    this.inflight = new FlightTable(opts.maxInflight);
    this.debugGate = levelGate(deps.log);
  }

  get inflightCount(): number {
    return this.inflight.size;
  }

  handle(msg: Buffer, ctx: QueryContext): HandleResult {
    const { stats, cache } = this.deps;
    this.arrived(ctx);
    const verdict = parseQuery(msg);
    if (verdict.kind === 'drop') {
      stats.dropped++;
      this.deps.log.debug({ client: ctx.client, fault: verdict.fault }, 'query dropped');
      return null;
    }
    if (verdict.kind === 'error') {
      this.countError(verdict.rcode);
      this.deps.log.debug({ client: ctx.client, fault: verdict.fault, rcode: rcodeName(verdict.rcode) }, 'query rejected');
      return errorReply(msg, verdict.rcode, verdict.questionEnd, verdict.edns, this.opts.maxUdpSize);
    }
    const q = verdict.query;
    countQtype(stats, q.qtype);
    const limit = replyLimit(q, ctx.transport, this.opts.maxUdpSize);
    const started = this.deps.clock.now();

    const hit = cache?.get(q.key);
    if (hit) {
      stats.cacheHits++;
      if (hit.failure) return this.fail(q, ctx, started, 'failure-cached', null);
      // Served before anything else can touch the cache: the hit reads the cache's own bytes.
      const reply = servePacked(hit, q, hit.remainingSec, limit, this.opts.maxUdpSize);
      countRcode(stats, hit.rcode);
      stats.hitLatency.observe(this.deps.clock.now() - started);
      this.logQuery(q, ctx, started, 'hit', hit.rcode, null);
      if (hit.prefetch && this.opts.prefetch) this.prefetch(q);
      return reply;
    }
    stats.cacheMisses++;
    // RFC 8767 section 4: while a failed refresh is recent, the stale answer goes out at once.
    const stale = cache?.stale(q.key);
    if (stale?.held) return this.serveStale(stale, q, ctx, limit, started);
    // The query's bytes are the listener's only until this call returns (a batched UDP
    // listener reuses them for the next batch): a miss keeps a copy of its own.
    return this.miss(withBytes(q, copyOf(q.msg)), ctx, limit, started, stale !== undefined);
  }

  private miss(q: Query, ctx: QueryContext, limit: number, started: number, staleAtHand: boolean): Buffer | typeof LATER {
    // One upstream question per key at a time: identical concurrent misses share it.
    let flight = this.inflight.get(q.key);
    const outcome: CacheOutcome = flight ? 'coalesced' : 'miss';
    if (flight) {
      this.deps.stats.coalesced++;
    } else {
      if (this.inflight.size >= this.opts.maxInflight) {
        this.deps.log.warn({ code: 'VR_ERR_OVERLOADED', inflight: this.inflight.size }, 'too many queries in flight');
        return this.fail(q, ctx, started, 'overloaded', null);
      }
      flight = this.ask(q, false);
    }
    const w = new Waiter(q, ctx, limit, started, outcome);
    flight.wait(w);
    const timerMs = staleAtHand ? this.opts.staleClientTimeoutMs ?? 0 : 0;
    if (timerMs > 0) w.cancelTimer = this.deps.clock.after(timerMs, () => this.timerFired(w));
    return LATER;
  }

  /** A new entry of the in-flight table, asked upstream; it leaves the table when it settles. */
  private ask(q: Query, prefetch: boolean): Flight {
    const flight = new Flight(this, q, prefetch);
    this.inflight.add(flight);
    this.deps.upstream.resolve(q, flight);
    return flight;
  }

  /**
   * The upstream answer (Flight's callback): stored, then served to each waiting client. Leaves the in-flight table
   * first, so a client that comes after this finds the answer in the cache.
   */
  fetched(flight: Flight, answer: Answer, server: string): void {
    const key = flight.q.key;
    this.inflight.remove(flight);
    if (flight.prefetch) this.prefetching--;
    try {
      this.deps.cache?.storeAnswer(key, answer);
    } catch (err) {
      // A bug, never the reply's bytes (checked before this): logged, and the clients are served.
      this.deps.log.error({ err }, 'answer could not be cached');
    }
    for (let w = flight.first; w !== null; w = w.next) {
      if (this.settles(w)) this.respond(w, this.served(answer, server, w));
    }
  }

  /**
   * No answer from upstream (Flight's callback). A client's question remembers the failure (RFC 9520), or, with a
   * stale answer at hand, holds that for serving (RFC 8767); either way upstream is spared for
   * failureTtlSec. A failed prefetch leaves the cached answer to expire as it would have.
   */
  fetchFailed(flight: Flight, e: unknown): void {
    const key = flight.q.key;
    this.inflight.remove(flight);
    const cache = this.deps.cache;
    if (flight.prefetch) {
      this.prefetching--;
      const qname = nameToText(flight.q.msg.subarray(12, flight.q.qnameEnd));
      this.deps.log.debug({ qname, err: (e as Error).message }, 'prefetch failed; the cached answer expires as it would');
    } else if (cache && !cache.holdStale(key, this.opts.failureTtlSec)) {
      cache.storeFailure(key, this.opts.failureTtlSec);
    }
    for (let w = flight.first; w !== null; w = w.next) {
      if (this.settles(w)) this.respond(w, this.unanswered(e, w));
    }
  }

  /** True once for each waiting client: the first of the question's outcome and its timer. */
  private settles(w: Waiter): boolean {
    if (w.answered) return false;
    w.answered = true;
    if (w.cancelTimer !== null) w.cancelTimer();
    return true;
  }

  /** A late reply out; one client's listener failing does not keep the others from theirs. */
  private respond(w: Waiter, reply: Buffer | null): void {
    try {
      w.ctx.respond(reply);
    } catch (err) {
      this.deps.log.error({ err, client: w.ctx.client }, 'reply could not be handed to the listener');
    }
  }

  /**
   * RFC 8767 section 5: the client response timer fired first, so this client gets the stale
   * answer now; the refresh goes on and updates the cache (or, failing, holds the stale answer:
   * fetchFailed()). Evicted meanwhile, nothing stale is left to give: the client waits for the
   * refresh.
   */
  private timerFired(w: Waiter): void {
    w.cancelTimer = null;
    const stale = this.deps.cache?.stale(w.q.key);
    if (stale && this.settles(w)) this.respond(w, this.serveStale(stale, w.q, w.ctx, w.limit, w.started));
  }

  /** The upstream's answer to this client. */
  private served(answer: Answer, server: string, w: Waiter): Buffer {
    const { q, ctx, started } = w;
    try {
      countRcode(this.deps.stats, answer.rcode);
      this.deps.stats.missLatency.observe(this.deps.clock.now() - started);
      this.logQuery(q, ctx, started, w.outcome, answer.rcode, server);
      return serveAnswer(answer, q, answer.ttlSec, w.limit, this.opts.maxUdpSize);
    } catch (e) {
      return this.unanswered(e, w);
    }
  }

  /** No answer from upstream: the stale one if there is one (RFC 8767), else SERVFAIL. */
  private unanswered(e: unknown, w: Waiter): Buffer {
    const stale = this.deps.cache?.stale(w.q.key);
    if (stale) return this.serveStale(stale, w.q, w.ctx, w.limit, w.started);
    return this.fail(w.q, w.ctx, w.started, w.outcome, e);
  }

  /** An expired answer, because upstream could not refresh it in time (RFC 8767): TTL 30, EDE 3. */
  private serveStale(answer: PackedAnswer, q: Query, ctx: QueryContext, limit: number, started: number): Buffer {
    this.deps.stats.staleServed++;
    countRcode(this.deps.stats, answer.rcode);
    this.deps.stats.missLatency.observe(this.deps.clock.now() - started);
    this.logQuery(q, ctx, started, 'stale', answer.rcode, null);
    return servePacked(answer, q, 0, limit, this.opts.maxUdpSize, true);
  }

  /**
   * Refreshes a popular answer before it expires (Unbound's prefetch): in the background, once
   * per key (it joins the in-flight table, so misses for the key share it), and only while
   * prefetches hold less than PREFETCH_INFLIGHT_SHARE of MaxInflight and the table has room
   * (a full table is an overload: clients' misses come first). A failure leaves the
   * cached answer to expire as it would have: no failure is remembered over it.
   */
  private prefetch(q: Query): void {
    const { maxInflight } = this.opts;
    if (this.inflight.size >= maxInflight || this.prefetching >= maxInflight * PREFETCH_INFLIGHT_SHARE) return;
    if (this.inflight.get(q.key) !== undefined) return;
    this.deps.stats.prefetches++;
    this.prefetching++;
    // A copy: the listener reuses the query's bytes once handle() returns.
    this.ask(withBytes(q, copyOf(q.msg)), true);
  }

  private fail(q: Query, ctx: QueryContext, started: number, outcome: CacheOutcome, err: unknown): Buffer {
    this.deps.stats.servfail++;
    countRcode(this.deps.stats, RCODE.SERVFAIL);
    (outcome === 'failure-cached' ? this.deps.stats.hitLatency : this.deps.stats.missLatency).observe(this.deps.clock.now() - started);
    const code = err instanceof ResolverError ? err.code : undefined;
    this.logQuery(q, ctx, started, outcome, RCODE.SERVFAIL, null, code);
    return errorForQuery(q, RCODE.SERVFAIL, this.opts.maxUdpSize);
  }

  /**
   * A client outside AllowFrom= (app.ts decided): REFUSED with the question echoed when it can
   * be read (RFC 1035 4.1.1), or nothing (DenyAction=drop, and messages we would drop anyway).
   * Counted apart, and never looked up: the cache does not answer strangers either.
   */
  deny(msg: Buffer, ctx: QueryContext, action: 'refuse' | 'drop'): Buffer | null {
    const stats = this.deps.stats;
    this.arrived(ctx);
    stats.denied++;
    if (action === 'drop') return null;
    const verdict = parseQuery(msg);
    if (verdict.kind === 'drop') return null;
    this.deps.log.debug({ client: ctx.client }, 'query refused: client not in AllowFrom=');
    countRcode(stats, RCODE.REFUSED);
    if (verdict.kind === 'error') return errorReply(msg, RCODE.REFUSED, verdict.questionEnd, verdict.edns, this.opts.maxUdpSize);
    return errorForQuery(verdict.query, RCODE.REFUSED, this.opts.maxUdpSize);
  }

  /** Every query that reaches us, denied ones included, by transport. */
  private arrived(ctx: QueryContext): void {
    const stats = this.deps.stats;
    stats.queries++;
    if (ctx.transport === 'udp') stats.udpQueries++;
    else stats.tcpQueries++;
  }

  private countError(rcode: number): void {
    const s = this.deps.stats;
    countRcode(s, rcode);
    if (rcode === RCODE.FORMERR || rcode === RCODE.BADVERS) s.formerr++;
    else if (rcode === RCODE.NOTIMP) s.notimp++;
    else if (rcode === RCODE.REFUSED) s.refused++;
  }

  /** One line per query at debug (ARCHITECTURE.md, a query's way through, step 7), built only then. */
  private logQuery(
    q: Query,
    ctx: QueryContext,
    started: number,
    cache: CacheOutcome,
    rcode: number,
    upstream: string | null,
    code?: string,
  ): void {
    if (!this.debugGate.debug) return;
    const log = this.deps.log;
    log.debug(
      {
        client: ctx.client,
        transport: ctx.transport,
        qname: nameToText(q.msg.subarray(12, q.qnameEnd)),
        qtype: typeName(q.qtype),
        rcode: rcodeName(rcode),
        cache,
        upstream,
        ms: Math.round((this.deps.clock.now() - started) * 100) / 100,
        ...(code ? { code } : {}),
      },
      'query',
    );
  }
}
